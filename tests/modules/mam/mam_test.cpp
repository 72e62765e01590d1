// Message Archive Management (XEP-0313) end to end with real clients: both
// sides archived with a XEP-0359 stanza-id, paging with exact completeness,
// the form filters (XEP-0313 #extended, XEP-0431 full text), preferences,
// hints (XEP-0334), privacy, metadata, account deletion, restart, retention
// and offline messages archived exactly once.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "storage/store.hpp"
#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

constexpr const char* kMam = "urn:xmpp:mam:2";
constexpr const char* kRsm = "http://jabber.org/protocol/rsm";
constexpr const char* kSid = "urn:xmpp:sid:0";

std::string chat(const std::string& to, const std::string& body, const std::string& extra = "") {
  return "<message to='" + to + "' type='chat' id='" + body + "'><body>" + body + "</body>" +
         extra + "</message>";
}

std::string field(const std::string& var, const std::string& value) {
  return "<field var='" + var + "'><value>" + value + "</value></field>";
}

Predicate is_chat_with_body(const std::string& body) {
  return [body](const xml::Element& el) {
    return el.name() == "message" && el.child_text("body") == body;
  };
}

// One query: the result messages (in order of arrival) and the final IQ.
struct QueryResult {
  std::vector<xml::Element> results;  // the <result/> elements
  std::vector<std::string> bodies;    // of the forwarded messages
  std::vector<std::string> ids;       // archive ids
  std::optional<xml::Element> iq;

  bool ok() const { return iq && iq->attr_or("type") == "result"; }
  const xml::Element* fin() const { return iq ? iq->child("fin", kMam) : nullptr; }
  bool complete() const { return fin() && fin()->attr_or("complete") == "true"; }
  std::string rsm(const std::string& name) const {
    const xml::Element* set = fin() ? fin()->child("set", kRsm) : nullptr;
    return set ? set->child_text(name, kRsm) : std::string();
  }
  std::string first_index() const {
    const xml::Element* set = fin() ? fin()->child("set", kRsm) : nullptr;
    const xml::Element* first = set ? set->child("first", kRsm) : nullptr;
    return first ? first->attr_or("index") : std::string();
  }
};

QueryResult mam_query(XmppClient& c, const std::string& fields = "", const std::string& rsm = "",
                      const std::string& to = "", const std::string& extra = "") {
  const std::string id = c.next_id();
  const std::string queryid = "q-" + id;
  std::string xml = "<iq type='set' id='" + id + "'" + (to.empty() ? "" : " to='" + to + "'") +
                    "><query xmlns='urn:xmpp:mam:2' queryid='" + queryid + "'>";
  if (!fields.empty())
    xml += "<x xmlns='jabber:x:data' type='submit'>" + field("FORM_TYPE", "urn:xmpp:mam:2") +
           fields + "</x>";
  if (!rsm.empty()) xml += "<set xmlns='http://jabber.org/protocol/rsm'>" + rsm + "</set>";
  xml += extra + "</query></iq>";
  QueryResult out;
  out.iq = c.iq(xml);
  while (auto m = c.expect(
             [&](const xml::Element& el) {
               const xml::Element* r = el.child("result", kMam);
               return el.name() == "message" && r && r->attr_or("queryid") == queryid;
             },
             std::chrono::milliseconds(0))) {
    const xml::Element* r = m->child("result", kMam);
    out.ids.push_back(r->attr_or("id"));
    const xml::Element* fwd = r->child("forwarded", "urn:xmpp:forward:0");
    const xml::Element* inner = fwd ? fwd->child("message", "jabber:client") : nullptr;
    out.bodies.push_back(inner ? inner->child_text("body") : "<none>");
    out.results.push_back(*r);
  }
  return out;
}

using Bodies = std::vector<std::string>;

class Mam : public ::testing::Test {
 protected:
  explicit Mam(TestServerOptions options = {}) : server_(std::move(options)) {}
  void SetUp() override {
    for (const char* u : {"alice", "bob", "carol"}) server_.create_user(u, "pw");
    server_.start();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  std::unique_ptr<XmppClient> login(const std::string& user, const std::string& resource = "r") {
    auto c = std::make_unique<XmppClient>(server_, user + "@localhost", "pw",
                                          XmppClient::Options{.resource = resource});
    EXPECT_TRUE(c->connect()) << c->error();
    c->available();
    return c;
  }
  // Alice sends `bodies` to Bob, who is online and receives them all.
  void exchange(XmppClient& alice, XmppClient& bob, const Bodies& bodies) {
    for (const auto& b : bodies) alice.send(chat("bob@localhost", b));
    for (const auto& b : bodies) ASSERT_TRUE(bob.expect(is_chat_with_body(b))) << b;
  }
  // Polls until the archive query returns `n` results (writes are asynchronous
  // for offline recipients).
  QueryResult wait_for(XmppClient& c, size_t n, const std::string& fields = "") {
    QueryResult r;
    for (int i = 0; i < 50; ++i) {
      r = mam_query(c, fields);
      if (r.ids.size() >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return r;
  }
  TestServer server_;
};

TEST_F(Mam, BothSidesArchivedWithStanzaId) {
  auto alice = login("alice", "a");
  auto alice2 = login("alice", "a2");
  auto bob = login("bob", "b");
  alice->send(chat("bob@localhost", "hello bob"));
  auto got = bob->expect(is_chat_with_body("hello bob"));
  ASSERT_TRUE(got);
  auto sids = got->children("stanza-id", kSid);
  ASSERT_EQ(sids.size(), 1u) << to_xml(*got);
  EXPECT_EQ(sids[0]->attr_or("by"), "bob@localhost");
  const std::string bob_id = sids[0]->attr_or("id");
  EXPECT_FALSE(bob_id.empty());

  auto r = mam_query(*bob);
  ASSERT_TRUE(r.ok()) << (r.iq ? to_xml(*r.iq) : "timeout");
  ASSERT_EQ(r.ids, std::vector<std::string>{bob_id});
  EXPECT_EQ(r.bodies, Bodies{"hello bob"});
  const xml::Element* fwd = r.results[0].child("forwarded", "urn:xmpp:forward:0");
  ASSERT_TRUE(fwd);
  ASSERT_TRUE(fwd->child("delay", "urn:xmpp:delay"));
  EXPECT_FALSE(fwd->child("delay", "urn:xmpp:delay")->attr_or("stamp").empty());
  EXPECT_EQ(fwd->child("message", "jabber:client")->attr_or("from"), "alice@localhost/a");
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.rsm("first"), bob_id);
  EXPECT_EQ(r.rsm("last"), bob_id);
  EXPECT_EQ(r.rsm("count"), "1");
  EXPECT_EQ(r.first_index(), "0");

  // The sender's own archive has it too, under its own id.
  auto a = mam_query(*alice);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a.bodies, Bodies{"hello bob"});
  EXPECT_NE(a.ids[0], bob_id);
  EXPECT_EQ(a.results[0]
                .child("forwarded", "urn:xmpp:forward:0")
                ->child("message", "jabber:client")
                ->attr_or("to"),
            "bob@localhost");
  // Results go to the querying resource only.
  EXPECT_TRUE(alice2->nothing(
      [](const xml::Element& el) { return el.child("result", kMam) != nullptr; }, 300ms));
}

TEST_F(Mam, ForgedStanzaIdIsReplacedOthersKept) {
  auto alice = login("alice");
  auto bob = login("bob");
  alice->send(chat("bob@localhost", "forged",
                   "<stanza-id xmlns='urn:xmpp:sid:0' by='bob@localhost' id='fake'/>"
                   "<stanza-id xmlns='urn:xmpp:sid:0' by='muc.example.org' id='other'/>"));
  auto got = bob->expect(is_chat_with_body("forged"));
  ASSERT_TRUE(got);
  std::map<std::string, std::string> by;
  for (const xml::Element* s : got->children("stanza-id", kSid))
    by[s->attr_or("by")] = s->attr_or("id");
  ASSERT_EQ(by.size(), 2u) << to_xml(*got);
  EXPECT_NE(by["bob@localhost"], "fake");
  EXPECT_EQ(by["muc.example.org"], "other");
  EXPECT_EQ(mam_query(*bob).ids, std::vector<std::string>{by["bob@localhost"]});
  // Chat states alone are not archived, but a forged id on them is still removed.
  alice->send(
      "<message to='bob@localhost' type='chat'><composing "
      "xmlns='http://jabber.org/protocol/chatstates'/><stanza-id xmlns='urn:xmpp:sid:0' "
      "by='bob@localhost' id='fake2'/></message>");
  auto state = bob->expect([](const xml::Element& el) {
    return el.child("composing", "http://jabber.org/protocol/chatstates") != nullptr;
  });
  ASSERT_TRUE(state);
  EXPECT_EQ(state->child("stanza-id", kSid), nullptr);
  EXPECT_EQ(mam_query(*bob).ids.size(), 1u);
}

TEST_F(Mam, PagingForwardAndBackwardIsExact) {
  auto alice = login("alice");
  auto bob = login("bob");
  exchange(*alice, *bob, {"m1", "m2", "m3", "m4", "m5"});

  auto p1 = mam_query(*bob, "", "<max>2</max>");
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(p1.bodies, (Bodies{"m1", "m2"}));
  EXPECT_FALSE(p1.complete());
  EXPECT_EQ(p1.rsm("count"), "5");
  EXPECT_EQ(p1.first_index(), "0");
  EXPECT_EQ(p1.rsm("first"), p1.ids[0]);
  EXPECT_EQ(p1.rsm("last"), p1.ids[1]);
  auto p2 = mam_query(*bob, "", "<max>2</max><after>" + p1.rsm("last") + "</after>");
  EXPECT_EQ(p2.bodies, (Bodies{"m3", "m4"}));
  EXPECT_FALSE(p2.complete());
  EXPECT_EQ(p2.first_index(), "2");
  auto p3 = mam_query(*bob, "", "<max>2</max><after>" + p2.rsm("last") + "</after>");
  EXPECT_EQ(p3.bodies, (Bodies{"m5"}));
  EXPECT_TRUE(p3.complete());
  EXPECT_EQ(p3.first_index(), "4");

  // Backwards from the end: the newest page first, each page oldest first.
  auto b1 = mam_query(*bob, "", "<max>2</max><before/>");
  EXPECT_EQ(b1.bodies, (Bodies{"m4", "m5"}));
  EXPECT_FALSE(b1.complete());
  EXPECT_EQ(b1.first_index(), "3");
  auto b2 = mam_query(*bob, "", "<max>2</max><before>" + b1.rsm("first") + "</before>");
  EXPECT_EQ(b2.bodies, (Bodies{"m2", "m3"}));
  EXPECT_FALSE(b2.complete());
  auto b3 = mam_query(*bob, "", "<max>2</max><before>" + b2.rsm("first") + "</before>");
  EXPECT_EQ(b3.bodies, (Bodies{"m1"}));
  EXPECT_TRUE(b3.complete());

  // A flipped page: same page, newest first.
  auto f = mam_query(*bob, "", "<max>2</max><before/>", "", "<flip-page/>");
  EXPECT_EQ(f.bodies, (Bodies{"m5", "m4"}));
  // max 0: the count only.
  auto c = mam_query(*bob, "", "<max>0</max>");
  EXPECT_TRUE(c.ok());
  EXPECT_TRUE(c.ids.empty());
  EXPECT_EQ(c.rsm("count"), "5");
}

TEST_F(Mam, FormFiltersAndUnknownIds) {
  auto alice = login("alice");
  auto carol = login("carol");
  auto bob = login("bob");
  exchange(*alice, *bob, {"a1", "a2", "a3"});
  carol->send(chat("bob@localhost", "c1"));
  ASSERT_TRUE(bob->expect(is_chat_with_body("c1")));
  auto all = mam_query(*bob);
  ASSERT_EQ(all.bodies, (Bodies{"a1", "a2", "a3", "c1"}));

  EXPECT_EQ(mam_query(*bob, field("with", "carol@localhost")).bodies, Bodies{"c1"});
  EXPECT_EQ(mam_query(*bob, field("with", "alice@localhost/r")).bodies, (Bodies{"a1", "a2", "a3"}));
  EXPECT_TRUE(mam_query(*bob, field("with", "alice@localhost/other")).bodies.empty());
  EXPECT_TRUE(mam_query(*bob, field("start", "2999-01-01T00:00:00Z")).ids.empty());
  EXPECT_TRUE(mam_query(*bob, field("end", "2000-01-01T00:00:00Z")).ids.empty());
  EXPECT_EQ(mam_query(*bob, field("start", "2000-01-01T00:00:00.000+02:00")).ids.size(), 4u);
  EXPECT_EQ(mam_query(*bob, field("after-id", all.ids[0]) + field("before-id", all.ids[3])).bodies,
            (Bodies{"a2", "a3"}));
  EXPECT_EQ(mam_query(*bob, "<field var='ids'><value>" + all.ids[3] + "</value><value>" +
                                all.ids[1] + "</value></field>")
                .bodies,
            (Bodies{"a2", "c1"}));

  // Unknown ids, including ids of another account's archive: item-not-found.
  auto alice_ids = mam_query(*alice).ids;
  ASSERT_FALSE(alice_ids.empty());
  for (const auto& q :
       {mam_query(*bob, field("after-id", "nope")), mam_query(*bob, field("before-id", "nope")),
        mam_query(*bob, field("ids", alice_ids[0])), mam_query(*bob, "", "<after>nope</after>"),
        mam_query(*bob, "", "<before>nope</before>")}) {
    ASSERT_TRUE(q.iq);
    EXPECT_EQ(q.iq->attr_or("type"), "error");
    EXPECT_EQ(error_condition(*q.iq), "item-not-found");
    EXPECT_TRUE(q.ids.empty());
  }
  // An unknown field, a bad date, a bad JID.
  auto unknown = mam_query(*bob, field("urn:example:nope", "x"));
  EXPECT_EQ(error_condition(*unknown.iq), "feature-not-implemented");
  EXPECT_EQ(error_condition(*mam_query(*bob, field("start", "yesterday")).iq), "bad-request");
  EXPECT_EQ(error_condition(*mam_query(*bob, field("with", "@@")).iq), "bad-request");
}

TEST_F(Mam, FulltextMatchesPlaintextNeverEncryptedBodies) {
  auto alice = login("alice");
  auto bob = login("bob");
  exchange(*alice, *bob, {"see you at the lighthouse", "lighthouse keeper", "nothing here"});
  alice->send(
      "<message to='bob@localhost' type='chat' id='omemo'><body>lighthouse (OMEMO fallback)</body>"
      "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'/><payload>AAAA</payload>"
      "</encrypted></message>");
  alice->send(
      "<message to='bob@localhost' type='chat' id='omemo2'><body>lighthouse again</body>"
      "<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'/><payload>AAAA</payload>"
      "</encrypted></message>");
  ASSERT_TRUE(bob->expect(is_chat_with_body("lighthouse again")));
  // Both encrypted messages are archived...
  EXPECT_EQ(mam_query(*bob).ids.size(), 5u);
  // ...but never found by a search.
  const std::string ft = "{urn:xmpp:fulltext:0}fulltext";
  EXPECT_EQ(mam_query(*bob, field(ft, "lighthouse")).bodies,
            (Bodies{"see you at the lighthouse", "lighthouse keeper"}));
  EXPECT_EQ(mam_query(*bob, field(ft, "Keeper LIGHTHOUSE")).bodies, Bodies{"lighthouse keeper"});
  EXPECT_TRUE(mam_query(*bob, field(ft, "fallback")).ids.empty());
  EXPECT_EQ(mam_query(*alice, field(ft, "lighthouse")).ids.size(), 2u);  // sender's side too
}

TEST_F(Mam, PreferencesNeverAlwaysRoster) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  auto prefs = bob->iq("<iq type='get' id='p1'><prefs xmlns='urn:xmpp:mam:2'/></iq>");
  ASSERT_TRUE(prefs);
  EXPECT_EQ(prefs->child("prefs", kMam)->attr_or("default"), "always");

  // never: nothing archived, and no stanza-id on delivery.
  ASSERT_EQ(bob->iq("<iq type='set' id='p2'><prefs xmlns='urn:xmpp:mam:2' default='never'/></iq>")
                ->attr_or("type"),
            "result");
  alice->send(chat("bob@localhost", "unarchived"));
  auto got = bob->expect(is_chat_with_body("unarchived"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->child("stanza-id", kSid), nullptr);
  EXPECT_TRUE(mam_query(*bob).ids.empty());
  EXPECT_EQ(mam_query(*alice).bodies, Bodies{"unarchived"});  // alice's prefs are her own

  // default never, but always for alice.
  auto set = bob->iq(
      "<iq type='set' id='p3'><prefs xmlns='urn:xmpp:mam:2' default='never'><always>"
      "<jid>alice@localhost</jid></always><never/></prefs></iq>");
  ASSERT_EQ(set->attr_or("type"), "result");
  EXPECT_EQ(set->child("prefs", kMam)->child("always", kMam)->child_text("jid", kMam),
            "alice@localhost");
  alice->send(chat("bob@localhost", "from alice"));
  carol->send(chat("bob@localhost", "from carol"));
  ASSERT_TRUE(bob->expect(is_chat_with_body("from alice")));
  ASSERT_TRUE(bob->expect(is_chat_with_body("from carol")));
  EXPECT_EQ(mam_query(*bob).bodies, Bodies{"from alice"});

  // roster: only contacts with a subscription (carol is one, alice is not).
  {
    auto store = server_.open_storage();
    storage::RosterItem item;
    item.jid = "carol@localhost";
    item.subscription = storage::Subscription::Both;
    store->roster().put_item({"localhost", "bob"}, item);
  }
  ASSERT_EQ(bob->iq("<iq type='set' id='p4'><prefs xmlns='urn:xmpp:mam:2' default='roster'/></iq>")
                ->attr_or("type"),
            "result");
  alice->send(chat("bob@localhost", "alice again"));
  carol->send(chat("bob@localhost", "carol again"));
  ASSERT_TRUE(bob->expect(is_chat_with_body("alice again")));
  ASSERT_TRUE(bob->expect(is_chat_with_body("carol again")));
  EXPECT_EQ(mam_query(*bob).bodies, (Bodies{"from alice", "carol again"}));

  auto bad =
      bob->iq("<iq type='set' id='p5'><prefs xmlns='urn:xmpp:mam:2' default='sometimes'/></iq>");
  EXPECT_EQ(error_condition(*bad), "bad-request");
}

TEST_F(Mam, HintsChatStatesAndReceipts) {
  auto alice = login("alice");
  auto bob = login("bob");
  alice->send(chat("bob@localhost", "nostore", "<no-store xmlns='urn:xmpp:hints'/>"));
  alice->send(chat("bob@localhost", "noperm", "<no-permanent-store xmlns='urn:xmpp:hints'/>"));
  alice->send(
      "<message to='bob@localhost' type='chat'><active "
      "xmlns='http://jabber.org/protocol/chatstates'/></message>");
  alice->send("<message to='bob@localhost' type='headline'><body>news</body></message>");
  alice->send(
      "<message to='bob@localhost' type='chat' id='rcpt'><received xmlns='urn:xmpp:receipts' "
      "id='x1'/></message>");
  alice->send(
      "<message to='bob@localhost' type='chat' id='mark'><displayed "
      "xmlns='urn:xmpp:chat-markers:0' id='x1'/></message>");
  alice->send(chat("bob@localhost", "last"));
  ASSERT_TRUE(bob->expect(is_chat_with_body("nostore")));
  ASSERT_TRUE(bob->expect(is_chat_with_body("noperm")));
  ASSERT_TRUE(bob->expect(is_chat_with_body("last")));
  auto r = mam_query(*bob);
  ASSERT_EQ(r.results.size(), 3u);
  auto inner = [&](size_t i) {
    return r.results[i].child("forwarded", "urn:xmpp:forward:0")->child("message", "jabber:client");
  };
  EXPECT_NE(inner(0)->child("received", "urn:xmpp:receipts"), nullptr);
  EXPECT_NE(inner(1)->child("displayed", "urn:xmpp:chat-markers:0"), nullptr);
  EXPECT_EQ(inner(2)->child_text("body"), "last");
  EXPECT_EQ(mam_query(*alice).results.size(), 3u);
}

// RFC 6120 §10.1: a sender's messages arrive in the order sent, although
// the archived ones wait for their archive write and the others need none.
TEST_F(Mam, MessagesNotArchivedDoNotOvertakeArchivedOnes) {
  auto alice = login("alice");
  auto bob = login("bob");
  Bodies sent;
  for (int i = 0; i < 20; ++i) {
    const std::string kept = "kept" + std::to_string(i), unkept = "unkept" + std::to_string(i);
    alice->send(chat("bob@localhost", kept));
    alice->send(chat("bob@localhost", unkept, "<no-store xmlns='urn:xmpp:hints'/>"));
    sent.push_back(kept);
    sent.push_back(unkept);
  }
  Bodies got;
  for (size_t i = 0; i < sent.size(); ++i) {
    auto m =
        bob->expect([](const xml::Element& e) { return e.name() == "message" && e.child("body"); });
    ASSERT_TRUE(m) << "only " << i << " of " << sent.size() << " arrived";
    got.push_back(m->child_text("body"));
  }
  EXPECT_EQ(got, sent);
  // Only the archived half is in Bob's archive, in the order sent.
  auto r = wait_for(*bob, 20);
  Bodies kept;
  for (int i = 0; i < 20; ++i) kept.push_back("kept" + std::to_string(i));
  EXPECT_EQ(r.bodies, kept);
}

TEST_F(Mam, AnotherAccountsArchiveIsForbidden) {
  auto alice = login("alice");
  auto bob = login("bob");
  exchange(*alice, *bob, {"private"});
  auto q = mam_query(*alice, "", "", "bob@localhost");
  ASSERT_TRUE(q.iq);
  EXPECT_EQ(error_condition(*q.iq), "forbidden");
  EXPECT_TRUE(q.ids.empty());
  for (const char* payload :
       {"<prefs xmlns='urn:xmpp:mam:2'/>", "<metadata xmlns='urn:xmpp:mam:2'/>"}) {
    auto r =
        alice->iq(std::string("<iq type='get' id='x' to='bob@localhost'>") + payload + "</iq>");
    ASSERT_TRUE(r);
    EXPECT_EQ(error_condition(*r), "forbidden") << payload;
  }
  // Bob's own query to his bare JID works.
  EXPECT_EQ(mam_query(*bob, "", "", "bob@localhost").bodies, Bodies{"private"});
}

TEST_F(Mam, MetadataFormAndDisco) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto empty = bob->iq("<iq type='get' id='m0'><metadata xmlns='urn:xmpp:mam:2'/></iq>");
  ASSERT_TRUE(empty);
  ASSERT_EQ(empty->attr_or("type"), "result");
  EXPECT_EQ(empty->child("metadata", kMam)->element_count(), 0u);

  exchange(*alice, *bob, {"first", "middle", "last"});
  auto all = mam_query(*bob);
  auto md = bob->iq("<iq type='get' id='m1'><metadata xmlns='urn:xmpp:mam:2'/></iq>");
  const xml::Element* m = md->child("metadata", kMam);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->child("start", kMam)->attr_or("id"), all.ids.front());
  EXPECT_EQ(m->child("end", kMam)->attr_or("id"), all.ids.back());
  EXPECT_FALSE(m->child("end", kMam)->attr_or("timestamp").empty());

  auto form = bob->iq("<iq type='get' id='f1'><query xmlns='urn:xmpp:mam:2'/></iq>");
  ASSERT_TRUE(form);
  std::vector<std::string> vars;
  for (const xml::Element* f :
       form->child("query", kMam)->child("x", "jabber:x:data")->children("field", "jabber:x:data"))
    vars.push_back(f->attr_or("var"));
  EXPECT_EQ(vars, (std::vector<std::string>{"FORM_TYPE", "with", "start", "end", "before-id",
                                            "after-id", "ids", "{urn:xmpp:fulltext:0}fulltext"}));

  const std::set<std::string> features = disco_features(*bob, "bob@localhost");
  for (const char* f :
       {"urn:xmpp:mam:2", "urn:xmpp:mam:2#extended", "urn:xmpp:fulltext:0", "urn:xmpp:sid:0"})
    EXPECT_TRUE(features.count(f)) << f;
}

TEST_F(Mam, ArchiveSurvivesRestartAndAccountDeletionDeletesIt) {
  std::vector<std::string> ids;
  {
    auto alice = login("alice");
    auto bob = login("bob");
    exchange(*alice, *bob, {"before restart"});
    ids = mam_query(*bob).ids;
    ASSERT_EQ(ids.size(), 1u);
  }
  server_.restart();
  {
    auto bob = login("bob");
    EXPECT_EQ(mam_query(*bob).ids, ids);
    bob->disconnect();
  }
  std::string out;
  ASSERT_EQ(server_.ctl({"user", "del", "bob@localhost"}, &out), 0) << out;
  auto store = server_.open_storage();
  EXPECT_EQ(store->archive().count({"localhost", "bob"}), 0u);
  EXPECT_EQ(store->archive().count({"localhost", "alice"}), 1u);
}

TEST_F(Mam, ShutdownDuringABurstLeavesEveryDeliveredMessageInBothArchives) {
  // SIGTERM while a burst is being archived and routed: the server exits
  // cleanly, and each message Bob got before it stopped is in his archive
  // (under the stanza-id he saw) and in Alice's, whose append was still
  // waiting for the group commit when the stop came.
  auto alice = login("alice");
  auto bob = login("bob");
  constexpr int kBurst = 300;
  for (int i = 0; i < kBurst; ++i) alice->send(chat("bob@localhost", "burst " + std::to_string(i)));
  std::optional<xml::Element> got =
      bob->expect(is_chat_with_body("burst 0"), std::chrono::seconds(10));
  ASSERT_TRUE(got);
  EXPECT_EQ(server_.stop(), 0) << "a clean exit, neither a hang nor a crash";

  std::vector<std::string> delivered_ids;  // the stanza-ids Bob saw
  for (int i = 1; got; ++i) {
    const xml::Element* sid = got->child("stanza-id", kSid);
    ASSERT_NE(sid, nullptr) << to_xml(*got);
    delivered_ids.push_back(sid->attr_or("id"));
    // What was written to Bob's socket before the stop is still readable.
    got = i < kBurst ? bob->expect(is_chat_with_body("burst " + std::to_string(i)),
                                   std::chrono::milliseconds(200))
                     : std::nullopt;
  }
  auto store = server_.open_storage();
  storage::ArchiveQuery q;
  q.ids = delivered_ids;
  q.max = kBurst;
  const storage::ArchivePage bobs = store->archive().query({"localhost", "bob"}, q);
  EXPECT_TRUE(bobs.ids_found) << "a message was delivered with a stanza-id that was not durable";
  EXPECT_GE(store->archive().count({"localhost", "alice"}), delivered_ids.size())
      << "Alice's copies of delivered messages were lost at shutdown (" << delivered_ids.size()
      << " delivered)";
}

TEST_F(Mam, ShutdownRightAfterABurstLosesNoMessageTheServerRead) {
  // Alice, without stream management (she never resends), sends a burst to
  // Bob, who is offline, then a ping: its answer means the server has read
  // every message of the burst. SIGTERM comes at once, while the archive
  // writes and the offline stores are still on their way (a few hundred
  // messages behind here); a graceful stop must finish them. After a
  // restart, each message is in both archives and Bob gets it as an offline
  // message.
  constexpr int kBurst = 990;  // the offline quota is 1,000
  {
    auto alice = login("alice");
    for (int i = 0; i < kBurst; ++i)
      alice->send(chat("bob@localhost", "burst " + std::to_string(i)));
    auto pong = alice->iq(
        "<iq type='get' id='after-burst' to='localhost'>"
        "<ping xmlns='urn:xmpp:ping'/></iq>",
        std::chrono::seconds(30));
    ASSERT_TRUE(pong && pong->attr_or("type") == "result");
    EXPECT_EQ(server_.stop(), 0) << "a clean exit, neither a hang nor a crash";
  }
  EXPECT_EQ(server_.log_tail().find("still in flight"), std::string::npos)
      << "the stop did not wait for the work in flight";
  {
    auto store = server_.open_storage();
    EXPECT_EQ(store->archive().count({"localhost", "alice"}), size_t{kBurst})
        << "Alice's copies were lost at shutdown";
    EXPECT_EQ(store->archive().count({"localhost", "bob"}), size_t{kBurst})
        << "Bob's copies were lost at shutdown";
    EXPECT_EQ(store->offline().count({"localhost", "bob"}), size_t{kBurst})
        << "messages the server read were neither delivered nor stored";
  }
  server_.start();
  auto bob = login("bob");
  for (int i = 0; i < kBurst; ++i)
    ASSERT_TRUE(
        bob->expect(is_chat_with_body("burst " + std::to_string(i)), std::chrono::seconds(10)))
        << "burst " << i << " never reached Bob";
}

TEST_F(Mam, PreferencesOfADeletedAccountDoNotOutliveIt) {
  // The server caches preferences: an account deleted and created again
  // under the same name starts from the default, not from the old "never".
  auto alice = login("alice");
  {
    auto bob = login("bob");
    ASSERT_EQ(bob->iq("<iq type='set' id='p1'><prefs xmlns='urn:xmpp:mam:2' default='never'/></iq>")
                  ->attr_or("type"),
              "result");
    alice->send(chat("bob@localhost", "to the old bob"));
    auto got = bob->expect(is_chat_with_body("to the old bob"));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->child("stanza-id", kSid), nullptr) << "the old bob archived nothing";
    bob->disconnect();
  }
  std::string out;
  ASSERT_EQ(server_.ctl({"user", "del", "bob@localhost"}, &out), 0) << out;
  server_.create_user("bob", "pw2");
  auto bob = std::make_unique<XmppClient>(server_, "bob@localhost", "pw2",
                                          XmppClient::Options{.resource = "new"});
  ASSERT_TRUE(bob->connect()) << bob->error();
  bob->available();
  alice->send(chat("bob@localhost", "to the new bob"));
  auto got = bob->expect(is_chat_with_body("to the new bob"));
  ASSERT_TRUE(got);
  EXPECT_NE(got->child("stanza-id", kSid), nullptr) << to_xml(*got);
  EXPECT_EQ(mam_query(*bob).bodies, Bodies{"to the new bob"});
}

TEST_F(Mam, OfflineMessageIsArchivedExactlyOnce) {
  {
    auto alice = login("alice");
    alice->send(chat("bob@localhost", "while you were away"));
    EXPECT_EQ(wait_for(*alice, 1).ids.size(), 1u);
  }
  auto store = server_.open_storage();
  for (int i = 0; i < 50 && store->archive().count({"localhost", "bob"}) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(store->archive().count({"localhost", "bob"}), 1u);

  auto bob = login("bob");
  auto got = bob->expect(is_chat_with_body("while you were away"));
  ASSERT_TRUE(got);
  const xml::Element* sid = got->child("stanza-id", kSid);
  ASSERT_NE(sid, nullptr) << to_xml(*got);
  EXPECT_EQ(sid->attr_or("by"), "bob@localhost");
  auto r = mam_query(*bob);
  EXPECT_EQ(r.ids, std::vector<std::string>{sid->attr_or("id")});
  // A second login (the offline store is empty now) adds nothing either.
  auto bob2 = login("bob", "r2");
  EXPECT_EQ(mam_query(*bob2).ids.size(), 1u);
}

TEST_F(Mam, OfflineMessagesReadFromTheArchiveFirstAreNotSentAgain) {
  {
    auto alice = login("alice");
    for (const char* b : {"one", "two", "three"}) alice->send(chat("bob@localhost", b));
    EXPECT_EQ(wait_for(*alice, 3).ids.size(), 3u);
  }
  auto store = server_.open_storage();
  for (int i = 0; i < 50 && store->offline().count({"localhost", "bob"}) < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(store->offline().count({"localhost", "bob"}), 3u);

  // A MAM client catches up before it goes online: it reads the first two
  // messages from the archive, then sends initial presence.
  XmppClient bob(server_, "bob@localhost", "pw", XmppClient::Options{.resource = "m"});
  ASSERT_TRUE(bob.connect()) << bob.error();
  auto page = mam_query(bob, "", "<max>2</max>");
  ASSERT_EQ(page.bodies, (Bodies{"one", "two"}));
  bob.available();
  // Only the message it has not seen arrives as an offline message.
  auto got = bob.expect(is_chat_with_body("three"));
  ASSERT_TRUE(got);
  EXPECT_NE(got->child("delay", "urn:xmpp:delay"), nullptr);
  EXPECT_TRUE(bob.nothing(
      [](const xml::Element& el) {
        return el.name() == "message" && !el.child("result", kMam) && el.child("body");
      },
      700ms));
  for (int i = 0; i < 50 && store->offline().count({"localhost", "bob"}) > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(store->offline().count({"localhost", "bob"}), 0u);

  // A client that goes online first gets everything as offline messages
  // (and dedupes archive results by stanza-id).
  bob.disconnect();
  {
    auto alice = login("alice");
    for (const char* b : {"four", "five"}) alice->send(chat("bob@localhost", b));
    EXPECT_EQ(wait_for(*alice, 5).ids.size(), 5u);
  }
  for (int i = 0; i < 50 && store->offline().count({"localhost", "bob"}) < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto bob2 = login("bob", "p");
  EXPECT_TRUE(bob2->expect(is_chat_with_body("four")));
  EXPECT_TRUE(bob2->expect(is_chat_with_body("five")));
}

// Thousands of archived messages (seeded through the store before start, as
// a long-lived account would have): paging forward and backward visits each
// exactly once, in order, with exact counts, indexes and completeness.
class MamLarge : public Mam {
 protected:
  static constexpr int kMessages = 3000;
  void SetUp() override {
    for (const char* u : {"alice", "bob", "carol"}) server_.create_user(u, "pw");
    auto store = server_.open_storage();
    const auto base = storage::Clock::now() - std::chrono::hours(24);
    for (int i = 0; i < kMessages; ++i) {
      storage::ArchiveEntry e;
      e.id = "seed-" + std::to_string(i);
      e.stamp = base + std::chrono::seconds(i);
      e.with_bare = i % 3 ? "alice@localhost" : "carol@localhost";
      e.with_resource = "r";
      const std::string body = "message " + std::to_string(i) + (i % 500 == 7 ? " zebra" : "");
      e.stanza_xml = "<message xmlns='jabber:client' from='" + e.with_bare +
                     "/r' to='bob@localhost' type='chat'><body>" + body + "</body></message>";
      e.body = body;
      store->archive().append({"localhost", "bob"}, e);
    }
    store.reset();
    server_.start();
  }
  static std::string body_of(int i) { return "message " + std::to_string(i); }
};

TEST_F(MamLarge, PagingThroughThousandsForwardAndBackwardIsExact) {
  auto bob = login("bob");
  constexpr int kPage = 250;
  std::vector<std::string> forward;
  std::string after;
  for (int page = 0;; ++page) {
    auto r = mam_query(*bob, "",
                       "<max>" + std::to_string(kPage) + "</max>" +
                           (after.empty() ? "" : "<after>" + after + "</after>"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.rsm("count"), std::to_string(kMessages));
    EXPECT_EQ(r.first_index(), std::to_string(page * kPage));
    forward.insert(forward.end(), r.ids.begin(), r.ids.end());
    ASSERT_LE(page, kMessages / kPage);
    if (r.complete()) break;
    ASSERT_EQ(r.ids.size(), static_cast<size_t>(kPage));
    after = r.rsm("last");
  }
  ASSERT_EQ(forward.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) ASSERT_EQ(forward[i], "seed-" + std::to_string(i)) << i;

  std::vector<std::string> backward;
  std::string before;
  for (;;) {
    auto r = mam_query(*bob, "",
                       "<max>" + std::to_string(kPage) + "</max><before>" + before + "</before>");
    ASSERT_TRUE(r.ok());
    backward.insert(backward.begin(), r.ids.begin(), r.ids.end());
    ASSERT_LE(backward.size(), static_cast<size_t>(kMessages));
    if (r.complete()) break;
    before = r.rsm("first");
  }
  EXPECT_EQ(backward, forward);

  // A filtered page in the middle: only carol's messages (every third), by id.
  auto carol =
      mam_query(*bob, field("with", "carol@localhost"), "<max>10</max><after>seed-1500</after>");
  ASSERT_EQ(carol.bodies.size(), 10u);
  EXPECT_EQ(carol.bodies.front(), body_of(1503));
  EXPECT_EQ(carol.bodies.back(), body_of(1530));
  EXPECT_EQ(carol.rsm("count"), std::to_string(kMessages / 3));
}

TEST_F(MamLarge, FullTextSearchFindsTheFewMatchesAmongThousands) {
  auto bob = login("bob");
  auto r = mam_query(*bob, field("{urn:xmpp:fulltext:0}fulltext", "zebra"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.bodies, (Bodies{"message 7 zebra", "message 507 zebra", "message 1007 zebra",
                              "message 1507 zebra", "message 2007 zebra", "message 2507 zebra"}));
  EXPECT_TRUE(r.complete());
}

class MamRetention : public Mam {
 protected:
  MamRetention()
      : Mam([] {
          TestServerOptions o;
          o.extra_config = "[modules.mam]\nretention_days = 1\nexpiry_interval_seconds = 1\n";
          return o;
        }()) {}
};

TEST_F(MamRetention, ExpiredMessagesAreDeletedByTheServer) {
  {
    auto store = server_.open_storage();
    storage::ArchiveEntry old;
    old.id = "ancient";
    old.stamp = storage::Clock::now() - std::chrono::hours(48);
    old.with_bare = "alice@localhost";
    old.stanza_xml = "<message xmlns='jabber:client' type='chat'><body>old</body></message>";
    old.body = "old";
    store->archive().append({"localhost", "bob"}, old);
  }
  auto alice = login("alice");
  auto bob = login("bob");
  exchange(*alice, *bob, {"fresh"});
  QueryResult r;
  for (int i = 0; i < 50; ++i) {
    r = mam_query(*bob);
    if (r.bodies == Bodies{"fresh"}) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(r.bodies, Bodies{"fresh"});
}

// Per-account retention set by the admin overrides the server's, in both
// directions, and is enforced by the server's own expiry pass.
class MamAccountRetention : public Mam {
 protected:
  MamAccountRetention()
      : Mam([] {
          TestServerOptions o;
          o.extra_config = "[modules.mam]\nretention_days = 30\nexpiry_interval_seconds = 1\n";
          return o;
        }()) {}
  void seed(const std::string& user, const std::string& id, std::chrono::hours age) {
    auto store = server_.open_storage();
    storage::ArchiveEntry e;
    e.id = id;
    e.stamp = storage::Clock::now() - age;
    e.with_bare = "carol@localhost";
    e.stanza_xml = "<message xmlns='jabber:client' type='chat'><body>" + id + "</body></message>";
    e.body = id;
    store->archive().append({"localhost", user}, e);
  }
  size_t count(const std::string& user) {
    return server_.open_storage()->archive().count({"localhost", user});
  }
};

TEST_F(MamAccountRetention, SetWithParleyctlAndEnforcedByTheServer) {
  std::string out;
  EXPECT_EQ(server_.ctl({"archive", "retention", "bob@localhost"}, &out), 0) << out;
  EXPECT_NE(out.find("default"), std::string::npos) << out;
  ASSERT_EQ(server_.ctl({"archive", "retention", "bob@localhost", "5"}, &out), 0) << out;
  EXPECT_NE(out.find("5 day(s)"), std::string::npos) << out;
  ASSERT_EQ(server_.ctl({"archive", "retention", "carol@localhost", "0"}, &out), 0) << out;
  EXPECT_EQ(server_.ctl({"archive", "retention", "bob@localhost", "-1"}, &out), 2) << out;
  EXPECT_EQ(server_.ctl({"archive", "retention", "bob@localhost", "soon"}, &out), 2) << out;
  EXPECT_EQ(server_.ctl({"archive", "retention", "nobody@localhost", "5"}, &out), 1) << out;

  seed("alice", "alice-10d", std::chrono::hours(24 * 10));  // server's 30 days: kept
  seed("bob", "bob-10d", std::chrono::hours(24 * 10));      // bob's 5 days: deleted
  seed("bob", "bob-1d", std::chrono::hours(24));
  seed("carol", "carol-400d", std::chrono::hours(24 * 400));  // forever: kept
  seed("alice", "alice-40d", std::chrono::hours(24 * 40));    // past 30 days: deleted
  for (int i = 0; i < 50 && (count("bob") > 1 || count("alice") > 1); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(count("bob"), 1u);
  EXPECT_EQ(count("alice"), 1u);
  EXPECT_EQ(count("carol"), 1u);
  auto bob = login("bob");
  EXPECT_EQ(mam_query(*bob).bodies, Bodies{"bob-1d"});
}

}  // namespace
}  // namespace parley::test

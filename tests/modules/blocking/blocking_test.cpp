// Blocking Command (XEP-0191) with abuse reports (XEP-0377) end to end: list,
// block, unblock and unblock-all with pushes to the resources that asked for
// the list; what happens to messages, presence and IQs from and to a blocked
// JID; domain blocks; persistence across restarts; reports listed by
// parleyctl; malformed requests. Matching rules are unit-tested in
// tests/unit/modules/blocking.
#include <gtest/gtest.h>

#include "modules/roster/roster_support.hpp"
#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

using roster_support::befriend;
using roster_support::get_roster;
using roster_support::online;

constexpr const char* kNs = "urn:xmpp:blocking";

std::vector<std::string> items_of(const xml::Element& el) {
  std::vector<std::string> out;
  for (const xml::Element* child : el.element_children())
    for (const xml::Element* item : child->children("item", kNs))
      out.push_back(item->attr_or("jid"));
  return out;
}

Predicate is_push(const std::string& command) {
  return [command](const xml::Element& el) {
    return el.name() == "iq" && el.attr_or("type") == "set" && el.child(command, kNs);
  };
}

Predicate is_error_with(const std::string& condition) {
  return [condition](const xml::Element& el) {
    return el.attr_or("type") == "error" && error_condition(el) == condition;
  };
}

class Blocking : public ::testing::Test {
 protected:
  explicit Blocking(TestServerOptions options = {}) : server_(std::move(options)) {}
  void SetUp() override {
    server_.create_user("alice", "wonderland");
    server_.create_user("bob", "builder");
    server_.create_user("carol", "singer");
    server_.start();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  std::unique_ptr<XmppClient> login(const std::string& user, const std::string& password,
                                    const std::string& resource,
                                    const std::string& domain = "localhost") {
    auto c = std::make_unique<XmppClient>(server_, user + "@" + domain, password,
                                          XmppClient::Options{.resource = resource});
    EXPECT_TRUE(c->connect()) << c->error();
    c->send("<presence/>");
    c->drain(200ms);
    return c;
  }
  static std::optional<xml::Element> request(XmppClient& c, const std::string& type,
                                             const std::string& payload) {
    return c.iq("<iq type='" + type + "' id='" + c.next_id() + "'>" + payload + "</iq>");
  }
  static std::vector<std::string> list(XmppClient& c) {
    auto r = request(c, "get", "<blocklist xmlns='urn:xmpp:blocking'/>");
    EXPECT_TRUE(r && r->attr_or("type") == "result" && r->child("blocklist", kNs));
    return r ? items_of(*r) : std::vector<std::string>{};
  }
  static void block(XmppClient& c, const std::string& jid, const std::string& inner = "") {
    auto r = request(
        c, "set",
        "<block xmlns='urn:xmpp:blocking'><item jid='" + jid + "'>" + inner + "</item></block>");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  }
  TestServer server_;
};

TEST_F(Blocking, ServerAdvertisesBlockingAndReporting) {
  auto a = login("alice", "wonderland", "a");
  EXPECT_TRUE(server_has_feature(*a, "urn:xmpp:blocking"));
  EXPECT_TRUE(server_has_feature(*a, "urn:xmpp:reporting:1"));
}

TEST_F(Blocking, BlockUnblockAndPushesToResourcesThatAskedForTheList) {
  auto a1 = login("alice", "wonderland", "a1");
  auto a2 = login("alice", "wonderland", "a2");
  auto a3 = login("alice", "wonderland", "a3");  // never asks for the list
  EXPECT_TRUE(list(*a1).empty());
  EXPECT_TRUE(list(*a2).empty());

  auto r = request(*a1, "set",
                   "<block xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/>"
                   "<item jid='Carol@LocalHost/Phone'/></block>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "result");
  for (XmppClient* c : {a1.get(), a2.get()}) {
    auto push = c->expect(is_push("block"));
    ASSERT_TRUE(push);
    EXPECT_EQ(items_of(*push),
              (std::vector<std::string>{"bob@localhost", "carol@localhost/Phone"}));
    c->send("<iq type='result' id='" + push->attr_or("id") + "'/>");
  }
  EXPECT_TRUE(a3->nothing(is_push("block")));
  EXPECT_EQ(list(*a2), (std::vector<std::string>{"bob@localhost", "carol@localhost/Phone"}));

  r = request(*a2, "set",
              "<unblock xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/></unblock>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "result");
  auto push = a1->expect(is_push("unblock"));
  ASSERT_TRUE(push);
  EXPECT_EQ(items_of(*push), std::vector<std::string>{"bob@localhost"});
  EXPECT_EQ(list(*a1), std::vector<std::string>{"carol@localhost/Phone"});

  // Unblock all: an empty <unblock/> push.
  r = request(*a1, "set", "<unblock xmlns='urn:xmpp:blocking'/>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "result");
  push = a2->expect([](const xml::Element& el) {
    const xml::Element* u = el.child("unblock", kNs);
    return u && u->element_count() == 0;
  });
  EXPECT_TRUE(push);
  EXPECT_TRUE(list(*a1).empty());
}

TEST_F(Blocking, MessagesPresenceAndIqsFromABlockedJid) {
  auto alice = login("alice", "wonderland", "a");
  auto bob = login("bob", "builder", "b");
  block(*alice, "bob@localhost");

  bob->send("<message to='alice@localhost' type='chat' id='m1'><body>hello?</body></message>");
  auto bounce = bob->expect(is_error_with("service-unavailable"));
  ASSERT_TRUE(bounce) << "a message from a blocked JID is answered with service-unavailable";
  EXPECT_EQ(bounce->attr_or("id"), "m1");

  bob->send("<presence to='alice@localhost/a'/>");
  bob->send("<presence to='alice@localhost' type='subscribe'/>");
  auto iq = bob->iq(
      "<iq type='get' id='v1' to='alice@localhost/a'><query xmlns='jabber:iq:version'/></iq>");
  ASSERT_TRUE(iq);
  EXPECT_EQ(iq->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*iq), "service-unavailable");
  auto vcard =
      bob->iq("<iq type='get' id='v2' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>");
  ASSERT_TRUE(vcard);
  EXPECT_EQ(error_condition(*vcard), "service-unavailable");

  EXPECT_TRUE(alice->nothing(
      [](const xml::Element& el) { return el.attr_or("from").rfind("bob@localhost", 0) == 0; },
      800ms));
  // Presence gets no answer at all (§3.3).
  EXPECT_TRUE(bob->nothing([](const xml::Element& el) { return el.name() == "presence"; }, 200ms));
}

TEST_F(Blocking, SendingToABlockedJidIsRefused) {
  auto alice = login("alice", "wonderland", "a");
  auto bob = login("bob", "builder", "b");
  block(*alice, "bob@localhost");
  alice->send("<message to='bob@localhost/b' type='chat' id='out1'><body>psst</body></message>");
  auto err = alice->expect([](const xml::Element& el) { return el.attr_or("id") == "out1"; });
  ASSERT_TRUE(err);
  EXPECT_EQ(err->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*err), "not-acceptable");
  const xml::Element* error = err->child("error");
  ASSERT_NE(error, nullptr);
  EXPECT_NE(error->child("blocked", "urn:xmpp:blocking:errors"), nullptr) << to_xml(*err);
  auto iq =
      alice->iq("<iq type='get' id='o2' to='bob@localhost/b'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(iq);
  EXPECT_EQ(error_condition(*iq), "not-acceptable");
  EXPECT_TRUE(bob->nothing(is_message_from("alice@localhost"), 500ms));
  EXPECT_TRUE(bob->nothing([](const xml::Element& el) { return el.name() == "iq"; }, 100ms));
}

TEST_F(Blocking, BlockingSendsUnavailableAndUnblockingPresenceAgain) {
  auto alice = login("alice", "wonderland", "a");
  auto bob = login("bob", "builder", "b");
  ASSERT_TRUE(get_roster(*alice));
  ASSERT_TRUE(get_roster(*bob));
  online(*alice);
  online(*bob);
  befriend(*alice, "alice@localhost", *bob, "bob@localhost");
  online(*alice);  // bob sees alice available
  ASSERT_TRUE(bob->expect(is_presence_from("alice@localhost/a")));
  bob->drain();

  block(*alice, "bob@localhost");
  EXPECT_TRUE(bob->expect(is_presence_from("alice@localhost/a", "unavailable")));
  // Later broadcasts do not reach the blocked contact.
  alice->send("<presence><status>busy</status></presence>");
  EXPECT_TRUE(bob->nothing(is_presence_from("alice@localhost"), 600ms));

  auto r = request(*alice, "set",
                   "<unblock xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/></unblock>");
  ASSERT_TRUE(r && r->attr_or("type") == "result");
  auto again = bob->expect(is_presence_from("alice@localhost/a"));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->has_attr("type"));
  EXPECT_EQ(again->child_text("status"), "busy");
}

TEST_F(Blocking, FullJidBlockCoversOnlyThatResource) {
  auto alice = login("alice", "wonderland", "a");
  auto bob1 = login("bob", "builder", "b1");
  auto bob2 = login("bob", "builder", "b2");
  block(*alice, "bob@localhost/b1");
  bob1->send("<message to='alice@localhost/a' type='chat'><body>from b1</body></message>");
  bob2->send("<message to='alice@localhost/a' type='chat'><body>from b2</body></message>");
  EXPECT_TRUE(alice->expect(has_body("from b2")));
  EXPECT_TRUE(alice->nothing(has_body("from b1"), 300ms));
  EXPECT_TRUE(bob1->expect(is_error_with("service-unavailable")));
}

TEST_F(Blocking, SurvivesARestartAndAccountDeletion) {
  {
    auto alice = login("alice", "wonderland", "a");
    block(*alice, "bob@localhost");
  }
  server_.restart();
  {
    auto alice = login("alice", "wonderland", "a");
    EXPECT_EQ(list(*alice), std::vector<std::string>{"bob@localhost"});
    auto bob = login("bob", "builder", "b");
    bob->send(
        "<message to='alice@localhost' type='chat' id='r1'><body>after restart</body></message>");
    EXPECT_TRUE(bob->expect(is_error_with("service-unavailable")));
    EXPECT_TRUE(alice->nothing(has_body("after restart"), 300ms));
  }
  // A deleted account's list goes with it; a new account of that name starts clean.
  std::string out;
  ASSERT_EQ(server_.ctl({"user", "del", "alice@localhost"}, &out), 0) << out;
  server_.create_user("alice", "again");
  auto alice = login("alice", "again", "a");
  EXPECT_TRUE(list(*alice).empty());
  auto bob = login("bob", "builder", "b");
  bob->send("<message to='alice@localhost' type='chat'><body>welcome back</body></message>");
  EXPECT_TRUE(alice->expect(has_body("welcome back")));
}

TEST_F(Blocking, OfflineMessagesFromABlockedJidAreNotStored) {
  {
    auto alice = login("alice", "wonderland", "a");
    block(*alice, "bob@localhost");
  }
  auto bob = login("bob", "builder", "b");
  bob->send("<message to='alice@localhost' type='chat'><body>while away</body></message>");
  EXPECT_TRUE(bob->expect(is_error_with("service-unavailable")));
  auto alice = login("alice", "wonderland", "a");
  EXPECT_TRUE(alice->nothing(has_body("while away"), 600ms));
}

TEST_F(Blocking, ReportsAreRecordedAndListedByParleyctl) {
  auto alice = login("alice", "wonderland", "a");
  block(*alice, "spammer@spam.example",
        "<report xmlns='urn:xmpp:reporting:1' reason='urn:xmpp:reporting:spam'>"
        "<text xml:lang='en'>Buy cheap pills</text></report>");
  block(*alice, "troll@spam.example",
        "<report xmlns='urn:xmpp:reporting:1' reason='urn:xmpp:reporting:abuse'/>");
  EXPECT_EQ(list(*alice), (std::vector<std::string>{"spammer@spam.example", "troll@spam.example"}));

  std::string out;
  ASSERT_EQ(server_.ctl({"reports", "list"}, &out), 0) << out;
  EXPECT_NE(out.find("alice@localhost reported spammer@spam.example (urn:xmpp:reporting:spam)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Buy cheap pills"), std::string::npos) << out;
  EXPECT_NE(out.find("troll@spam.example (urn:xmpp:reporting:abuse)"), std::string::npos) << out;
  // Newest first.
  EXPECT_LT(out.find("troll@"), out.find("spammer@")) << out;

  ASSERT_EQ(server_.ctl({"--json", "reports", "list", "--limit", "1"}, &out), 0) << out;
  EXPECT_NE(out.find("\"reported\":\"troll@spam.example\""), std::string::npos) << out;
  EXPECT_EQ(out.find("spammer@"), std::string::npos) << out;

  // Offline too, straight from the store.
  alice.reset();
  server_.stop();
  ASSERT_EQ(server_.ctl({"reports", "list", "localhost"}, &out), 0) << out;
  EXPECT_NE(out.find("spammer@spam.example"), std::string::npos) << out;
}

TEST_F(Blocking, MalformedRequestsAreRefused) {
  auto alice = login("alice", "wonderland", "a");
  auto expect_error = [&](const std::string& payload, const std::string& condition) {
    auto r = request(*alice, "set", payload);
    ASSERT_TRUE(r) << payload;
    EXPECT_EQ(r->attr_or("type"), "error") << payload;
    EXPECT_EQ(error_condition(*r), condition) << payload;
  };
  expect_error("<block xmlns='urn:xmpp:blocking'/>", "bad-request");
  expect_error("<block xmlns='urn:xmpp:blocking'><item/></block>", "bad-request");
  expect_error("<block xmlns='urn:xmpp:blocking'><item jid=''/></block>", "bad-request");
  expect_error("<block xmlns='urn:xmpp:blocking'><item jid='a@b@c'/></block>", "jid-malformed");
  expect_error(
      "<block xmlns='urn:xmpp:blocking'><item jid='ok@localhost'/><item jid='@x'/></block>",
      "jid-malformed");
  expect_error("<unblock xmlns='urn:xmpp:blocking'><item jid='bad@@jid'/></unblock>",
               "jid-malformed");
  expect_error(
      "<block xmlns='urn:xmpp:blocking'><item jid='x@y.example'><report "
      "xmlns='urn:xmpp:reporting:1'/></item></block>",
      "bad-request");
  // Nothing of the refused requests was applied.
  EXPECT_TRUE(list(*alice).empty());
  // Unblocking what is not blocked is fine and changes nothing.
  auto r = request(*alice, "set",
                   "<unblock xmlns='urn:xmpp:blocking'><item jid='nobody@localhost'/></unblock>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "result");
  EXPECT_TRUE(alice->nothing(is_push("unblock"), 300ms));
  // Another account's list is not ours to read or change.
  auto other = alice->iq(
      "<iq type='get' id='o' to='bob@localhost'><blocklist xmlns='urn:xmpp:blocking'/></iq>");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->attr_or("type"), "error");
}

class BlockingLimited : public Blocking {
 protected:
  BlockingLimited() : Blocking(limited()) {}
  static TestServerOptions limited() {
    TestServerOptions o;
    o.extra_config = "[modules.blocking]\nmax_items = 2\n";
    return o;
  }
};

TEST_F(BlockingLimited, ListSizeIsBounded) {
  auto alice = login("alice", "wonderland", "a");
  block(*alice, "one@x.example");
  block(*alice, "two@x.example");
  block(*alice, "two@x.example");  // already there: no growth
  auto r = request(*alice, "set",
                   "<block xmlns='urn:xmpp:blocking'><item jid='three@x.example'/></block>");
  ASSERT_TRUE(r);
  EXPECT_EQ(error_condition(*r), "resource-constraint");
  EXPECT_EQ(list(*alice).size(), 2u);
}

class BlockingDomains : public Blocking {
 protected:
  BlockingDomains() : Blocking(two_hosts()) {}
  static TestServerOptions two_hosts() {
    TestServerOptions o;
    o.hosts = {"localhost", "other.test"};
    return o;
  }
  void SetUp() override {
    server_.create_user("dave", "diver", "other.test");
    server_.create_user("erin", "eagle", "other.test");
    Blocking::SetUp();
  }
};

TEST_F(BlockingDomains, ADomainBlockCoversEveryoneThere) {
  auto alice = login("alice", "wonderland", "a");
  auto dave = login("dave", "diver", "d", "other.test");
  auto bob = login("bob", "builder", "b");
  block(*alice, "other.test");
  dave->send("<message to='alice@localhost' type='chat'><body>from other.test</body></message>");
  EXPECT_TRUE(dave->expect(is_error_with("service-unavailable")));
  bob->send("<message to='alice@localhost' type='chat'><body>from localhost</body></message>");
  EXPECT_TRUE(alice->expect(has_body("from localhost")));
  EXPECT_TRUE(alice->nothing(has_body("from other.test"), 300ms));
  alice->send("<message to='erin@other.test' type='chat' id='e1'><body>hi</body></message>");
  EXPECT_TRUE(alice->expect(is_error_with("not-acceptable")));
}

}  // namespace
}  // namespace parley::test

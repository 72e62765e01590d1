// Multi-user chat beyond the basics: rooms, configuration, subject and
// affiliations survive a restart (both store backends); history on join with
// each XEP-0045 §7.2.14 limit; one order for every occupant under concurrent
// senders; mediated (XEP-0045 §7.8) and direct (XEP-0249) invitations; a
// room filled to the default cap of 256 with real connections.
#include <map>
#include <thread>

#include "modules/muc/muc_support.hpp"
#include "storage/store.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley::test::muc {
namespace {

using MucHistory = MucTest;

// One MAM query on the room: result ids and bodies in order, and the <fin/>.
struct RoomQuery {
  std::vector<std::string> ids, bodies, from;
  std::optional<xml::Element> iq;
  bool complete() const {
    const xml::Element* fin = iq ? iq->child("fin", "urn:xmpp:mam:2") : nullptr;
    return fin && fin->attr_or("complete") == "true";
  }
};

RoomQuery room_query(XmppClient& c, const std::string& room, const std::string& inner) {
  RoomQuery out;
  const std::string id = c.next_id();
  out.iq = c.iq("<iq type='set' id='" + id + "' to='" + room_jid(room) +
                "'><query xmlns='urn:xmpp:mam:2' queryid='q" + id + "'>" + inner + "</query></iq>");
  while (auto m = c.expect(
             [&](const xml::Element& el) {
               const xml::Element* r = el.child("result", "urn:xmpp:mam:2");
               return r && r->attr_or("queryid") == "q" + id;
             },
             std::chrono::milliseconds(0))) {
    EXPECT_EQ(m->attr_or("from"), room_jid(room));
    const xml::Element* r = m->child("result", "urn:xmpp:mam:2");
    out.ids.push_back(r->attr_or("id"));
    const xml::Element* inner_msg =
        r->child("forwarded", "urn:xmpp:forward:0")->child("message", "jabber:client");
    out.bodies.push_back(inner_msg ? inner_msg->child_text("body") : "?");
    out.from.push_back(inner_msg ? inner_msg->attr_or("from") : "?");
  }
  return out;
}


std::vector<std::string> history_bodies(XmppClient& c, const std::string& room) {
  std::vector<std::string> out;
  for (const auto& el : c.drain(800ms))
    if (el.name() == "message" && el.attr_or("type") == "groupchat" && el.child("delay", "urn:xmpp:delay")) {
      EXPECT_EQ(el.child("delay", "urn:xmpp:delay")->attr_or("from"), room_jid(room));
      EXPECT_FALSE(el.child("delay", "urn:xmpp:delay")->attr_or("stamp").empty());
      out.push_back(el.child_text("body"));
    }
  return out;
}

TEST_F(MucHistory, RoomSurvivesRestart) {
  {
    auto alice = login("alice");
    create(*alice, "keep", "alice", field("muc#roomconfig_roomname", "Kept room"));
    alice->send("<message to='" + room_jid("keep") +
                "' type='groupchat'><subject>Before the restart</subject></message>");
    ASSERT_TRUE(alice->expect([](const xml::Element& el) { return el.child_text("subject") == "Before the restart"; }));
    // The affiliation's reply comes after its commit, in the room's storage
    // lane, so the subject is stored too by then.
    ASSERT_EQ(admin(*alice, "keep", aff_item("bob@localhost", "member"))->attr_or("type"), "result");
    ASSERT_EQ(admin(*alice, "keep", aff_item("eve@localhost", "outcast"))->attr_or("type"), "result");
    alice->disconnect();
  }
  server_.restart();
  auto bob = login("bob");
  auto carol = login("carol");
  auto eve = login("eve");
  auto info = disco(*bob, room_jid("keep"), kDiscoInfo);
  ASSERT_TRUE(info);
  ASSERT_EQ(info->attr_or("type"), "result") << to_xml(*info);
  EXPECT_EQ(info->child("query", kDiscoInfo)->child("identity", kDiscoInfo)->attr_or("name"), "Kept room");
  EXPECT_TRUE(has_feature(*info, "muc_membersonly"));
  auto self = join(*bob, "keep", "bob");
  ASSERT_TRUE(self);
  EXPECT_EQ(self->attr_or("type"), "") << to_xml(*self);
  EXPECT_EQ(item(*self)->attr_or("affiliation"), "member");
  EXPECT_FALSE(codes(*self).count(201)) << "not a new room";
  auto subject = bob->expect([](const xml::Element& el) { return el.child("subject") != nullptr; });
  ASSERT_TRUE(subject);
  EXPECT_EQ(subject->child_text("subject"), "Before the restart");
  EXPECT_EQ(error_condition(*join(*carol, "keep", "carol")), "registration-required");
  EXPECT_EQ(error_condition(*join(*eve, "keep", "eve")), "forbidden");
  // The owner is still the owner.
  auto alice = login("alice");
  auto owner = join(*alice, "keep", "alice");
  ASSERT_TRUE(owner);
  EXPECT_EQ(item(*owner)->attr_or("affiliation"), "owner");
  // Destroyed, it is gone from the store as well.
  ASSERT_EQ(alice->iq("<iq type='set' id='d' to='" + room_jid("keep") +
                      "'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>")
                ->attr_or("type"),
            "result");
  auto store = server_.open_storage();
  EXPECT_TRUE(store->muc().rooms(kService).empty());
  EXPECT_TRUE(store->muc().affiliations(kService, "keep").empty());
}

TEST_F(MucHistory, TemporaryRoomIsNotStoredAndVanishesWhenEmpty) {
  auto alice = login("alice");
  create(*alice, "brief", "alice", open_room() + field("muc#roomconfig_persistentroom", "0"));
  EXPECT_TRUE(server_.open_storage()->muc().rooms(kService).empty());
  alice->send("<presence to='" + occ("brief", "alice") + "' type='unavailable'/>");
  ASSERT_TRUE(alice->expect(presence_from(occ("brief", "alice"), "unavailable")));
  auto info = disco(*alice, room_jid("brief"), kDiscoInfo);
  ASSERT_TRUE(info);
  EXPECT_EQ(error_condition(*info), "item-not-found");
}

TEST_F(MucHistory, HistoryOnJoinHonoursEachLimit) {
  auto alice = login("alice");
  create(*alice, "chat", "alice", open_room());
  for (int i = 1; i <= 5; ++i) {
    say(*alice, "chat", "m" + std::to_string(i));
    ASSERT_TRUE(alice->expect(groupchat_body("m" + std::to_string(i))));
  }
  using Bodies = std::vector<std::string>;
  auto bob = login("bob");
  ASSERT_TRUE(join(*bob, "chat", "bob", "<history maxstanzas='2'/>"));
  EXPECT_EQ(history_bodies(*bob, "chat"), (Bodies{"m4", "m5"}));
  auto carol = login("carol");
  ASSERT_TRUE(join(*carol, "chat", "carol", "<history maxchars='0'/>"));
  EXPECT_EQ(history_bodies(*carol, "chat"), Bodies{});
  auto dave = login("dave");
  ASSERT_TRUE(join(*dave, "chat", "dave"));
  EXPECT_EQ(history_bodies(*dave, "chat"), (Bodies{"m1", "m2", "m3", "m4", "m5"}));
  auto eve = login("eve");
  ASSERT_TRUE(join(*eve, "chat", "eve", "<history since='2999-01-01T00:00:00Z'/>"));
  EXPECT_EQ(history_bodies(*eve, "chat"), Bodies{});
  eve->send("<presence to='" + occ("chat", "eve") + "' type='unavailable'/>");
  ASSERT_TRUE(eve->expect(presence_from(occ("chat", "eve"), "unavailable")));
  ASSERT_TRUE(join(*eve, "chat", "eve", "<history seconds='3600' since='2000-01-01T00:00:00Z'/>"));
  EXPECT_EQ(history_bodies(*eve, "chat").size(), 5u);
  // maxchars counts whole stanzas: room for about one message.
  eve->send("<presence to='" + occ("chat", "eve") + "' type='unavailable'/>");
  ASSERT_TRUE(eve->expect(presence_from(occ("chat", "eve"), "unavailable")));
  ASSERT_TRUE(join(*eve, "chat", "eve", "<history maxchars='450'/>"));
  auto some = history_bodies(*eve, "chat");
  ASSERT_FALSE(some.empty());
  EXPECT_LT(some.size(), 5u);
  EXPECT_EQ(some.back(), "m5");
  // The room keeps at most muc#maxhistoryfetch messages.
  ASSERT_EQ(configure(*alice, "chat", field("muc#maxhistoryfetch", "1"))->attr_or("type"), "result");
  dave->send("<presence to='" + occ("chat", "dave") + "' type='unavailable'/>");
  ASSERT_TRUE(dave->expect(presence_from(occ("chat", "dave"), "unavailable")));
  ASSERT_TRUE(join(*dave, "chat", "dave"));
  EXPECT_EQ(history_bodies(*dave, "chat"), Bodies{"m5"});
}

TEST_F(MucHistory, ConcurrentSendersAllOccupantsSeeOneOrder) {
  auto alice = login("alice");
  create(*alice, "race", "alice", open_room());
  std::vector<std::unique_ptr<XmppClient>> senders;
  for (const char* u : {"bob", "carol", "dave"}) {
    senders.push_back(login(u));
    ASSERT_TRUE(join(*senders.back(), "race", u));
  }
  constexpr int kEach = 40;
  const size_t total = senders.size() * kEach;
  auto collect = [total](XmppClient& c) {
    std::vector<std::string> order;
    while (order.size() < total) {
      auto m = c.expect([](const xml::Element& el) {
        return el.name() == "message" && el.attr_or("type") == "groupchat" && el.child("body");
      });
      if (!m) break;
      order.push_back(m->child_text("body"));
    }
    return order;
  };
  // Each sender queues all its messages at once, then reads the room (which
  // also flushes its queue): the three streams reach the room together.
  std::vector<std::vector<std::string>> seen(senders.size() + 1);
  std::vector<std::thread> threads;
  for (size_t s = 0; s < senders.size(); ++s)
    threads.emplace_back([&, s] {
      for (int i = 0; i < kEach; ++i)
        say(*senders[s], "race", "s" + std::to_string(s) + "-" + std::to_string(i));
      seen[s + 1] = collect(*senders[s]);
    });
  seen[0] = collect(*alice);
  for (auto& t : threads) t.join();
  ASSERT_EQ(seen[0].size(), senders.size() * kEach);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_EQ(seen[i], seen[0]) << "occupant " << i;
  // The room's archive has the same order.
  std::vector<std::string> archived;
  std::string after;
  for (int page = 0; page < 10 && archived.size() < total; ++page) {
    auto r = room_query(*alice, "race",
                        "<set xmlns='http://jabber.org/protocol/rsm'><max>50</max>" +
                            (after.empty() ? std::string() : "<after>" + after + "</after>") + "</set>");
    if (r.ids.empty()) break;
    archived.insert(archived.end(), r.bodies.begin(), r.bodies.end());
    after = r.ids.back();
  }
  EXPECT_EQ(archived, seen[0]);
  // Each sender's messages keep the order it sent them in.
  for (size_t s = 0; s < senders.size(); ++s) {
    int next = 0;
    for (const auto& b : seen[0])
      if (b.rfind("s" + std::to_string(s) + "-", 0) == 0) {
        EXPECT_EQ(b, "s" + std::to_string(s) + "-" + std::to_string(next++));
      }
    EXPECT_EQ(next, kEach);
  }
}

TEST_F(MucHistory, MediatedAndDirectInvitations) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto dave = login("dave");
  auto eve = login("eve");
  create(*alice, "club", "alice");  // members-only
  alice->send("<message to='" + room_jid("club") +
              "'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='dave@localhost'>"
              "<reason>come along</reason></invite></x></message>");
  auto inv = dave->expect([](const xml::Element& el) {
    return el.name() == "message" && el.child("x", kMucUser) && el.child("x", kMucUser)->child("invite", kMucUser);
  });
  ASSERT_TRUE(inv);
  EXPECT_EQ(inv->attr_or("from"), room_jid("club"));
  const xml::Element* i = inv->child("x", kMucUser)->child("invite", kMucUser);
  EXPECT_EQ(i->attr_or("from"), "alice@localhost");
  EXPECT_EQ(i->child_text("reason", kMucUser), "come along");
  // In a members-only room the invitation makes Dave a member.
  auto self = join(*dave, "club", "dave");
  ASSERT_TRUE(self);
  EXPECT_EQ(item(*self)->attr_or("affiliation"), "member") << to_xml(*self);
  // A member may not invite unless the room allows it.
  dave->send("<message to='" + room_jid("club") +
             "'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='bob@localhost'/></x></message>");
  auto forbidden = dave->expect(error_from(room_jid("club")));
  ASSERT_TRUE(forbidden);
  EXPECT_EQ(error_condition(*forbidden), "forbidden");
  // Nor may someone outside the room.
  bob->send("<message to='" + room_jid("club") +
            "'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='eve@localhost'/></x></message>");
  auto outsider = bob->expect(error_from(room_jid("club")));
  ASSERT_TRUE(outsider);
  EXPECT_EQ(error_condition(*outsider), "not-acceptable");
  EXPECT_TRUE(eve->nothing([](const xml::Element& el) { return el.child("x", kMucUser) != nullptr; }));
  // A declined invitation goes back to the inviter.
  alice->send("<message to='" + room_jid("club") +
              "'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='eve@localhost'/></x></message>");
  ASSERT_TRUE(eve->expect([](const xml::Element& el) { return el.child("x", kMucUser) != nullptr; }));
  eve->send("<message to='" + room_jid("club") +
            "'><x xmlns='http://jabber.org/protocol/muc#user'><decline to='alice@localhost'>"
            "<reason>busy</reason></decline></x></message>");
  auto declined = alice->expect([](const xml::Element& el) {
    return el.child("x", kMucUser) && el.child("x", kMucUser)->child("decline", kMucUser);
  });
  ASSERT_TRUE(declined);
  EXPECT_EQ(declined->child("x", kMucUser)->child("decline", kMucUser)->attr_or("from"), "eve@localhost");
  EXPECT_EQ(declined->child("x", kMucUser)->child("decline", kMucUser)->child_text("reason", kMucUser), "busy");

  // XEP-0249: a direct invitation travels client to client untouched.
  alice->send("<message to='bob@localhost/r'><x xmlns='jabber:x:conference' jid='" + room_jid("club") +
              "' reason='hi bob'/></message>");
  auto direct = bob->expect([](const xml::Element& el) { return el.child("x", "jabber:x:conference") != nullptr; });
  ASSERT_TRUE(direct);
  EXPECT_EQ(direct->child("x", "jabber:x:conference")->attr_or("jid"), room_jid("club"));
  EXPECT_EQ(direct->attr_or("from"), "alice@localhost/r");
  EXPECT_TRUE(has_feature(*disco(*alice, kService, kDiscoInfo), "jabber:x:conference"));
}

TEST_F(MucHistory, RoomArchivePagesAndSearchesInRoomOrder) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  create(*alice, "log", "alice");  // members-only, persistent
  ASSERT_EQ(admin(*alice, "log", aff_item("bob@localhost", "member"))->attr_or("type"), "result");
  std::vector<std::string> sent{"one", "two", "find the needle", "four", "five"};
  std::vector<std::string> ids;
  for (const auto& b : sent) {
    say(*alice, "log", b);
    auto m = alice->expect(groupchat_body(b));
    ASSERT_TRUE(m);
    ids.push_back(m->child("stanza-id", kSid)->attr_or("id"));
  }
  EXPECT_TRUE(has_feature(*disco(*alice, room_jid("log"), kDiscoInfo), "urn:xmpp:mam:2"));
  // Bob, a member who is not in the room, catches up page by page.
  auto page1 = room_query(*bob, "log", "<set xmlns='http://jabber.org/protocol/rsm'><max>2</max></set>");
  ASSERT_TRUE(page1.iq);
  ASSERT_EQ(page1.iq->attr_or("type"), "result") << to_xml(*page1.iq);
  EXPECT_EQ(page1.bodies, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(page1.ids, (std::vector<std::string>{ids[0], ids[1]}));
  EXPECT_EQ(page1.from[0], occ("log", "alice"));
  EXPECT_FALSE(page1.complete());
  auto page2 = room_query(*bob, "log",
                          "<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><after>" +
                              ids[1] + "</after></set>");
  EXPECT_EQ(page2.bodies, (std::vector<std::string>{"find the needle", "four", "five"}));
  EXPECT_TRUE(page2.complete());
  auto found = room_query(*bob, "log",
                          "<x xmlns='jabber:x:data' type='submit'>" + field("FORM_TYPE", "urn:xmpp:mam:2") +
                              "<field var='{urn:xmpp:fulltext:0}fulltext'><value>needle</value></field></x>");
  EXPECT_EQ(found.ids, std::vector<std::string>{ids[2]});
  // Not for outsiders.
  auto outsider = room_query(*carol, "log", "");
  ASSERT_TRUE(outsider.iq);
  EXPECT_EQ(error_condition(*outsider.iq), "forbidden");
  EXPECT_TRUE(outsider.ids.empty());
  // A destroyed room takes its archive with it: a new room of the same name starts empty.
  ASSERT_EQ(alice->iq("<iq type='set' id='d' to='" + room_jid("log") +
                      "'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>")
                ->attr_or("type"),
            "result");
  create(*carol, "log", "carol");
  auto fresh = room_query(*carol, "log", "");
  ASSERT_TRUE(fresh.iq);
  EXPECT_EQ(fresh.iq->attr_or("type"), "result");
  EXPECT_TRUE(fresh.ids.empty());
}

TEST_F(MucHistory, ModerationAndRetractionLeaveTombstones) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  create(*alice, "mod", "alice", open_room());
  ASSERT_TRUE(join(*bob, "mod", "bob"));
  ASSERT_TRUE(join(*carol, "mod", "carol"));
  std::map<std::string, std::string> sid;
  auto post = [&](XmppClient& c, const std::string& body) {
    say(c, "mod", body);
    auto m = alice->expect(groupchat_body(body));
    ASSERT_TRUE(m);
    sid[body] = m->child("stanza-id", kSid)->attr_or("id");
  };
  post(*bob, "spam here");
  post(*bob, "oops");
  post(*alice, "keep");
  const std::string retract_ns = "urn:xmpp:message-retract:1";
  // Bob retracts his own message; Carol tries to retract Alice's.
  bob->send("<message to='" + room_jid("mod") + "' type='groupchat'><retract xmlns='" + retract_ns +
            "' id='" + sid["oops"] + "'/></message>");
  carol->send("<message to='" + room_jid("mod") + "' type='groupchat'><retract xmlns='" + retract_ns +
              "' id='" + sid["keep"] + "'/></message>");
  // Only moderators moderate.
  const std::string moderate = "<moderate xmlns='urn:xmpp:message-moderate:1' id='" + sid["spam here"] +
                               "'><retract xmlns='" + retract_ns + "'/><reason>spam</reason></moderate>";
  auto nope = bob->iq("<iq type='set' id='m0' to='" + room_jid("mod") + "'>" + moderate + "</iq>");
  ASSERT_TRUE(nope);
  EXPECT_EQ(error_condition(*nope), "forbidden");
  auto done = alice->iq("<iq type='set' id='m1' to='" + room_jid("mod") + "'>" + moderate + "</iq>");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->attr_or("type"), "result") << to_xml(*done);
  for (XmppClient* c : {alice.get(), bob.get(), carol.get()}) {
    auto notice = c->expect([&](const xml::Element& el) {
      const xml::Element* r = el.child("retract", retract_ns);
      return el.name() == "message" && r && r->child("moderated", "urn:xmpp:message-moderate:1");
    });
    ASSERT_TRUE(notice);
    EXPECT_EQ(notice->attr_or("from"), room_jid("mod"));
    const xml::Element* r = notice->child("retract", retract_ns);
    EXPECT_EQ(r->attr_or("id"), sid["spam here"]);
    EXPECT_EQ(r->child("moderated", "urn:xmpp:message-moderate:1")->attr_or("by"), occ("mod", "alice"));
    EXPECT_EQ(r->child_text("reason", "urn:xmpp:message-moderate:1"), "spam");
  }
  auto unknown = alice->iq("<iq type='set' id='m2' to='" + room_jid("mod") +
                           "'><moderate xmlns='urn:xmpp:message-moderate:1' id='nosuch'><retract xmlns='" +
                           retract_ns + "'/></moderate></iq>");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(error_condition(*unknown), "item-not-found");

  // The archive: tombstones in place, Alice's message untouched, nothing left to find.
  RoomQuery r;
  for (int i = 0; i < 30; ++i) {
    r = room_query(*alice, "mod", "");
    if (r.bodies.size() >= 3 && r.bodies[1] == "") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GE(r.ids.size(), 3u);
  EXPECT_EQ(r.ids[0], sid["spam here"]);
  EXPECT_EQ(r.bodies[0], "");
  EXPECT_EQ(r.ids[1], sid["oops"]);
  EXPECT_EQ(r.bodies[1], "");
  EXPECT_EQ(r.ids[2], sid["keep"]);
  EXPECT_EQ(r.bodies[2], "keep");
  auto search = room_query(*alice, "mod",
                           "<x xmlns='jabber:x:data' type='submit'>" + field("FORM_TYPE", "urn:xmpp:mam:2") +
                               "<field var='{urn:xmpp:fulltext:0}fulltext'><value>spam</value></field></x>");
  EXPECT_TRUE(search.ids.empty());
  // History on join no longer has them.
  auto dave = login("dave");
  ASSERT_TRUE(join(*dave, "mod", "dave"));
  EXPECT_EQ(history_bodies(*dave, "mod"), std::vector<std::string>{"keep"});
}

class MucRetention : public MucTest {
 protected:
  static TestServerOptions options() {
    TestServerOptions o;
    o.extra_config = "[modules.muc]\narchive_retention_days = 2\n";
    return o;
  }
  MucRetention() : MucTest(options()) {}
};

TEST_F(MucRetention, RoomArchiveMessagesPastRetentionAreDeleted) {
  {
    auto alice = login("alice");
    create(*alice, "old", "alice");
    say(*alice, "old", "recent");
    ASSERT_TRUE(alice->expect(groupchat_body("recent")));
    ASSERT_EQ(room_query(*alice, "old", "").ids.size(), 1u);
  }
  server_.stop();
  {
    auto store = server_.open_storage();
    storage::ArchiveEntry e;
    e.id = "ancient";
    e.stamp = storage::Clock::now() - std::chrono::hours(24 * 3);
    e.with_bare = room_jid("old");
    e.stanza_xml = "<message xmlns='jabber:client' type='groupchat' from='" + occ("old", "alice") +
                   "'><body>three days old</body></message>";
    e.body = "three days old";
    store->archive().append({kService, "old"}, e);
    ASSERT_EQ(store->archive().count({kService, "old"}), 2u);
  }
  server_.start();  // expiry runs at start
  auto alice = login("alice");
  RoomQuery r;
  for (int i = 0; i < 50; ++i) {
    r = room_query(*alice, "old", "");
    if (r.ids.size() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(r.bodies, std::vector<std::string>{"recent"});
}

// The default cap, for real: 256 connections join, the 257th is refused.
class MucFull : public MucTest {
 protected:
  static TestServerOptions options() {
    TestServerOptions o;
    o.limits =
        "max_connections_per_address = 2000\n"
        "new_connections_per_address_per_second = 100000\n"
        "new_connections_per_address_burst = 100000\n";
    return o;
  }
  MucFull() : MucTest(options()) {}
};

TEST_F(MucFull, The257thJoinIsRefused) {
  const auto started = std::chrono::steady_clock::now();
  {
    auto store = server_.open_storage();
    const auto cred1 = sasl::make_credential(sasl::Hash::Sha1, "pw", 4096);
    const auto cred256 = sasl::make_credential(sasl::Hash::Sha256, "pw", 4096);
    for (int i = 0; i < 257; ++i) {
      storage::Account a;
      a.key = {"localhost", "u" + std::to_string(i)};
      a.created = storage::Clock::now();
      a.credentials = {cred1, cred256};
      ASSERT_TRUE(store->accounts().create(a));
    }
  }
  auto alice = login("alice");
  create(*alice, "big", "alice", open_room());  // alice is occupant 1
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 255; ++i) {
    auto c = std::make_unique<RawClient>(server_.c2s_port());
    const std::string user = "u" + std::to_string(i);
    ASSERT_TRUE(raw_login(*c, user, "pw")) << user;
    ASSERT_FALSE(raw_bind(*c, "r").empty()) << user;
    c->clear();
    c->send("<presence to='" + occ("big", user) + "'><x xmlns='http://jabber.org/protocol/muc'>"
            "<history maxstanzas='0'/></x></presence>");
    clients.push_back(std::move(c));
  }
  for (size_t i = 0; i < clients.size(); ++i)
    ASSERT_TRUE(clients[i]->read_until("code='110'", 15s))
        << "u" << i << ": " << clients[i]->received().substr(0, 500);
  auto last = login("u256");
  auto refused = join(*last, "big", "u256");
  ASSERT_TRUE(refused);
  EXPECT_EQ(error_condition(*refused), "service-unavailable") << to_xml(*refused);
  const auto took = std::chrono::steady_clock::now() - started;
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(took, 90s);  // AddressSanitizer builds run several times slower
#else
  EXPECT_LT(took, 20s);
#endif
  std::cerr << "filling 256 took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
}

}  // namespace
}  // namespace parley::test::muc

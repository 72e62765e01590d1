// Members who are not joined: the RoomMessageForAbsentMember event (for a
// future push module, XEP-0357) fires once per absent member for each
// groupchat message with a body, and never for joined members (from any of
// their clients), outcasts or non-members, nor for subject changes, chat
// states or private messages. parleyd-test's hook recorder writes the events
// down (TestServerOptions::test_modules).
#include <algorithm>
#include <thread>

#include "modules/muc/muc_support.hpp"

namespace parley::test::muc {
namespace {

struct Recorded {
  std::string room, member, from, to, body, stanza_id, stanza_id_by;
};

class MucAbsent : public MucTest {
 protected:
  static TestServerOptions options() {
    TestServerOptions o;
    o.test_modules = true;
    return o;
  }
  MucAbsent() : MucTest(options()) {}

  std::vector<Recorded> events() const {
    std::vector<Recorded> out;
    for (const std::string& line : server_.hook_events()) {
      auto e = parse_xml(line);
      if (!e || e->attr_or("type") != "RoomMessageForAbsentMember") continue;
      Recorded r{e->attr_or("room"), e->attr_or("member"), {}, {}, {}, {}, {}};
      if (const xml::Element* m = e->child("message", "jabber:client")) {
        r.from = m->attr_or("from");
        r.to = m->attr_or("to");
        r.body = m->child_text("body");
        if (const xml::Element* sid = m->child("stanza-id", kSid)) {
          r.stanza_id = sid->attr_or("id");
          r.stanza_id_by = sid->attr_or("by");
        }
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  // Waits until `n` events were recorded, then a little longer to catch
  // any that should not have been.
  std::vector<Recorded> events_after(size_t n) const {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (events().size() < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    std::this_thread::sleep_for(300ms);
    return events();
  }

  static std::vector<std::string> members(const std::vector<Recorded>& evs, size_t from = 0) {
    std::vector<std::string> out;
    for (size_t i = from; i < evs.size(); ++i) out.push_back(evs[i].member);
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(MucAbsent, EachAbsentMemberGetsOneEventWithTheArchivedMessage) {
  server_.create_user("frank", "pw");
  auto alice = login("alice");
  create(*alice, "team", "alice", open_room());
  for (const auto& [jid, aff] :
       std::vector<std::pair<std::string, std::string>>{{"bob@localhost", "member"},
                                                        {"carol@localhost", "member"},
                                                        {"dave@localhost", "admin"},
                                                        {"eve@localhost", "outcast"}}) {
    auto r = admin(*alice, "team", aff_item(jid, aff));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  }
  // Bob is joined from his desktop; his phone is online but not in the room.
  auto bob = login("bob", "desktop");
  auto bob_phone = login("bob", "phone");
  ASSERT_EQ(join(*bob, "team", "bob")->attr_or("type"), "");
  // Dave (admin) is online without joining; Carol (member) is offline.
  auto dave = login("dave");
  // Frank is no member: joined, then gone.
  auto frank = login("frank");
  ASSERT_EQ(join(*frank, "team", "frank")->attr_or("type"), "");
  frank->send("<presence to='" + occ("team", "frank") + "' type='unavailable'/>");
  ASSERT_TRUE(alice->expect(presence_from(occ("team", "frank"), "unavailable")));

  say(*alice, "team", "first");
  auto got = bob->expect(groupchat_body("first"));
  ASSERT_TRUE(got);
  const xml::Element* sid = got->child("stanza-id", kSid);
  ASSERT_TRUE(sid);

  auto evs = events_after(2);
  ASSERT_EQ(members(evs), (std::vector<std::string>{"carol@localhost", "dave@localhost"}));
  for (const auto& e : evs) {
    EXPECT_EQ(e.room, room_jid("team"));
    EXPECT_EQ(e.body, "first");
    EXPECT_EQ(e.from, occ("team", "alice"));
    EXPECT_EQ(e.to, "");
    EXPECT_EQ(e.stanza_id, sid->attr_or("id"));
    EXPECT_EQ(e.stanza_id_by, room_jid("team"));
  }
  // The id is the archive's: a member catching up finds the message under it.
  auto page = alice->iq("<iq type='set' id='mam1' to='" + room_jid("team") +
                        "'><query xmlns='urn:xmpp:mam:2' queryid='q1'/></iq>");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->attr_or("type"), "result") << to_xml(*page);
  auto archived = alice->expect(
      [](const xml::Element& el) { return el.child("result", "urn:xmpp:mam:2") != nullptr; });
  ASSERT_TRUE(archived);
  EXPECT_EQ(archived->child("result", "urn:xmpp:mam:2")->attr_or("id"), sid->attr_or("id"));

  // No event for what has no body: a subject change, a chat state; nor for
  // a private message.
  alice->send("<message to='" + room_jid("team") +
              "' type='groupchat'><subject>Plans</subject></message>");
  ASSERT_TRUE(
      bob->expect([](const xml::Element& el) { return el.child_text("subject") == "Plans"; }));
  alice->send(
      "<message to='" + room_jid("team") +
      "' type='groupchat'><active xmlns='http://jabber.org/protocol/chatstates'/></message>");
  ASSERT_TRUE(bob->expect([](const xml::Element& el) {
    return el.child("active", "http://jabber.org/protocol/chatstates") != nullptr;
  }));
  alice->send("<message to='" + occ("team", "bob") + "' type='chat'><body>psst</body></message>");
  ASSERT_TRUE(bob->expect(has_body("psst")));
  EXPECT_EQ(events_after(3).size(), 2u);

  // Carol joins: the next message is for Dave alone.
  auto carol = login("carol");
  ASSERT_EQ(join(*carol, "team", "carol")->attr_or("type"), "");
  say(*alice, "team", "second");
  ASSERT_TRUE(carol->expect(groupchat_body("second")));
  evs = events_after(3);
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[2].member, "dave@localhost");
  EXPECT_EQ(evs[2].body, "second");
  // Nobody who was absent got the message itself.
  EXPECT_TRUE(dave->nothing(groupchat_body("second"), 200ms));
  EXPECT_TRUE(bob_phone->nothing(groupchat_body("first"), 100ms));
}

}  // namespace
}  // namespace parley::test::muc

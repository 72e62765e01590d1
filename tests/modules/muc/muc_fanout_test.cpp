// A room's fan-out is prepared once (Router::fan_out, SharedStanza): every
// occupant session still gets the message addressed to itself, with no
// stanza-id but the room's, also when stream management replays it and when
// client state indication holds it back.
#include <regex>
#include <thread>

#include "muc_support.hpp"

namespace parley::test::muc {
namespace {

using namespace std::chrono_literals;

class MucFanOut : public MucTest {};

TEST_F(MucFanOut, EverySessionGetsTheMessageAddressedToItself) {
  auto alice_phone = login("alice", "phone");
  auto alice_desk = login("alice", "desk");
  auto bob = login("bob");
  auto carol = login("carol");
  create(*alice_phone, "team", "alice", open_room());
  ASSERT_TRUE(join(*alice_desk, "team", "alice"));
  ASSERT_TRUE(join(*bob, "team", "bob"));
  ASSERT_TRUE(join(*carol, "team", "carol"));

  // Stanza-ids claiming to be carol's or bob's own server's are forgeries:
  // only the room's reaches anyone.
  say(*bob, "team", "to everyone",
      "<stanza-id xmlns='urn:xmpp:sid:0' by='carol@localhost' id='forged-carol'/>"
      "<stanza-id xmlns='urn:xmpp:sid:0' by='bob@localhost' id='forged-bob'/>");
  for (XmppClient* c : {alice_phone.get(), alice_desk.get(), bob.get(), carol.get()}) {
    auto m = c->expect(groupchat_body("to everyone"));
    ASSERT_TRUE(m) << c->bound_jid();
    EXPECT_EQ(m->attr_or("to"), c->bound_jid());
    EXPECT_EQ(m->attr_or("from"), occ("team", "bob"));
    auto sids = m->children("stanza-id", kSid);
    ASSERT_EQ(sids.size(), 1u) << to_xml(*m);
    EXPECT_EQ(sids[0]->attr_or("by"), room_jid("team"));
    EXPECT_TRUE(c->nothing(groupchat_body("to everyone"), 200ms)) << "exactly one copy";
  }
}

TEST_F(MucFanOut, AHeldBackRoomChatStateIsAddressedWhenItComes) {
  auto alice = login("alice");
  auto bob = login("bob");
  create(*alice, "team", "alice", open_room());
  ASSERT_TRUE(join(*bob, "team", "bob"));
  bob->drain(200ms);
  bob->send("<inactive xmlns='urn:xmpp:csi:0'/>");
  alice->send("<message to='" + room_jid("team") +
              "' type='groupchat'><composing xmlns='http://jabber.org/protocol/chatstates'/>"
              "</message>");
  auto composing = [](const xml::Element& el) {
    return el.name() == "message" &&
           el.child("composing", "http://jabber.org/protocol/chatstates") != nullptr;
  };
  EXPECT_TRUE(bob->nothing(composing, 800ms)) << "a chat state waits while bob is inactive";
  bob->send("<active xmlns='urn:xmpp:csi:0'/>");
  auto held = bob->expect(composing);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->attr_or("to"), bob->bound_jid());
  EXPECT_EQ(held->attr_or("from"), occ("team", "alice"));
}

// Everything after `needle`'s last start tag, up to the needle.
std::string start_tag_before(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  if (at == std::string::npos) return {};
  const size_t open = text.rfind("<message", at);
  if (open == std::string::npos) return {};
  return text.substr(open, text.find('>', open) - open + 1);
}

TEST_F(MucFanOut, AnUnacknowledgedRoomMessageIsReplayedAddressedOnResumption) {
  auto bob = login("bob");
  create(*bob, "team", "bob", open_room());
  std::string sm_id;
  {
    RawClient phone(server_.c2s_port());
    ASSERT_TRUE(raw_login(phone, "alice", "pw"));
    ASSERT_EQ(raw_bind(phone, "phone"), "alice@localhost/phone");
    phone.clear();
    phone.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    ASSERT_TRUE(phone.read_until("<enabled")) << phone.received();
    ASSERT_TRUE(phone.read_until("/>"));
    std::smatch m;
    const std::string enabled = phone.received();
    ASSERT_TRUE(std::regex_search(enabled, m, std::regex("<enabled[^>]*\\bid='([^']*)'")));
    sm_id = m[1].str();
    phone.send("<presence/><presence to='" + occ("team", "alice") +
               "'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
    ASSERT_TRUE(phone.read_until("status code='110'")) << phone.received();
    say(*bob, "team", "while-you-were-away");
    ASSERT_TRUE(phone.read_until("while-you-were-away")) << phone.received();
    const std::string tag = start_tag_before(phone.received(), "while-you-were-away");
    EXPECT_NE(tag.find("to='alice@localhost/phone'"), std::string::npos) << tag;
  }  // dropped without acknowledging anything
  // The session waits for resumption and still takes the room's messages.
  std::this_thread::sleep_for(300ms);
  say(*bob, "team", "while-hibernated");
  ASSERT_TRUE(bob->expect(groupchat_body("while-hibernated")));
  RawClient again(server_.c2s_port());
  ASSERT_TRUE(raw_login(again, "alice", "pw"));
  again.clear();
  again.send("<resume xmlns='urn:xmpp:sm:3' previd='" + sm_id + "' h='0'/>");
  ASSERT_TRUE(again.read_until("<resumed")) << again.received();
  ASSERT_TRUE(again.read_until("while-you-were-away")) << again.received();
  const std::string tag = start_tag_before(again.received(), "while-you-were-away");
  EXPECT_NE(tag.find("type='groupchat'"), std::string::npos) << tag;
  EXPECT_NE(tag.find("to='alice@localhost/phone'"), std::string::npos) << tag;
  ASSERT_TRUE(again.read_until("while-hibernated")) << again.received();
  const std::string later = start_tag_before(again.received(), "while-hibernated");
  EXPECT_NE(later.find("to='alice@localhost/phone'"), std::string::npos) << later;
  EXPECT_LT(again.received().find("while-you-were-away"),
            again.received().find("while-hibernated"));
  // And alice is still in the room: the next message arrives live.
  say(*bob, "team", "after-resumption");
  EXPECT_TRUE(again.read_until("after-resumption")) << again.received();
}

}  // namespace
}  // namespace parley::test::muc

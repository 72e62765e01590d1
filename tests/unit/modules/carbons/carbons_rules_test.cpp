#include "modules/carbons/carbons_rules.hpp"

#include <gtest/gtest.h>

#include "xmpp/xml/fragment.hpp"

namespace parley::carbons {
namespace {

xml::Element parse(const std::string& text) {
  auto el = xml::parse_fragment("<wrapper xmlns='jabber:client'>" + text + "</wrapper>");
  EXPECT_TRUE(el) << text;
  return *el->element_children().front();
}

TEST(CarbonsRules, ChatAndNormalWithBodyOrImPayloadAreEligible) {
  EXPECT_TRUE(eligible(parse("<message type='chat'/>")));
  EXPECT_TRUE(
      eligible(parse("<message type='chat'><composing "
                     "xmlns='http://jabber.org/protocol/chatstates'/></message>")));
  EXPECT_TRUE(eligible(parse("<message><body>hi</body></message>")));
  EXPECT_TRUE(
      eligible(parse("<message type='normal'><received xmlns='urn:xmpp:receipts' "
                     "id='1'/></message>")));
  EXPECT_TRUE(
      eligible(parse("<message><displayed xmlns='urn:xmpp:chat-markers:0' "
                     "id='1'/></message>")));
  EXPECT_TRUE(
      eligible(parse("<message><retract xmlns='urn:xmpp:message-retract:1' "
                     "id='1'/></message>")));
  EXPECT_TRUE(
      eligible(parse("<message><replace xmlns='urn:xmpp:message-correct:0' "
                     "id='1'/></message>")));
  EXPECT_TRUE(
      eligible(parse("<message><reactions xmlns='urn:xmpp:reactions:0' "
                     "id='1'/></message>")));
  EXPECT_TRUE(
      eligible(parse("<message><propose xmlns='urn:xmpp:jingle-message:0' "
                     "id='1'/></message>")));
}

TEST(CarbonsRules, OtherMessagesAreNot) {
  EXPECT_FALSE(eligible(parse("<message/>")));
  EXPECT_FALSE(
      eligible(parse("<message><event xmlns='http://jabber.org/protocol/pubsub#event'/>"
                     "</message>")));
  EXPECT_FALSE(eligible(parse("<message type='error'><body>x</body></message>")));
  EXPECT_FALSE(eligible(parse("<message type='groupchat'><body>x</body></message>")));
  EXPECT_FALSE(eligible(parse("<message type='headline'><body>x</body></message>")));
  // MUC private messages and mediated invitations (§6).
  EXPECT_FALSE(
      eligible(parse("<message type='chat'><body>x</body><x "
                     "xmlns='http://jabber.org/protocol/muc#user'/></message>")));
  EXPECT_FALSE(eligible(parse("<presence/>")));
}

TEST(CarbonsRules, PrivateAndNoCopyOptOut) {
  EXPECT_TRUE(opted_out(parse("<message><private xmlns='urn:xmpp:carbons:2'/></message>")));
  EXPECT_TRUE(opted_out(parse("<message><no-copy xmlns='urn:xmpp:hints'/></message>")));
  EXPECT_FALSE(opted_out(parse("<message><private xmlns='urn:xmpp:carbons:1'/></message>")));
  EXPECT_FALSE(opted_out(parse("<message><no-store xmlns='urn:xmpp:hints'/></message>")));
  xml::Element m = parse("<message><body>x</body><private xmlns='urn:xmpp:carbons:2'/></message>");
  strip_private(m);
  EXPECT_FALSE(opted_out(m));
  EXPECT_EQ(m.child_text("body"), "x");
}

TEST(CarbonsRules, ForgedCopiesOfEveryVersionAreStripped) {
  xml::Element m = parse(
      "<message><body>keep</body><received xmlns='urn:xmpp:carbons:2'/>"
      "<sent xmlns='urn:xmpp:carbons:1'/><received xmlns='urn:xmpp:receipts' id='1'/></message>");
  EXPECT_EQ(strip_forged(m), 2u);
  EXPECT_EQ(m.child_text("body"), "keep");
  EXPECT_NE(m.child("received", "urn:xmpp:receipts"), nullptr);
  EXPECT_EQ(strip_forged(m), 0u);
}

TEST(CarbonsRules, WrapAndUnwrap) {
  const Jid owner = *Jid::parse("romeo@montague.example");
  const Jid to = *Jid::parse("romeo@montague.example/home");
  xml::Element original = parse(
      "<message from='juliet@capulet.example/balcony' to='romeo@montague.example/garden' "
      "type='chat'><body>hi</body></message>");
  xml::Element copy = wrap(Direction::Received, original, owner, to);
  EXPECT_EQ(copy.attr_or("from"), "romeo@montague.example");
  EXPECT_EQ(copy.attr_or("to"), "romeo@montague.example/home");
  EXPECT_EQ(copy.attr_or("type"), "chat");
  const xml::Element* inner = unwrap(copy, owner);
  ASSERT_NE(inner, nullptr);
  EXPECT_EQ(inner->attr_or("from"), "juliet@capulet.example/balcony");
  EXPECT_EQ(inner->child_text("body"), "hi");
  EXPECT_EQ(unwrap(wrap(Direction::Sent, original, owner, to), owner)->child_text("body"), "hi");
  // Only the owner's bare JID makes a copy genuine.
  EXPECT_EQ(unwrap(copy, *Jid::parse("juliet@capulet.example")), nullptr);
  copy.set_attr("from", "romeo@montague.example/home");
  EXPECT_EQ(unwrap(copy, owner), nullptr);
  EXPECT_EQ(unwrap(original, owner), nullptr);
}

}  // namespace
}  // namespace parley::carbons

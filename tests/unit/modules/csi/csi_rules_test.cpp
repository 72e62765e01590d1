#include "modules/csi/csi_rules.hpp"

#include <gtest/gtest.h>

#include "modules/carbons/carbons_rules.hpp"
#include "xmpp/xml/fragment.hpp"

namespace parley::csi {
namespace {

xml::Element parse(const std::string& text) {
  auto el = xml::parse_fragment("<wrapper xmlns='jabber:client'>" + text + "</wrapper>");
  EXPECT_TRUE(el) << text;
  return *el->element_children().front();
}

const Jid kOwner = *Jid::parse("bob@example.com");

Importance of(const std::string& xml) {
  return classify(parse(xml), kOwner);
}

TEST(CsiRules, PresenceUpdatesAreHeldSubscriptionsAreNot) {
  EXPECT_EQ(of("<presence from='a@x/r'/>"), Importance::Presence);
  EXPECT_EQ(of("<presence from='a@x/r' type='unavailable'/>"), Importance::Presence);
  EXPECT_EQ(of("<presence from='a@x' type='subscribe'/>"), Importance::Urgent);
  EXPECT_EQ(of("<presence from='a@x' type='error'/>"), Importance::Urgent);
}

TEST(CsiRules, ChatStatesAloneAreDeferred) {
  const std::string cs = "xmlns='http://jabber.org/protocol/chatstates'";
  EXPECT_EQ(of("<message type='chat'><composing " + cs + "/></message>"), Importance::Deferred);
  EXPECT_EQ(
      of("<message type='chat'><paused " + cs +
         "/><thread>t</thread><no-store "
         "xmlns='urn:xmpp:hints'/><stanza-id xmlns='urn:xmpp:sid:0' id='1' by='x'/></message>"),
      Importance::Deferred);
  EXPECT_EQ(of("<message type='chat'><body>hi</body><active " + cs + "/></message>"),
            Importance::Urgent);
  EXPECT_EQ(
      of("<message type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='c'/></message>"),
      Importance::Urgent);
  EXPECT_EQ(of("<message type='chat'><received xmlns='urn:xmpp:receipts' id='1'/></message>"),
            Importance::Urgent);
  EXPECT_EQ(of("<message type='error'><composing " + cs + "/></message>"), Importance::Urgent);
  EXPECT_EQ(of("<message/>"), Importance::Urgent);
  EXPECT_EQ(of("<iq type='get' id='1'/>"), Importance::Urgent);
}

TEST(CsiRules, ARoomsChatStatesAreDeferredDespiteTheRoomsStamps) {
  EXPECT_EQ(of("<message type='groupchat' from='room@conference.x/alice'><composing "
               "xmlns='http://jabber.org/protocol/chatstates'/><stanza-id xmlns='urn:xmpp:sid:0' "
               "id='1' by='room@conference.x'/><occupant-id xmlns='urn:xmpp:occupant-id:0' "
               "id='o'/></message>"),
            Importance::Deferred);
  EXPECT_EQ(of("<message type='groupchat' from='room@conference.x/alice'><body>hi</body>"
               "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='o'/></message>"),
            Importance::Urgent);
}

TEST(CsiRules, CarbonCopiesAreJudgedByWhatTheyCarry) {
  const Jid to = *Jid::parse("bob@example.com/phone");
  xml::Element state = parse(
      "<message from='alice@x/r' type='chat'><composing "
      "xmlns='http://jabber.org/protocol/chatstates'/></message>");
  xml::Element body = parse("<message from='alice@x/r' type='chat'><body>hi</body></message>");
  EXPECT_EQ(classify(carbons::wrap(carbons::Direction::Received, state, kOwner, to), kOwner),
            Importance::Deferred);
  EXPECT_EQ(classify(carbons::wrap(carbons::Direction::Sent, body, kOwner, to), kOwner),
            Importance::Urgent);
}

}  // namespace
}  // namespace parley::csi

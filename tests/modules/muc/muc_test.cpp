// Multi-user chat (XEP-0045) end to end with real clients: the service on
// conference.localhost and its disco, instant rooms (locked until the owner
// configures them), joins with their status codes and occupant-id
// (XEP-0421), groupchat fan-out, nickname conflicts and changes, leaving (by
// presence and by disconnecting), private messages, the subject, and the
// errors for hostile or mistaken stanzas.
#include <algorithm>

#include "modules/muc/muc_support.hpp"

namespace parley::test::muc {
namespace {

using Muc = MucTest;

TEST_F(Muc, ServiceIsDiscoverableAndListsPublicRooms) {
  auto alice = login("alice");
  auto items = disco(*alice, "localhost", kDiscoItems);
  ASSERT_TRUE(items);
  auto jids = item_jids(*items);
  EXPECT_NE(std::find(jids.begin(), jids.end(), kService), jids.end()) << to_xml(*items);

  auto info = disco(*alice, kService, kDiscoInfo);
  ASSERT_TRUE(info);
  ASSERT_EQ(info->attr_or("type"), "result") << to_xml(*info);
  const xml::Element* identity = info->child("query", kDiscoInfo)->child("identity", kDiscoInfo);
  ASSERT_TRUE(identity);
  EXPECT_EQ(identity->attr_or("category"), "conference");
  EXPECT_EQ(identity->attr_or("type"), "text");
  EXPECT_TRUE(has_feature(*info, kMuc));

  create(*alice, "hidden", "alice");
  create(*alice, "lobby", "alice",
         field("muc#roomconfig_publicroom", "1") + field("muc#roomconfig_roomname", "The Lobby"));
  auto rooms = disco(*alice, kService, kDiscoItems);
  ASSERT_TRUE(rooms);
  EXPECT_EQ(item_jids(*rooms), std::vector<std::string>{room_jid("lobby")}) << to_xml(*rooms);
  EXPECT_EQ(rooms->child("query", kDiscoItems)->child("item", kDiscoItems)->attr_or("name"),
            "The Lobby");

  // The room's own disco#info: the defaults for groups (DESIGN.md, issue 4).
  auto room = disco(*alice, room_jid("hidden"), kDiscoInfo);
  ASSERT_TRUE(room);
  ASSERT_EQ(room->attr_or("type"), "result") << to_xml(*room);
  for (const char* f : {kMuc, "muc_persistent", "muc_membersonly", "muc_nonanonymous",
                        "muc_hidden", "muc_unmoderated", "muc_unsecured", kOid})
    EXPECT_TRUE(has_feature(*room, f)) << f << " in " << to_xml(*room);

  auto none = disco(*alice, room_jid("nosuchroom"), kDiscoInfo);
  ASSERT_TRUE(none);
  EXPECT_EQ(error_condition(*none), "item-not-found") << to_xml(*none);
  // The service's items are not a room's: asking a room that does not
  // exist creates nothing.
  auto again = disco(*alice, kService, kDiscoItems);
  EXPECT_EQ(item_jids(*again).size(), 1u);
}

TEST_F(Muc, InstantRoomIsLockedUntilItsOwnerConfiguresIt) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto self = join(*alice, "den", "alice");
  ASSERT_TRUE(self);
  EXPECT_EQ(codes(*self), (std::set<int>{100, 110, 201})) << to_xml(*self);
  ASSERT_TRUE(item(*self));
  EXPECT_EQ(item(*self)->attr_or("affiliation"), "owner");
  EXPECT_EQ(item(*self)->attr_or("role"), "moderator");
  EXPECT_FALSE(oid(*self).empty());
  // The subject follows the join, even when there is none yet.
  auto subject = alice->expect([](const xml::Element& el) { return el.child("subject") != nullptr; });
  ASSERT_TRUE(subject);
  EXPECT_EQ(subject->attr_or("type"), "groupchat");

  auto refused = join(*bob, "den", "bob");
  ASSERT_TRUE(refused);
  EXPECT_EQ(error_condition(*refused), "item-not-found") << to_xml(*refused);

  // Only the owner may read or submit the configuration form.
  auto form = alice->iq("<iq type='get' id='f1' to='" + room_jid("den") +
                        "'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>");
  ASSERT_TRUE(form);
  ASSERT_EQ(form->attr_or("type"), "result") << to_xml(*form);
  const std::string form_xml = to_xml(*form);
  EXPECT_NE(form_xml.find("muc#roomconfig_maxusers"), std::string::npos);
  EXPECT_NE(form_xml.find("muc#roomconfig_whois"), std::string::npos);
  auto bob_form = configure(*bob, "den", open_room());
  ASSERT_TRUE(bob_form);
  EXPECT_EQ(error_condition(*bob_form), "item-not-found") << to_xml(*bob_form);

  auto ok = configure(*alice, "den", open_room());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->attr_or("type"), "result") << to_xml(*ok);
  auto bob_self = join(*bob, "den", "bob");
  ASSERT_TRUE(bob_self);
  EXPECT_EQ(codes(*bob_self), (std::set<int>{100, 110})) << to_xml(*bob_self);
  EXPECT_EQ(item(*bob_self)->attr_or("affiliation"), "none");
  EXPECT_EQ(item(*bob_self)->attr_or("role"), "participant");
  EXPECT_EQ(item(*bob_self)->attr_or("jid"), "bob@localhost/r");
  // Bob saw Alice first; Alice sees Bob, with his real JID (non-anonymous)
  // and the same occupant-id Bob was given.
  auto alice_seen = bob->expect(presence_from(occ("den", "alice")));
  ASSERT_TRUE(alice_seen);
  EXPECT_EQ(oid(*alice_seen), oid(*self));
  auto bob_seen = alice->expect(presence_from(occ("den", "bob")));
  ASSERT_TRUE(bob_seen);
  EXPECT_EQ(item(*bob_seen)->attr_or("jid"), "bob@localhost/r");
  EXPECT_EQ(oid(*bob_seen), oid(*bob_self));
  EXPECT_NE(oid(*bob_seen), oid(*self));
  EXPECT_TRUE(codes(*bob_seen).empty()) << to_xml(*bob_seen);
}

TEST_F(Muc, GroupchatReachesEveryOccupantWithRoomStamps) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  create(*alice, "team", "alice", open_room());
  auto bob_self = join(*bob, "team", "bob");
  ASSERT_TRUE(bob_self);
  ASSERT_TRUE(join(*carol, "team", "carol"));

  // A forged occupant-id and a forged room stanza-id are removed.
  say(*bob, "team", "hello all",
      "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/>"
      "<stanza-id xmlns='urn:xmpp:sid:0' by='team@conference.localhost' id='forged'/>");
  std::string id;
  for (XmppClient* c : {alice.get(), bob.get(), carol.get()}) {
    auto m = c->expect(groupchat_body("hello all"));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->attr_or("from"), occ("team", "bob"));
    EXPECT_EQ(oid(*m), oid(*bob_self)) << to_xml(*m);
    auto sids = m->children("stanza-id", kSid);
    ASSERT_EQ(sids.size(), 1u) << to_xml(*m);
    EXPECT_EQ(sids[0]->attr_or("by"), room_jid("team"));
    EXPECT_NE(sids[0]->attr_or("id"), "forged");
    if (id.empty()) id = sids[0]->attr_or("id");
    EXPECT_EQ(sids[0]->attr_or("id"), id) << "every occupant sees one stanza-id";
  }
}

TEST_F(Muc, ForgedRoomElementsInPresenceAreStripped) {
  auto alice = login("alice");
  auto bob = login("bob");
  create(*alice, "team", "alice", open_room());
  bob->send("<presence to='" + occ("team", "bob") +
            "'><x xmlns='http://jabber.org/protocol/muc'/><show>away</show>"
            "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator'/>"
            "<status code='201'/></x><occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/></presence>");
  auto self = bob->expect([](const xml::Element& el) { return el.name() == "presence" && codes(el).count(110); });
  ASSERT_TRUE(self);
  auto seen = alice->expect(presence_from(occ("team", "bob")));
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->child_text("show"), "away") << "the client's own payload stays";
  EXPECT_EQ(seen->children("x", kMucUser).size(), 1u) << to_xml(*seen);
  EXPECT_EQ(item(*seen)->attr_or("affiliation"), "none");
  EXPECT_EQ(item(*seen)->attr_or("role"), "participant");
  EXPECT_TRUE(codes(*seen).empty());
  EXPECT_EQ(seen->children("occupant-id", kOid).size(), 1u);
  EXPECT_NE(oid(*seen), "forged");
  EXPECT_EQ(oid(*seen), oid(*self));
  EXPECT_FALSE(codes(*self).count(201));
}

TEST_F(Muc, NonOccupantsCannotSendGroupchat) {
  auto alice = login("alice");
  auto dave = login("dave");
  create(*alice, "team", "alice", open_room());
  say(*dave, "team", "let me in");
  auto err = dave->expect(error_from(room_jid("team")));
  ASSERT_TRUE(err);
  EXPECT_EQ(error_condition(*err), "not-acceptable") << to_xml(*err);
  EXPECT_TRUE(alice->nothing(groupchat_body("let me in")));
  // A room that does not exist.
  say(*dave, "nowhere", "hello?");
  auto none = dave->expect(error_from(room_jid("nowhere")));
  ASSERT_TRUE(none);
  EXPECT_EQ(error_condition(*none), "item-not-found");
}

TEST_F(Muc, NicknameConflictAndChange) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  create(*alice, "team", "alice", open_room());
  ASSERT_TRUE(join(*bob, "team", "bob"));
  auto conflict = join(*carol, "team", "bob");
  ASSERT_TRUE(conflict);
  EXPECT_EQ(conflict->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*conflict), "conflict") << to_xml(*conflict);
  ASSERT_TRUE(join(*carol, "team", "carol"));
  ASSERT_TRUE(alice->expect(presence_from(occ("team", "carol"))));

  // Bob becomes "robert": unavailable with 303 and the new nick, then the new presence.
  bob->send("<presence to='" + occ("team", "robert") + "'/>");
  for (XmppClient* c : {alice.get(), carol.get(), bob.get()}) {
    auto gone = c->expect(presence_from(occ("team", "bob"), "unavailable"));
    ASSERT_TRUE(gone);
    EXPECT_TRUE(codes(*gone).count(303)) << to_xml(*gone);
    EXPECT_EQ(item(*gone)->attr_or("nick"), "robert");
    EXPECT_EQ(codes(*gone).count(110), c == bob.get() ? 1u : 0u);
    auto back = c->expect(presence_from(occ("team", "robert")));
    ASSERT_TRUE(back);
    EXPECT_EQ(codes(*back).count(110), c == bob.get() ? 1u : 0u);
  }
  // Changing to a taken nickname is refused and changes nothing.
  bob->send("<presence to='" + occ("team", "carol") + "'/>");
  auto err = bob->expect(presence_from(occ("team", "carol"), "error"));
  ASSERT_TRUE(err);
  EXPECT_EQ(error_condition(*err), "conflict");
  say(*bob, "team", "still robert");
  auto m = alice->expect(groupchat_body("still robert"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->attr_or("from"), occ("team", "robert"));
}

TEST_F(Muc, LeavingAndDisconnectingAreAnnounced) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  create(*alice, "team", "alice", open_room());
  ASSERT_TRUE(join(*bob, "team", "bob"));
  ASSERT_TRUE(join(*carol, "team", "carol"));

  bob->send("<presence to='" + occ("team", "bob") + "' type='unavailable'/>");
  auto self = bob->expect(presence_from(occ("team", "bob"), "unavailable"));
  ASSERT_TRUE(self);
  EXPECT_TRUE(codes(*self).count(110));
  EXPECT_EQ(item(*self)->attr_or("role"), "none");
  auto seen = alice->expect(presence_from(occ("team", "bob"), "unavailable"));
  ASSERT_TRUE(seen);
  EXPECT_FALSE(oid(*seen).empty());
  say(*alice, "team", "after bob");
  EXPECT_TRUE(bob->nothing(groupchat_body("after bob")));

  // Carol's connection goes away without a word.
  carol->disconnect();
  auto gone = alice->expect(presence_from(occ("team", "carol"), "unavailable"));
  ASSERT_TRUE(gone) << "the session's end takes its occupant out of the room";
  EXPECT_EQ(item(*gone)->attr_or("role"), "none");
  // The nickname is free again.
  auto carol2 = login("carol", "other");
  auto back = join(*carol2, "team", "carol");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->attr_or("type"), "") << to_xml(*back);
}

TEST_F(Muc, PrivateMessagesBetweenOccupants) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto dave = login("dave");
  create(*alice, "team", "alice", open_room());
  auto bob_self = join(*bob, "team", "bob");
  ASSERT_TRUE(bob_self);

  bob->send("<message to='" + occ("team", "alice") +
            "' type='chat' id='pm1'><body>psst</body>"
            "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/></message>");
  auto pm = alice->expect(has_body("psst"));
  ASSERT_TRUE(pm);
  EXPECT_EQ(pm->attr_or("from"), occ("team", "bob"));
  EXPECT_EQ(pm->attr_or("type"), "chat");
  EXPECT_TRUE(pm->child("x", kMucUser)) << to_xml(*pm);
  EXPECT_EQ(oid(*pm), oid(*bob_self));
  // Unknown nickname.
  bob->send("<message to='" + occ("team", "nobody") + "' type='chat'><body>hi</body></message>");
  auto unknown = bob->expect(error_from(occ("team", "nobody")));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(error_condition(*unknown), "item-not-found");
  // From someone who is not in the room.
  dave->send("<message to='" + occ("team", "alice") + "' type='chat'><body>hi</body></message>");
  auto outsider = dave->expect(error_from(occ("team", "alice")));
  ASSERT_TRUE(outsider);
  EXPECT_EQ(error_condition(*outsider), "not-acceptable");
  EXPECT_TRUE(alice->nothing(has_body("hi")));
  // A private message of type groupchat.
  bob->send("<message to='" + occ("team", "alice") + "' type='groupchat'><body>x</body></message>");
  auto wrong = bob->expect(error_from(occ("team", "alice")));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(error_condition(*wrong), "bad-request");
  // The owner turns private messages off.
  ASSERT_TRUE(configure(*alice, "team", field("muc#roomconfig_allowpm", "none")));
  bob->send("<message to='" + occ("team", "alice") + "' type='chat'><body>no pm</body></message>");
  auto off = bob->expect(error_from(occ("team", "alice")));
  ASSERT_TRUE(off);
  EXPECT_EQ(error_condition(*off), "not-allowed");
}

TEST_F(Muc, SubjectIsSetByModeratorsAndSentOnJoin) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  create(*alice, "team", "alice", open_room());
  ASSERT_TRUE(join(*bob, "team", "bob"));
  alice->send("<message to='" + room_jid("team") +
              "' type='groupchat'><subject>Plans for Friday</subject></message>");
  auto is_subject = [](const std::string& text) {
    return [text](const xml::Element& el) { return el.child_text("subject") == text && !el.child("body"); };
  };
  for (XmppClient* c : {alice.get(), bob.get()}) {
    auto s = c->expect(is_subject("Plans for Friday"));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->attr_or("from"), occ("team", "alice"));
  }
  // A participant may not change it (muc#roomconfig_changesubject is off).
  bob->send("<message to='" + room_jid("team") + "' type='groupchat'><subject>mine</subject></message>");
  auto err = bob->expect(error_from(room_jid("team")));
  ASSERT_TRUE(err);
  EXPECT_EQ(error_condition(*err), "forbidden");
  EXPECT_TRUE(alice->nothing(is_subject("mine")));
  // A newcomer gets the subject after the presences.
  carol->send("<presence to='" + occ("team", "carol") + "'><x xmlns='" + std::string(kMuc) + "'/></presence>");
  auto all = carol->drain(1000ms);
  size_t self_at = all.size(), subject_at = all.size();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].name() == "presence" && codes(all[i]).count(110)) self_at = i;
    if (all[i].child_text("subject") == "Plans for Friday") subject_at = i;
  }
  ASSERT_LT(self_at, all.size());
  ASSERT_LT(subject_at, all.size());
  EXPECT_LT(self_at, subject_at);
}

TEST_F(Muc, BadNicknamesAreRefused) {
  auto alice = login("alice");
  create(*alice, "team", "alice", open_room());
  auto bob = login("bob");
  const std::string long_nick(65, 'n');
  auto too_long = join(*bob, "team", long_nick);
  ASSERT_TRUE(too_long);
  EXPECT_EQ(error_condition(*too_long), "not-acceptable") << to_xml(*too_long);
  // No nickname at all: presence to the bare room JID.
  bob->send("<presence to='" + room_jid("team") + "'><x xmlns='" + std::string(kMuc) + "'/></presence>");
  auto bare = bob->expect(error_from(room_jid("team")));
  ASSERT_TRUE(bare);
  EXPECT_EQ(error_condition(*bare), "jid-malformed");
  // A nickname the JID rules refuse never reaches the room: the message
  // form gets jid-malformed from the server.
  bob->send("<message to='" + room_jid("team") + "/" + std::string(1100, 'x') +
            "' type='chat' id='big'><body>x</body></message>");
  auto malformed = bob->expect([](const xml::Element& el) {
    return el.name() == "message" && el.attr_or("type") == "error";
  });
  ASSERT_TRUE(malformed);
  EXPECT_EQ(error_condition(*malformed), "jid-malformed");
  // Nobody joined.
  auto items = alice->iq("<iq type='get' id='i' to='" + room_jid("team") +
                         "'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
  ASSERT_TRUE(items);
  EXPECT_EQ(item_jids(*items), std::vector<std::string>{occ("team", "alice")});
}

TEST_F(Muc, SelfPingAnswersWhetherStillJoined) {
  auto alice = login("alice");
  auto bob = login("bob");
  create(*alice, "team", "alice", open_room());
  auto ping = [](XmppClient& c, const std::string& to) {
    return c.iq("<iq type='get' id='" + c.next_id() + "' to='" + to + "'><ping xmlns='urn:xmpp:ping'/></iq>");
  };
  auto joined = ping(*alice, occ("team", "alice"));
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->attr_or("type"), "result") << to_xml(*joined);
  auto not_joined = ping(*bob, occ("team", "bob"));
  ASSERT_TRUE(not_joined);
  EXPECT_EQ(error_condition(*not_joined), "not-acceptable") << to_xml(*not_joined);
  EXPECT_TRUE(has_feature(*disco(*alice, room_jid("team"), kDiscoInfo),
                          "http://jabber.org/protocol/muc#self-ping-optimization"));
}

TEST_F(Muc, SeveralClientsOfOneUserShareANickname) {
  auto alice = login("alice");
  auto bob_phone = login("bob", "phone");
  auto bob_desk = login("bob", "desk");
  auto carol = login("carol");
  create(*alice, "team", "alice", open_room());
  ASSERT_EQ(join(*bob_phone, "team", "bob")->attr_or("type"), "");
  ASSERT_TRUE(alice->expect(presence_from(occ("team", "bob"))));
  // Bob's second client joins under the same nickname: it gets the room's
  // state, the others see nobody new.
  auto desk_self = join(*bob_desk, "team", "bob");
  ASSERT_TRUE(desk_self);
  EXPECT_EQ(desk_self->attr_or("type"), "") << to_xml(*desk_self);
  EXPECT_TRUE(bob_desk->expect(presence_from(occ("team", "alice"))));
  EXPECT_TRUE(alice->nothing(presence_from(occ("team", "bob")), 300ms));
  // Another user still cannot take the nickname.
  EXPECT_EQ(error_condition(*join(*carol, "team", "bob")), "conflict");
  // Both clients get the room's messages and private messages.
  say(*alice, "team", "to both");
  EXPECT_TRUE(bob_phone->expect(groupchat_body("to both")));
  EXPECT_TRUE(bob_desk->expect(groupchat_body("to both")));
  alice->send("<message to='" + occ("team", "bob") + "' type='chat'><body>pm both</body></message>");
  EXPECT_TRUE(bob_phone->expect(has_body("pm both")));
  EXPECT_TRUE(bob_desk->expect(has_body("pm both")));
  // One client leaving leaves the occupant in the room.
  bob_phone->send("<presence to='" + occ("team", "bob") + "' type='unavailable'/>");
  auto phone_gone = bob_phone->expect(presence_from(occ("team", "bob"), "unavailable"));
  ASSERT_TRUE(phone_gone);
  EXPECT_TRUE(codes(*phone_gone).count(110));
  EXPECT_TRUE(alice->nothing(presence_from(occ("team", "bob"), "unavailable"), 300ms));
  say(*alice, "team", "desk only");
  EXPECT_TRUE(bob_desk->expect(groupchat_body("desk only")));
  EXPECT_TRUE(bob_phone->nothing(groupchat_body("desk only"), 300ms));
  // The last one leaving is announced.
  bob_desk->disconnect();
  EXPECT_TRUE(alice->expect(presence_from(occ("team", "bob"), "unavailable")));
}

TEST_F(Muc, IqsToOccupantsAreForwardedAndOnlyTheirAnswersComeBack) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  auto dave = login("dave");
  create(*alice, "team", "alice", open_room());
  ASSERT_TRUE(join(*bob, "team", "bob"));
  ASSERT_TRUE(join(*carol, "team", "carol"));
  alice->send("<iq type='get' id='v1' to='" + occ("team", "bob") + "'><vCard xmlns='vcard-temp'/></iq>");
  auto asked = bob->expect([](const xml::Element& el) { return el.name() == "iq" && el.child("vCard", "vcard-temp"); });
  ASSERT_TRUE(asked);
  EXPECT_EQ(asked->attr_or("from"), occ("team", "alice")) << "the real JID stays hidden";
  EXPECT_EQ(asked->attr_or("type"), "get");
  const std::string fwd_id = asked->attr_or("id");
  EXPECT_NE(fwd_id, "v1");
  // An answer from anyone but Bob is dropped.
  carol->send("<iq type='result' id='" + fwd_id + "' to='" + occ("team", "alice") +
              "'><vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard></iq>");
  EXPECT_TRUE(alice->nothing(is_iq_id("v1"), 300ms));
  bob->send("<iq type='result' id='" + fwd_id + "' to='" + occ("team", "alice") +
            "'><vCard xmlns='vcard-temp'><FN>Bob</FN></vCard></iq>");
  auto answer = alice->expect(is_iq_id("v1"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->attr_or("type"), "result");
  EXPECT_EQ(answer->attr_or("from"), occ("team", "bob"));
  EXPECT_EQ(answer->child("vCard", "vcard-temp")->child_text("FN"), "Bob");
  // Outsiders and unknown nicknames.
  auto outsider = dave->iq("<iq type='get' id='d1' to='" + occ("team", "bob") + "'><vCard xmlns='vcard-temp'/></iq>");
  ASSERT_TRUE(outsider);
  EXPECT_EQ(error_condition(*outsider), "not-acceptable");
  auto nobody = alice->iq("<iq type='get' id='n1' to='" + occ("team", "nobody") + "'><vCard xmlns='vcard-temp'/></iq>");
  ASSERT_TRUE(nobody);
  EXPECT_EQ(error_condition(*nobody), "item-not-found");
}

}  // namespace
}  // namespace parley::test::muc

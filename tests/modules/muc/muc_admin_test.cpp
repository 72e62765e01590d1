// Multi-user chat administration (XEP-0045 §8-10): members-only and password
// rooms, kicks, bans enforced on rejoin, voice in moderated rooms, the
// affiliation lists and who may change them, semi-anonymous rooms, room
// destruction with an alternate venue, and the membership cap (256 by
// default: the next join gets service-unavailable, the member list stops
// growing).
#include "modules/muc/muc_support.hpp"

namespace parley::test::muc {
namespace {

using MucAdmin = MucTest;

TEST_F(MucAdmin, DefaultRoomIsPersistentMembersOnlyNonAnonymous) {
  auto alice = login("alice");
  auto self = join(*alice, "group", "alice");
  ASSERT_TRUE(self);
  auto form = alice->iq("<iq type='get' id='f' to='" + room_jid("group") +
                        "'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>");
  ASSERT_TRUE(form);
  const xml::Element* x = form->child("query", kMucOwner)->child("x", "jabber:x:data");
  ASSERT_TRUE(x);
  std::map<std::string, std::string> values;
  for (const xml::Element* f : x->children("field", "jabber:x:data"))
    values[f->attr_or("var")] = f->child_text("value", "jabber:x:data");
  EXPECT_EQ(values["muc#roomconfig_persistentroom"], "1");
  EXPECT_EQ(values["muc#roomconfig_membersonly"], "1");
  EXPECT_EQ(values["muc#roomconfig_whois"], "anyone");
  EXPECT_EQ(values["muc#roomconfig_maxusers"], "256");
  // Values out of range are refused and change nothing.
  auto bad = configure(*alice, "group", field("muc#roomconfig_maxusers", "257"));
  ASSERT_TRUE(bad);
  EXPECT_EQ(error_condition(*bad), "not-acceptable") << to_xml(*bad);
  auto bad2 = configure(*alice, "group", field("muc#roomconfig_passwordprotectedroom", "1"));
  ASSERT_TRUE(bad2);
  EXPECT_EQ(error_condition(*bad2), "not-acceptable") << "a password room needs a password";
  ASSERT_EQ(configure(*alice, "group", "")->attr_or("type"), "result");
}

TEST_F(MucAdmin, MembersOnlyRoomAdmitsMembersAndRemovesThemWhenRevoked) {
  auto alice = login("alice");
  auto bob = login("bob");
  create(*alice, "group", "alice");  // members-only by default
  auto refused = join(*bob, "group", "bob");
  ASSERT_TRUE(refused);
  EXPECT_EQ(error_condition(*refused), "registration-required") << to_xml(*refused);

  auto grant = admin(*alice, "group", aff_item("bob@localhost", "member"));
  ASSERT_TRUE(grant);
  ASSERT_EQ(grant->attr_or("type"), "result") << to_xml(*grant);
  auto self = join(*bob, "group", "bob");
  ASSERT_TRUE(self);
  EXPECT_EQ(item(*self)->attr_or("affiliation"), "member");
  EXPECT_EQ(item(*self)->attr_or("role"), "participant");

  auto list = admin(*alice, "group", "<item affiliation='member'/>", "get");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->attr_or("type"), "result") << to_xml(*list);
  auto items = list->child("query", kMucAdmin)->children("item", kMucAdmin);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]->attr_or("jid"), "bob@localhost");
  // Members may not read the lists.
  auto peek = admin(*bob, "group", "<item affiliation='member'/>", "get");
  ASSERT_TRUE(peek);
  EXPECT_EQ(error_condition(*peek), "forbidden");

  // Revoking membership removes him (status 321).
  ASSERT_EQ(admin(*alice, "group", aff_item("bob@localhost", "none"))->attr_or("type"), "result");
  for (XmppClient* c : {alice.get(), bob.get()}) {
    auto gone = c->expect(presence_from(occ("group", "bob"), "unavailable"));
    ASSERT_TRUE(gone);
    EXPECT_TRUE(codes(*gone).count(321)) << to_xml(*gone);
  }
  auto again = join(*bob, "group", "bob");
  ASSERT_TRUE(again);
  EXPECT_EQ(error_condition(*again), "registration-required");
}

TEST_F(MucAdmin, PasswordProtectedRoom) {
  auto alice = login("alice");
  auto bob = login("bob");
  create(*alice, "vault", "alice",
         open_room() + field("muc#roomconfig_passwordprotectedroom", "1") +
             field("muc#roomconfig_roomsecret", "s3cret"));
  auto none = join(*bob, "vault", "bob");
  ASSERT_TRUE(none);
  EXPECT_EQ(error_condition(*none), "not-authorized") << to_xml(*none);
  auto wrong = join(*bob, "vault", "bob", "<password>guess</password>");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(error_condition(*wrong), "not-authorized");
  auto right = join(*bob, "vault", "bob", "<password>s3cret</password>");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->attr_or("type"), "") << to_xml(*right);
  EXPECT_TRUE(has_feature(*disco(*bob, room_jid("vault"), kDiscoInfo), "muc_passwordprotected"));
}

TEST_F(MucAdmin, KickAndBanWithNotificationsBanEnforcedOnRejoin) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  create(*alice, "team", "alice", open_room());
  ASSERT_TRUE(join(*bob, "team", "bob"));
  ASSERT_TRUE(join(*carol, "team", "carol"));

  // A participant may not kick.
  auto nope = admin(*bob, "team", role_item("carol", "none"));
  ASSERT_TRUE(nope);
  EXPECT_EQ(error_condition(*nope), "forbidden");
  // Nobody kicks the owner.
  auto owner = admin(*alice, "team", role_item("alice", "none"));
  ASSERT_TRUE(owner);
  EXPECT_EQ(error_condition(*owner), "not-allowed");

  ASSERT_EQ(admin(*alice, "team", role_item("carol", "none", "be nice"))->attr_or("type"), "result");
  for (XmppClient* c : {alice.get(), bob.get(), carol.get()}) {
    auto kicked = c->expect(presence_from(occ("team", "carol"), "unavailable"));
    ASSERT_TRUE(kicked);
    EXPECT_TRUE(codes(*kicked).count(307)) << to_xml(*kicked);
    EXPECT_EQ(codes(*kicked).count(110), c == carol.get() ? 1u : 0u);
    EXPECT_EQ(item(*kicked)->child_text("reason", kMucUser), "be nice");
    EXPECT_EQ(item(*kicked)->child("actor", kMucUser)->attr_or("nick"), "alice");
  }
  // A kick is not a ban.
  ASSERT_EQ(join(*carol, "team", "carol")->attr_or("type"), "");

  ASSERT_EQ(admin(*alice, "team", aff_item("bob@localhost", "outcast", "spam"))->attr_or("type"), "result");
  for (XmppClient* c : {alice.get(), bob.get(), carol.get()}) {
    auto banned = c->expect(presence_from(occ("team", "bob"), "unavailable"));
    ASSERT_TRUE(banned);
    EXPECT_TRUE(codes(*banned).count(301)) << to_xml(*banned);
    EXPECT_EQ(item(*banned)->attr_or("affiliation"), "outcast");
  }
  auto rejoin = join(*bob, "team", "bob");
  ASSERT_TRUE(rejoin);
  EXPECT_EQ(error_condition(*rejoin), "forbidden") << to_xml(*rejoin);
  // From another resource too: a ban is on the bare JID.
  auto bob2 = login("bob", "other");
  auto rejoin2 = join(*bob2, "team", "bobby");
  ASSERT_TRUE(rejoin2);
  EXPECT_EQ(error_condition(*rejoin2), "forbidden");
  auto outcasts = admin(*alice, "team", "<item affiliation='outcast'/>", "get");
  ASSERT_TRUE(outcasts);
  auto items = outcasts->child("query", kMucAdmin)->children("item", kMucAdmin);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]->attr_or("jid"), "bob@localhost");
  EXPECT_EQ(items[0]->child_text("reason", kMucAdmin), "spam");
  // Lifting the ban lets him in again.
  ASSERT_EQ(admin(*alice, "team", aff_item("bob@localhost", "none"))->attr_or("type"), "result");
  EXPECT_EQ(join(*bob, "team", "bob")->attr_or("type"), "");
}

TEST_F(MucAdmin, VoiceInModeratedRooms) {
  auto alice = login("alice");
  auto bob = login("bob");
  create(*alice, "stage", "alice", open_room() + field("muc#roomconfig_moderatedroom", "1"));
  auto self = join(*bob, "stage", "bob");
  ASSERT_TRUE(self);
  EXPECT_EQ(item(*self)->attr_or("role"), "visitor");
  say(*bob, "stage", "can you hear me");
  auto err = bob->expect(error_from(room_jid("stage")));
  ASSERT_TRUE(err);
  EXPECT_EQ(error_condition(*err), "forbidden");
  EXPECT_TRUE(alice->nothing(groupchat_body("can you hear me")));

  ASSERT_EQ(admin(*alice, "stage", role_item("bob", "participant"))->attr_or("type"), "result");
  for (XmppClient* c : {alice.get(), bob.get()}) {
    auto voiced = c->expect([](const xml::Element& el) {
      return el.name() == "presence" && el.attr_or("from") == occ("stage", "bob") && item(el) &&
             item(el)->attr_or("role") == "participant";
    });
    ASSERT_TRUE(voiced);
  }
  say(*bob, "stage", "now you can");
  ASSERT_TRUE(alice->expect(groupchat_body("now you can")));
  // Voice lists for moderators; revoke again.
  auto participants = admin(*alice, "stage", "<item role='participant'/>", "get");
  ASSERT_TRUE(participants);
  ASSERT_EQ(participants->child("query", kMucAdmin)->children("item", kMucAdmin).size(), 1u);
  ASSERT_EQ(admin(*alice, "stage", role_item("bob", "visitor"))->attr_or("type"), "result");
  ASSERT_TRUE(bob->expect([](const xml::Element& el) {
    return el.name() == "presence" && item(el) && item(el)->attr_or("role") == "visitor";
  }));
  say(*bob, "stage", "silenced");
  auto err2 = bob->expect(error_from(room_jid("stage")));
  ASSERT_TRUE(err2);
  EXPECT_EQ(error_condition(*err2), "forbidden");
}

TEST_F(MucAdmin, VisitorsRequestVoiceAndAModeratorGrantsIt) {
  auto alice = login("alice");
  auto bob = login("bob");
  create(*alice, "stage", "alice", open_room() + field("muc#roomconfig_moderatedroom", "1"));
  ASSERT_EQ(item(*join(*bob, "stage", "bob"))->attr_or("role"), "visitor");
  const std::string request =
      "<message to='" + room_jid("stage") + "'><x xmlns='jabber:x:data' type='submit'>" +
      field("FORM_TYPE", "http://jabber.org/protocol/muc#request") +
      field("muc#role", "participant") + "</x></message>";
  bob->send(request);
  auto form = alice->expect([](const xml::Element& el) {
    return el.name() == "message" && el.child("x", "jabber:x:data");
  });
  ASSERT_TRUE(form);
  EXPECT_EQ(form->attr_or("from"), room_jid("stage"));
  std::map<std::string, std::string> values;
  for (const xml::Element* f : form->child("x", "jabber:x:data")->children("field", "jabber:x:data"))
    values[f->attr_or("var")] = f->child_text("value", "jabber:x:data");
  EXPECT_EQ(values["muc#roomnick"], "bob");
  EXPECT_EQ(values["muc#jid"], "bob@localhost");
  EXPECT_EQ(values["muc#request_allow"], "false");
  // Only moderators decide.
  const std::string approval =
      "<message to='" + room_jid("stage") + "'><x xmlns='jabber:x:data' type='submit'>" +
      field("FORM_TYPE", "http://jabber.org/protocol/muc#request") + field("muc#role", "participant") +
      field("muc#roomnick", "bob") + field("muc#request_allow", "true") + "</x></message>";
  bob->send(approval);
  auto self_approval = bob->expect(error_from(room_jid("stage")));
  ASSERT_TRUE(self_approval);
  EXPECT_EQ(error_condition(*self_approval), "forbidden");
  alice->send(approval);
  auto voiced = bob->expect([](const xml::Element& el) {
    return el.name() == "presence" && item(el) && item(el)->attr_or("role") == "participant";
  });
  ASSERT_TRUE(voiced);
  say(*bob, "stage", "thanks");
  EXPECT_TRUE(alice->expect(groupchat_body("thanks")));
}

TEST_F(MucAdmin, AffiliationRulesAdminsOwnersAndTheLastOwner) {
  auto alice = login("alice");
  auto bob = login("bob");
  create(*alice, "team", "alice", open_room());
  ASSERT_TRUE(join(*bob, "team", "bob"));
  ASSERT_EQ(admin(*alice, "team", aff_item("bob@localhost", "admin"))->attr_or("type"), "result");
  auto promoted = bob->expect([](const xml::Element& el) {
    return el.name() == "presence" && item(el) && item(el)->attr_or("affiliation") == "admin";
  });
  ASSERT_TRUE(promoted);
  EXPECT_EQ(item(*promoted)->attr_or("role"), "moderator");
  // An admin manages members and outcasts, not owners or other admins.
  EXPECT_EQ(admin(*bob, "team", aff_item("carol@localhost", "member"))->attr_or("type"), "result");
  auto demote_owner = admin(*bob, "team", aff_item("alice@localhost", "member"));
  ASSERT_TRUE(demote_owner);
  EXPECT_EQ(error_condition(*demote_owner), "forbidden");
  auto make_owner = admin(*bob, "team", aff_item("dave@localhost", "owner"));
  ASSERT_TRUE(make_owner);
  EXPECT_EQ(error_condition(*make_owner), "forbidden");
  // The owner lists are the owner's.
  auto owners = admin(*alice, "team", "<item affiliation='owner'/>", "get");
  ASSERT_TRUE(owners);
  ASSERT_EQ(owners->child("query", kMucAdmin)->children("item", kMucAdmin).size(), 1u);
  auto admins = admin(*alice, "team", "<item affiliation='admin'/>", "get");
  ASSERT_EQ(admins->child("query", kMucAdmin)->children("item", kMucAdmin).size(), 1u);
  // The last owner cannot step down.
  auto last = admin(*alice, "team", aff_item("alice@localhost", "admin"));
  ASSERT_TRUE(last);
  EXPECT_EQ(error_condition(*last), "conflict");
  // Only owners configure.
  auto cfg = configure(*bob, "team", field("muc#roomconfig_roomname", "mine"));
  ASSERT_TRUE(cfg);
  EXPECT_EQ(error_condition(*cfg), "forbidden");
}

TEST_F(MucAdmin, SemiAnonymousRoomsHideRealJidsFromParticipants) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  create(*alice, "masks", "alice", open_room() + field("muc#roomconfig_whois", "moderators"));
  auto bob_self = join(*bob, "masks", "bob");
  ASSERT_TRUE(bob_self);
  EXPECT_EQ(codes(*bob_self), std::set<int>{110}) << "no 100 in a semi-anonymous room";
  auto alice_seen_by_bob = bob->expect(presence_from(occ("masks", "alice")));
  ASSERT_TRUE(alice_seen_by_bob);
  EXPECT_FALSE(item(*alice_seen_by_bob)->has_attr("jid")) << to_xml(*alice_seen_by_bob);
  EXPECT_FALSE(oid(*alice_seen_by_bob).empty());
  // The moderator sees real JIDs.
  auto bob_seen_by_alice = alice->expect(presence_from(occ("masks", "bob")));
  ASSERT_TRUE(bob_seen_by_alice);
  EXPECT_EQ(item(*bob_seen_by_alice)->attr_or("jid"), "bob@localhost/r");
  ASSERT_TRUE(join(*carol, "masks", "carol"));
  auto carol_seen_by_bob = bob->expect(presence_from(occ("masks", "carol")));
  ASSERT_TRUE(carol_seen_by_bob);
  EXPECT_FALSE(item(*carol_seen_by_bob)->has_attr("jid"));
  // Going non-anonymous is announced (104, 172).
  ASSERT_EQ(configure(*alice, "masks", field("muc#roomconfig_whois", "anyone"))->attr_or("type"), "result");
  auto notice = bob->expect([](const xml::Element& el) {
    return el.name() == "message" && codes(el).count(104);
  });
  ASSERT_TRUE(notice);
  EXPECT_TRUE(codes(*notice).count(172)) << to_xml(*notice);
}

TEST_F(MucAdmin, DestroyingARoomSendsEveryoneToTheAlternateVenue) {
  auto alice = login("alice");
  auto bob = login("bob");
  create(*alice, "old", "alice", open_room());
  ASSERT_TRUE(join(*bob, "old", "bob"));
  auto not_owner = bob->iq("<iq type='set' id='d0' to='" + room_jid("old") +
                           "'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>");
  ASSERT_TRUE(not_owner);
  EXPECT_EQ(error_condition(*not_owner), "forbidden");
  auto r = alice->iq("<iq type='set' id='d1' to='" + room_jid("old") +
                     "'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='" +
                     room_jid("new") + "'><reason>moved</reason></destroy></query></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  for (XmppClient* c : {alice.get(), bob.get()}) {
    auto gone = c->expect([](const xml::Element& el) {
      return el.name() == "presence" && el.attr_or("type") == "unavailable" &&
             el.child("x", kMucUser) && el.child("x", kMucUser)->child("destroy", kMucUser);
    });
    ASSERT_TRUE(gone);
    const xml::Element* d = gone->child("x", kMucUser)->child("destroy", kMucUser);
    EXPECT_EQ(d->attr_or("jid"), room_jid("new"));
    EXPECT_EQ(d->child_text("reason", kMucUser), "moved");
  }
  auto info = disco(*bob, room_jid("old"), kDiscoInfo);
  ASSERT_TRUE(info);
  EXPECT_EQ(error_condition(*info), "item-not-found");
  // The name is free: joining creates a new room, with a new owner.
  auto fresh = join(*bob, "old", "bob");
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(codes(*fresh).count(201)) << to_xml(*fresh);
}

TEST_F(MucAdmin, ADeletedAccountLeavesNoAffiliationBehind) {
  auto alice = login("alice");
  create(*alice, "group", "alice");  // members-only
  ASSERT_EQ(admin(*alice, "group", aff_item("bob@localhost", "admin"))->attr_or("type"), "result");
  std::string out;
  ASSERT_EQ(server_.ctl({"user", "del", "bob@localhost"}, &out), 0) << out;
  // Someone registers the name again: no admin rights, not even membership.
  server_.create_user("bob", "new owner of the name");
  auto bob = std::make_unique<XmppClient>(server_, "bob@localhost", "new owner of the name");
  ASSERT_TRUE(bob->connect());
  bob->available();
  auto refused = join(*bob, "group", "bob");
  ASSERT_TRUE(refused);
  EXPECT_EQ(error_condition(*refused), "registration-required") << to_xml(*refused);
  auto admins = admin(*alice, "group", "<item affiliation='admin'/>", "get");
  ASSERT_TRUE(admins);
  EXPECT_TRUE(admins->child("query", kMucAdmin)->children("item", kMucAdmin).empty());
  // Also after a restart (the store dropped the row with the account).
  server_.restart();
  auto alice2 = login("alice");
  auto admins2 = admin(*alice2, "group", "<item affiliation='admin'/>", "get");
  ASSERT_TRUE(admins2);
  EXPECT_TRUE(admins2->child("query", kMucAdmin)->children("item", kMucAdmin).empty());
}

TEST_F(MucAdmin, RoomAvatarIsTheOwnersToSetAndSurvivesARestart) {
  auto alice = login("alice");
  auto bob = login("bob");
  create(*alice, "pics", "alice", open_room());
  ASSERT_TRUE(join(*bob, "pics", "bob"));
  const std::string vcard =
      "<vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>aGVs\nbG8=</BINVAL></PHOTO></vCard>";
  auto denied = bob->iq("<iq type='set' id='v0' to='" + room_jid("pics") + "'>" + vcard + "</iq>");
  ASSERT_TRUE(denied);
  EXPECT_EQ(error_condition(*denied), "forbidden");
  auto set = alice->iq("<iq type='set' id='v1' to='" + room_jid("pics") + "'>" + vcard + "</iq>");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->attr_or("type"), "result") << to_xml(*set);
  // SHA-1 of "hello", the photo's bytes.
  const std::string hash = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d";
  auto update = bob->expect(presence_from(room_jid("pics")));
  ASSERT_TRUE(update);
  EXPECT_EQ(update->child("x", "vcard-temp:x:update")->child_text("photo", "vcard-temp:x:update"), hash);
  auto info = disco(*bob, room_jid("pics"), kDiscoInfo);
  EXPECT_NE(to_xml(*info).find(hash), std::string::npos) << to_xml(*info);
  server_.restart();
  auto carol = login("carol");
  auto got = carol->iq("<iq type='get' id='v2' to='" + room_jid("pics") + "'><vCard xmlns='vcard-temp'/></iq>");
  ASSERT_TRUE(got);
  ASSERT_EQ(got->attr_or("type"), "result") << to_xml(*got);
  const xml::Element* photo = got->child("vCard", "vcard-temp")->child("PHOTO", "vcard-temp");
  ASSERT_TRUE(photo);
  EXPECT_EQ(photo->child_text("TYPE", "vcard-temp"), "image/png");
}

class MucCap : public MucTest {
 protected:
  static TestServerOptions options() {
    TestServerOptions o;
    o.extra_config = "[modules.muc]\nmax_users = 3\n";
    return o;
  }
  MucCap() : MucTest(options()) {}
};

TEST_F(MucCap, JoinPastTheCapIsServiceUnavailable) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  auto dave = login("dave");
  create(*alice, "small", "alice", open_room());
  ASSERT_EQ(join(*bob, "small", "bob")->attr_or("type"), "");
  ASSERT_EQ(join(*carol, "small", "carol")->attr_or("type"), "");
  auto fourth = join(*dave, "small", "dave");
  ASSERT_TRUE(fourth);
  EXPECT_EQ(error_condition(*fourth), "service-unavailable") << to_xml(*fourth);
  EXPECT_TRUE(alice->nothing(presence_from(occ("small", "dave"))));
  // A place frees up.
  carol->send("<presence to='" + occ("small", "carol") + "' type='unavailable'/>");
  ASSERT_TRUE(alice->expect(presence_from(occ("small", "carol"), "unavailable")));
  EXPECT_EQ(join(*dave, "small", "dave")->attr_or("type"), "");
  // The owner may lower the cap, not raise it past the server's.
  auto raise = configure(*alice, "small", field("muc#roomconfig_maxusers", "4"));
  ASSERT_TRUE(raise);
  EXPECT_EQ(error_condition(*raise), "not-acceptable");
}

TEST_F(MucCap, OwnerLowersTheCapAndTheMemberListStopsGrowing) {
  auto alice = login("alice");
  auto bob = login("bob");
  create(*alice, "tiny", "alice", field("muc#roomconfig_maxusers", "2"));  // members-only
  ASSERT_EQ(admin(*alice, "tiny", aff_item("bob@localhost", "member"))->attr_or("type"), "result");
  // Alice (owner) and Bob are two members: the list is full.
  auto third = admin(*alice, "tiny", aff_item("carol@localhost", "member"));
  ASSERT_TRUE(third);
  EXPECT_EQ(error_condition(*third), "not-allowed") << to_xml(*third);
  auto as_admin = admin(*alice, "tiny", aff_item("carol@localhost", "admin"));
  EXPECT_EQ(error_condition(*as_admin), "not-allowed");
  // Bans do not count; a change within the list is fine.
  EXPECT_EQ(admin(*alice, "tiny", aff_item("eve@localhost", "outcast"))->attr_or("type"), "result");
  EXPECT_EQ(admin(*alice, "tiny", aff_item("bob@localhost", "admin"))->attr_or("type"), "result");
  // An invitation cannot add a member past the cap either.
  alice->send("<message to='" + room_jid("tiny") +
              "'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='dave@localhost'/></x></message>");
  auto inv = alice->expect(error_from(room_jid("tiny")));
  ASSERT_TRUE(inv);
  EXPECT_EQ(error_condition(*inv), "not-allowed");
  auto members = admin(*alice, "tiny", "<item affiliation='member'/>", "get");
  EXPECT_TRUE(members->child("query", kMucAdmin)->children("item", kMucAdmin).empty());
  ASSERT_TRUE(join(*bob, "tiny", "bob"));
  auto carol = login("carol");
  auto refused = join(*carol, "tiny", "carol");
  EXPECT_EQ(error_condition(*refused), "registration-required");
}

}  // namespace
}  // namespace parley::test::muc

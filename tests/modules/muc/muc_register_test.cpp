// Nickname registration (XEP-0045 "Registering with a Room", jabber:iq:register
// with the muc#register form) and the reserved nickname (disco node
// x-roomuser-item): members reserve a nickname, nobody else may register or
// join under it, the reservation is kept with the affiliation across a
// restart, and cancelling it frees the nickname.
#include "modules/muc/muc_support.hpp"

namespace parley::test::muc {
namespace {

using MucRegister = MucTest;

inline constexpr const char* kRegister = "jabber:iq:register";
inline constexpr const char* kForms = "jabber:x:data";

std::string register_get(XmppClient& c, const std::string& room, std::optional<xml::Element>* out) {
  *out = c.iq("<iq type='get' id='" + c.next_id() + "' to='" + room_jid(room) +
              "'><query xmlns='jabber:iq:register'/></iq>");
  return *out ? (*out)->attr_or("type") : "timeout";
}

std::optional<xml::Element> register_nick(XmppClient& c, const std::string& room,
                                          const std::string& nick) {
  return c.iq("<iq type='set' id='" + c.next_id() + "' to='" + room_jid(room) +
              "'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>" +
              field("FORM_TYPE", "http://jabber.org/protocol/muc#register") +
              field("muc#register_roomnick", nick) + "</x></query></iq>");
}

// The reserved nickname the room reports to `c`, "" when none.
std::string reserved_nick(XmppClient& c, const std::string& room) {
  auto r =
      c.iq("<iq type='get' id='" + c.next_id() + "' to='" + room_jid(room) +
           "'><query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'/></iq>");
  EXPECT_TRUE(r);
  if (!r) return "<timeout>";
  EXPECT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  const xml::Element* q = r->child("query", kDiscoInfo);
  if (!q) return "<no query>";
  EXPECT_EQ(q->attr_or("node"), "x-roomuser-item");
  const xml::Element* id = q->child("identity", kDiscoInfo);
  if (!id) return "";
  EXPECT_EQ(id->attr_or("category"), "conference");
  EXPECT_EQ(id->attr_or("type"), "text");
  return id->attr_or("name");
}

const xml::Element* nick_field(const xml::Element& iq) {
  const xml::Element* q = iq.child("query", kRegister);
  const xml::Element* x = q ? q->child("x", kForms) : nullptr;
  if (!x) return nullptr;
  for (const xml::Element* f : x->children("field", kForms))
    if (f->attr_or("var") == "muc#register_roomnick") return f;
  return nullptr;
}

TEST_F(MucRegister, MemberReservesANicknameThatOthersCannotTake) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  create(*alice, "crew", "alice");  // members-only, persistent
  ASSERT_EQ(admin(*alice, "crew", aff_item("bob@localhost", "member"))->attr_or("type"), "result");

  // The room says it takes registrations.
  auto info = disco(*bob, room_jid("crew"), kDiscoInfo);
  ASSERT_TRUE(info);
  EXPECT_TRUE(has_feature(*info, kRegister)) << to_xml(*info);

  // The form, not yet registered.
  std::optional<xml::Element> form;
  ASSERT_EQ(register_get(*bob, "crew", &form), "result") << (form ? to_xml(*form) : "");
  EXPECT_FALSE(form->child("query", kRegister)->child("registered", kRegister));
  const xml::Element* f = nick_field(*form);
  ASSERT_TRUE(f) << to_xml(*form);
  EXPECT_TRUE(f->child("required", kForms));
  EXPECT_EQ(reserved_nick(*bob, "crew"), "");

  auto done = register_nick(*bob, "crew", "Bobby");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->attr_or("type"), "result") << to_xml(*done);
  EXPECT_EQ(reserved_nick(*bob, "crew"), "Bobby");
  ASSERT_EQ(register_get(*bob, "crew", &form), "result");
  EXPECT_TRUE(form->child("query", kRegister)->child("registered", kRegister)) << to_xml(*form);
  ASSERT_TRUE(nick_field(*form));
  EXPECT_EQ(nick_field(*form)->child_text("value", kForms), "Bobby");
  // The member list shows the reservation.
  auto members = admin(*alice, "crew", "<item affiliation='member'/>", "get");
  ASSERT_TRUE(members);
  auto items = members->child("query", kMucAdmin)->children("item", kMucAdmin);
  ASSERT_EQ(items.size(), 1u) << to_xml(*members);
  EXPECT_EQ(items[0]->attr_or("nick"), "Bobby");

  // A non-member may not register (membership is the admins' decision) and
  // learns nothing about reservations.
  auto stranger = register_nick(*carol, "crew", "Carol");
  ASSERT_TRUE(stranger);
  EXPECT_EQ(error_condition(*stranger), "not-allowed") << to_xml(*stranger);
  EXPECT_EQ(reserved_nick(*carol, "crew"), "");

  // Another member cannot register Bob's nickname, join under it or change to it.
  ASSERT_EQ(admin(*alice, "crew", aff_item("carol@localhost", "member"))->attr_or("type"),
            "result");
  auto taken = register_nick(*carol, "crew", "Bobby");
  ASSERT_TRUE(taken);
  EXPECT_EQ(error_condition(*taken), "conflict") << to_xml(*taken);
  auto refused = join(*carol, "crew", "Bobby");
  ASSERT_TRUE(refused);
  EXPECT_EQ(error_condition(*refused), "conflict") << to_xml(*refused);
  ASSERT_EQ(join(*carol, "crew", "carol")->attr_or("type"), "");
  carol->send("<presence to='" + occ("crew", "Bobby") + "'/>");
  auto change = carol->expect(error_from(occ("crew", "Bobby")));
  ASSERT_TRUE(change);
  EXPECT_EQ(error_condition(*change), "conflict") << to_xml(*change);
  // Nor register the nickname another occupant is using now.
  auto in_use = register_nick(*bob, "crew", "alice");
  ASSERT_TRUE(in_use);
  EXPECT_EQ(error_condition(*in_use), "conflict") << to_xml(*in_use);
  EXPECT_EQ(reserved_nick(*bob, "crew"), "Bobby");

  // Bob himself joins under it.
  auto self = join(*bob, "crew", "Bobby");
  ASSERT_TRUE(self);
  EXPECT_EQ(self->attr_or("type"), "") << to_xml(*self);
}

TEST_F(MucRegister, ReservationSurvivesARestartAndCancellingFreesIt) {
  auto alice = login("alice");
  create(*alice, "deck", "alice");
  ASSERT_EQ(admin(*alice, "deck", aff_item("bob@localhost", "member"))->attr_or("type"), "result");
  ASSERT_EQ(admin(*alice, "deck", aff_item("carol@localhost", "member"))->attr_or("type"),
            "result");
  ASSERT_EQ(admin(*alice, "deck", aff_item("eve@localhost", "outcast"))->attr_or("type"), "result");
  {
    auto bob = login("bob");
    auto r = register_nick(*bob, "deck", "captain");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  }
  alice.reset();
  server_.restart();

  auto bob = login("bob");
  auto carol = login("carol");
  EXPECT_EQ(reserved_nick(*bob, "deck"), "captain");
  auto refused = join(*carol, "deck", "captain");
  ASSERT_TRUE(refused);
  EXPECT_EQ(error_condition(*refused), "conflict") << to_xml(*refused);

  // Hostile or mistaken requests change nothing.
  auto eve = login("eve");
  auto banned = register_nick(*eve, "deck", "eve");
  ASSERT_TRUE(banned);
  EXPECT_EQ(error_condition(*banned), "forbidden") << to_xml(*banned);
  auto no_form = bob->iq("<iq type='set' id='nf' to='" + room_jid("deck") +
                         "'><query xmlns='jabber:iq:register'/></iq>");
  ASSERT_TRUE(no_form);
  EXPECT_EQ(error_condition(*no_form), "bad-request") << to_xml(*no_form);
  auto empty = register_nick(*bob, "deck", "");
  ASSERT_TRUE(empty);
  EXPECT_EQ(error_condition(*empty), "not-acceptable") << to_xml(*empty);
  auto cancelled = bob->iq("<iq type='set' id='cf' to='" + room_jid("deck") +
                           "'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' "
                           "type='cancel'/></query></iq>");
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->attr_or("type"), "result") << to_xml(*cancelled);
  EXPECT_EQ(reserved_nick(*bob, "deck"), "captain");

  // Cancelling the registration (XEP-0077 <remove/>) frees the nickname;
  // Bob stays a member.
  auto removed = bob->iq("<iq type='set' id='rm' to='" + room_jid("deck") +
                         "'><query xmlns='jabber:iq:register'><remove/></query></iq>");
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->attr_or("type"), "result") << to_xml(*removed);
  EXPECT_EQ(reserved_nick(*bob, "deck"), "");
  auto mine = register_nick(*carol, "deck", "captain");
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->attr_or("type"), "result") << to_xml(*mine);
  EXPECT_EQ(join(*bob, "deck", "bob")->attr_or("type"), "");

  bob.reset();
  carol.reset();
  eve.reset();
  server_.restart();
  auto carol2 = login("carol");
  EXPECT_EQ(reserved_nick(*carol2, "deck"), "captain");
}

}  // namespace
}  // namespace parley::test::muc

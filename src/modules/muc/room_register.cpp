// Registering a nickname with a room (XEP-0045 "Registering with a Room",
// jabber:iq:register with the muc#register form) and discovering it (disco
// node x-roomuser-item). A reserved nickname is kept with the member's
// affiliation, so it lasts as long as the membership and survives restarts;
// joining or changing to someone else's reserved nickname is a conflict
// (room.cpp). Only members, admins and owners register: in a group, becoming
// a member is the admins' decision (invitation or the member list), not the
// user's, so registration does not grant membership.
#include "modules/muc/muc_ns.hpp"
#include "modules/muc/room.hpp"
#include "modules/muc/room_internal.hpp"
#include "xmpp/router.hpp"

namespace parley::muc {

namespace {

xml::Element register_form(const std::string& nick) {
  xml::Element x("x", std::string(kDataForms));
  x.set_attr("type", "form");
  x.add_child("title", std::string(kDataForms)).add_text("Nickname registration");
  x.add_child("instructions", std::string(kDataForms))
      .add_text("Choose the nickname to reserve in this room.");
  xml::Element& ft = x.add_child("field", std::string(kDataForms));
  ft.set_attr("var", "FORM_TYPE");
  ft.set_attr("type", "hidden");
  ft.add_child("value", std::string(kDataForms)).add_text(std::string(kMucRegister));
  xml::Element& f = x.add_child("field", std::string(kDataForms));
  f.set_attr("var", "muc#register_roomnick");
  f.set_attr("type", "text-single");
  f.set_attr("label", "Desired Nickname");
  f.add_child("required", std::string(kDataForms));
  if (!nick.empty()) f.add_child("value", std::string(kDataForms)).add_text(nick);
  return x;
}

}  // namespace

bool Room::reserved_by_other(const std::string& nick, const std::string& bare) const {
  for (const auto& [jid, entry] : affiliations_)
    if (entry.nick == nick && jid != bare) return true;
  return false;
}

// An empty query when the user has no reserved nickname (XEP-0030), also for
// strangers: what a user reserved is nobody else's business.
xml::Element Room::reserved_nick_info(const Jid& from) const {
  xml::Element q("query", std::string(kDiscoInfo));
  q.set_attr("node", std::string(kRoomUserItem));
  auto it = affiliations_.find(from.bare_str());
  if (it != affiliations_.end() && !it->second.nick.empty())
    q.add_child("identity", std::string(kDiscoInfo))
        .with_attr("category", "conference")
        .with_attr("type", "text")
        .set_attr("name", it->second.nick);
  return q;
}

void Room::registration(const xml::Element& stanza, const Jid& from, const xml::Element& query,
                        bool get) {
  const std::string bare = from.bare_str();
  auto it = affiliations_.find(bare);
  const Affiliation aff = it == affiliations_.end() ? Affiliation::None : it->second.affiliation;
  if (aff == Affiliation::Outcast) {
    reply_error(stanza, {ErrorType::Auth, "forbidden", "you are banned from this room", {}});
    return;
  }
  if (aff < Affiliation::Member) {
    reply_error(stanza, StanzaError::not_allowed(
                            "only members register a nickname; an admin can make you a member"));
    return;
  }
  AffiliationEntry& entry = it->second;
  xml::Element reply = iq_result(stanza);

  if (get) {
    // XEP-0077: <registered/> when already registered, with the current value.
    xml::Element& q = reply.add_child("query", std::string(kRegister));
    if (!entry.nick.empty()) q.add_child("registered", std::string(kRegister));
    q.add_child(register_form(entry.nick));
    host_.router().route(std::move(reply));
    return;
  }

  std::string nick;
  if (query.child("remove", kRegister)) {
    // Cancelling the registration gives the nickname up; the membership stays
    // (leaving a group is an affiliation change, made by an admin).
    if (entry.nick.empty()) {
      host_.router().route(std::move(reply));
      return;
    }
  } else {
    const xml::Element* x = query.child("x", kDataForms);
    if (!x) {
      reply_error(stanza, StanzaError::bad_request("submit the muc#register form"));
      return;
    }
    const std::string type = x->attr_or("type");
    if (type == "cancel") {  // XEP-0004: the user closed the form; nothing changes
      host_.router().route(std::move(reply));
      return;
    }
    std::string form_type, value;
    bool has_nick = false;
    for (const xml::Element* f : x->children("field", kDataForms)) {
      const std::string var = f->attr_or("var");
      if (var == "FORM_TYPE") form_type = f->child_text("value", kDataForms);
      if (var == "muc#register_roomnick") {
        has_nick = true;
        value = f->child_text("value", kDataForms);
      }
    }
    if (type != "submit" || (!form_type.empty() && form_type != kMucRegister) || !has_nick) {
      reply_error(stanza, StanzaError::bad_request("submit the muc#register form with a nickname"));
      return;
    }
    // The same preparation as the nickname in a join (the resource of the
    // occupant JID), so that the reservation and the join compare equal.
    auto prepared = Jid::prep_resource(value);
    if (!prepared || prepared->empty()) {
      reply_error(stanza, StanzaError::not_acceptable("that is not a valid nickname"));
      return;
    }
    if (static_cast<int64_t>(detail::utf8_length(*prepared)) > host_.limits().max_nick_chars) {
      reply_error(stanza, StanzaError::not_acceptable(
                              "nicknames are at most " +
                              std::to_string(host_.limits().max_nick_chars) + " characters"));
      return;
    }
    nick = std::move(*prepared);
    const Occupant* user = occupant_by_nick(nick);
    if (reserved_by_other(nick, bare) || (user && user->real.bare_str() != bare)) {
      reply_error(stanza, {ErrorType::Cancel, "conflict", "that nickname is taken", {}});
      return;
    }
    if (nick == entry.nick) {
      host_.router().route(std::move(reply));
      return;
    }
  }

  entry.nick = nick;
  if (!stored_) {
    host_.router().route(std::move(reply));
    return;
  }
  // Answered once the reservation is committed.
  persist([service = jid_.domain(), room = jid_.local(),
           row = storage::MucAffiliation{bare, to_string(entry.affiliation), nick, entry.reason}](
              storage::MucStore& s) { s.set_affiliation(service, room, row); },
          std::move(reply), stanza);
}

}  // namespace parley::muc

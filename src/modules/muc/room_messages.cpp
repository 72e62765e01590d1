// A room's messages: groupchat (the room's order, archive, retractions),
// private messages between occupants, mediated invitations (XEP-0045 §7.8)
// and voice requests (§7.13).
#include <spdlog/logger.h>

#include <boost/asio/co_spawn.hpp>
#include <map>
#include <unordered_set>

#include "modules/muc/muc_ns.hpp"
#include "modules/muc/room.hpp"
#include "modules/muc/room_internal.hpp"
#include "xmpp/detached.hpp"
#include "xmpp/router.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley::muc {

namespace asio = boost::asio;
using Clock = std::chrono::system_clock;
using detail::add_codes;
using detail::remove_room_stamps;

// --- messages -----------------------------------------------------------------

void Room::on_message(xml::Element& stanza, const Jid& from, const Jid& to, DeliveryHold hold) {
  const std::string type = stanza.attr_or("type", "normal");
  if (type == "error") return;
  Occupant* sender = occupant_by_real(from);
  if (!to.resource().empty()) {
    if (type == "groupchat") {
      reply_error(stanza, StanzaError::bad_request("private messages are not of type groupchat"));
      return;
    }
    if (!sender) {
      reply_error(stanza, StanzaError::not_acceptable("only occupants may send private messages"));
      return;
    }
    private_message(stanza, *sender, to.resource());
    return;
  }
  if (type == "groupchat") {
    if (!sender) {
      reply_error(stanza, StanzaError::not_acceptable("you are not an occupant of this room"));
      return;
    }
    groupchat(stanza, *sender, std::move(hold));
    return;
  }
  if (const xml::Element* x = stanza.child("x", kMucUser);
      x && (x->child("invite", kMucUser) || x->child("decline", kMucUser))) {
    invite(stanza, from, *x);
    return;
  }
  if (const xml::Element* form = stanza.child("x", kDataForms); form && sender) {
    for (const xml::Element* f : form->children("field", kDataForms))
      if (f->attr_or("var") == "FORM_TYPE" && f->child_text("value", kDataForms) == kRequest) {
        voice_request(stanza, *sender, *form);
        return;
      }
  }
  reply_error(stanza, StanzaError::bad_request("send groupchat messages to the room"));
}

void Room::groupchat(xml::Element& stanza, Occupant& sender, DeliveryHold hold) {
  if (sender.role == Role::Visitor) {
    reply_error(stanza, {ErrorType::Auth, "forbidden", "visitors have no voice in this room", {}});
    return;
  }
  const bool has_body = stanza.child("body") != nullptr;
  const xml::Element* subject = stanza.child("subject");
  if (subject && !has_body) {
    if (sender.role != Role::Moderator && !config_.change_subject) {
      reply_error(stanza, {ErrorType::Auth, "forbidden", "only moderators may change the subject", {}});
      return;
    }
    subject_ = subject->text();
    subject_from_ = sender.nick;
    if (stored_) save_room();
  }
  xml::Element m = std::move(stanza);
  remove_room_stamps(m, jid_.bare_str());
  // No stanza-id from an occupant is genuine (XEP-0359 §3: only the entity
  // named in 'by' assigns one), and the recipients' servers would otherwise
  // have to strip them from a tree every recipient shares.
  m.remove_children("stanza-id", kStanzaId);
  m.remove_attr("to");
  m.set_attr("from", occupant_jid(sender.nick).str());
  // The room's order: one sequence per room, assigned here on its strand.
  ++sequence_;
  const std::string id = random_id();
  m.add_child("stanza-id", std::string(kStanzaId)).with_attr("id", id).set_attr("by", jid_.bare_str());
  m.add_child("occupant-id", std::string(kOccupantId)).set_attr("id", sender.occupant_id);
  // Prepared once for every occupant: serialized once, each session splices
  // in its own address (Router::fan_out).
  auto shared = std::make_shared<const SharedStanza>(m);
  if (has_body && config_.history_length > 0) {
    history_.push_back({m, Clock::now(), shared->size()});
    while (static_cast<int64_t>(history_.size()) > config_.history_length) history_.pop_front();
  }
  std::vector<Jid> recipients;
  for (const auto& [n, r] : occupants_)
    recipients.insert(recipients.end(), r.sessions.begin(), r.sessions.end());
  host_.router().fan_out(shared, recipients, hold);
  if (has_body) notify_absent_members(m);
  // Queued to the archive writer on the room's strand, so the archive keeps the room's order.
  if (has_body && config_.persistent) archive(m, id, sender.nick, std::move(hold));
  if (const xml::Element* retract = m.child("retract", kRetract); retract && config_.persistent)
    asio::co_spawn(strand_, retract_task(shared_from_this(), retract->attr_or("id"), sender.occupant_id),
                   log_exceptions("muc retraction"));
}

// XEP-0045 delivers only to occupants, so a member who is not joined (phone
// asleep, app closed) hears of the message only through this event, which a
// push module (XEP-0357) turns into a notification. Only messages with a body
// count: they are what the archive keeps, so an event always points at
// something the member can fetch. Both lists are in memory: no storage query,
// and no work at all while no module listens.
void Room::notify_absent_members(const xml::Element& message) {
  if (!host_.wants_absent_members()) return;
  std::unordered_set<std::string> joined;
  for (const auto& [n, o] : occupants_)
    for (const Jid& session : o.sessions) joined.insert(session.bare_str());
  const Jid room = jid_.bare();
  for (const auto& [bare, entry] : affiliations_) {
    if (entry.affiliation < Affiliation::Member || joined.count(bare)) continue;
    if (auto member = Jid::parse(bare)) host_.message_for_absent_member(room, *member, message);
  }
}

void Room::private_message(xml::Element& stanza, Occupant& sender, const std::string& nick) {
  Occupant* target = occupant_by_nick(nick);
  if (!target) {
    reply_error(stanza, {ErrorType::Cancel, "item-not-found", "no occupant has that nickname", {}});
    return;
  }
  const bool allowed = config_.allow_pm == "anyone" ||
                       (config_.allow_pm == "participants" && sender.role >= Role::Participant) ||
                       (config_.allow_pm == "moderators" && sender.role == Role::Moderator);
  if (!allowed) {
    reply_error(stanza, {ErrorType::Cancel, "not-allowed",
                         "private messages are not allowed in this room", {}});
    return;
  }
  xml::Element m = std::move(stanza);
  remove_room_stamps(m, jid_.bare_str());
  m.set_attr("from", occupant_jid(sender.nick).str());
  if (!m.child("x", kMucUser)) m.add_child("x", std::string(kMucUser));
  m.add_child("occupant-id", std::string(kOccupantId)).set_attr("id", sender.occupant_id);
  send_all(*target, m);
}

void Room::invite(const xml::Element& stanza, const Jid& from, const xml::Element& x) {
  if (const xml::Element* decline = x.child("decline", kMucUser)) {
    std::optional<Jid> to = attr_jid(*decline, "to");
    if (!to) {
      reply_error(stanza, StanzaError::jid_malformed());
      return;
    }
    xml::Element m = make_message("normal", jid_.bare_str(), {});
    xml::Element& d = m.add_child("x", std::string(kMucUser)).add_child("decline", std::string(kMucUser));
    d.set_attr("from", from.bare_str());
    if (std::string reason = decline->child_text("reason", kMucUser); !reason.empty())
      d.add_child("reason", std::string(kMucUser)).add_text(reason);
    send(std::move(m), *to);
    return;
  }
  Occupant* inviter = occupant_by_real(from);
  const Affiliation aff = affiliation_of(from);
  if (!inviter && aff < Affiliation::Admin) {
    reply_error(stanza, StanzaError::not_acceptable("only occupants may invite"));
    return;
  }
  if (!config_.allow_invites && aff < Affiliation::Admin) {
    reply_error(stanza, {ErrorType::Auth, "forbidden", "only admins may invite to this room", {}});
    return;
  }
  std::vector<std::pair<Jid, std::string>> invitees;
  for (const xml::Element* inv : x.children("invite", kMucUser)) {
    std::optional<Jid> to = attr_jid(*inv, "to");
    if (!to) {
      reply_error(stanza, StanzaError::jid_malformed());
      return;
    }
    invitees.emplace_back(*to, inv->child_text("reason", kMucUser));
  }
  // Members-only: an invitation makes the invitee a member (XEP-0045 §7.8.2),
  // within the room's cap.
  std::vector<storage::MucAffiliation> added;
  if (config_.members_only) {
    for (const auto& [to, reason] : invitees) {
      const std::string bare = to.bare_str();
      if (affiliations_.count(bare)) continue;
      if (static_cast<int64_t>(member_count() + added.size()) >= cap()) {
        reply_error(stanza, StanzaError::not_allowed("the room has reached its member limit (" +
                                                     std::to_string(cap()) + ")"));
        return;
      }
      added.push_back({bare, "member", {}, {}});
    }
    for (const auto& a : added) affiliations_[a.jid] = {Affiliation::Member, {}, {}};
    if (stored_ && !added.empty())
      persist([service = jid_.domain(), room = jid_.local(), added](storage::MucStore& s) {
        for (const auto& a : added) s.set_affiliation(service, room, a);
      });
  }
  for (const auto& [to, reason] : invitees) {
    xml::Element m = make_message("normal", jid_.bare_str(), {});
    xml::Element& ux = m.add_child("x", std::string(kMucUser));
    xml::Element& i = ux.add_child("invite", std::string(kMucUser));
    i.set_attr("from", from.bare_str());
    if (!reason.empty()) i.add_child("reason", std::string(kMucUser)).add_text(reason);
    if (config_.password_protected)
      ux.add_child("password", std::string(kMucUser)).add_text(config_.password);
    std::string body = from.bare_str();
    body += " invites you to the room ";
    body += jid_.bare_str();
    if (!reason.empty()) {
      body += ": ";
      body += reason;
    }
    m.add_child("body", "jabber:client").add_text(body);
    send(std::move(m), to);
  }
}

// XEP-0045 §7.13 and §8.6: a visitor asks for voice; the request goes to
// the moderators as a form, and a moderator's approval gives voice.
void Room::voice_request(const xml::Element& stanza, Occupant& sender, const xml::Element& form) {
  std::map<std::string, std::string> values;
  for (const xml::Element* f : form.children("field", kDataForms))
    values[f->attr_or("var")] = f->child_text("value", kDataForms);
  if (form.attr_or("type") == "submit" && values.count("muc#request_allow")) {
    if (sender.role != Role::Moderator) {
      reply_error(stanza, StanzaError::forbidden());
      return;
    }
    const std::string allow = values["muc#request_allow"];
    Occupant* target = occupant_by_nick(values["muc#roomnick"]);
    if ((allow == "true" || allow == "1") && target && target->role == Role::Visitor) {
      target->role = Role::Participant;
      broadcast_presence(*target, {110});
    }
    return;
  }
  if (sender.role != Role::Visitor) return;  // has voice already
  xml::Element m = make_message("normal", jid_.bare_str(), {});
  xml::Element& x = m.add_child("x", std::string(kDataForms));
  x.set_attr("type", "form");
  x.add_child("title", std::string(kDataForms)).add_text("Voice request");
  x.add_child("instructions", std::string(kDataForms))
      .add_text("To approve this request for voice, select the \"Grant voice\" checkbox and submit.");
  auto field = [&x](const char* var, const char* type, const char* label, const std::string& value) {
    xml::Element& f = x.add_child("field", std::string(kDataForms));
    f.set_attr("var", var);
    f.set_attr("type", type);
    if (*label) f.set_attr("label", label);
    f.add_child("value", std::string(kDataForms)).add_text(value);
  };
  field("FORM_TYPE", "hidden", "", std::string(kRequest));
  field("muc#role", "list-single", "Requested role", "participant");
  field("muc#jid", "jid-single", "User ID", sender.real.bare_str());
  field("muc#roomnick", "text-single", "Room nickname", sender.nick);
  field("muc#request_allow", "boolean", "Grant voice to this person?", "false");
  for (const auto& [nick, o] : occupants_)
    if (o.role == Role::Moderator) send_all(o, m);
}

void Room::status_message(const std::vector<int>& codes) {
  xml::Element m = make_message("groupchat", jid_.bare_str(), {});
  add_codes(m, codes);
  for (const auto& [n, r] : occupants_) send_all(r, m);
}

}  // namespace parley::muc

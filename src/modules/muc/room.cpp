// Presence (join, nickname change, leave) and messages (groupchat, private
// messages, invitations) of a room. IQs (disco, muc#admin, muc#owner, ping)
// are in room_admin.cpp.
#include "modules/muc/room.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/logger.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <charconv>
#include <map>
#include <ctime>

#include "modules/mam/mam_policy.hpp"
#include "modules/muc/muc_ns.hpp"
#include "modules/muc/room_internal.hpp"
#include "xmpp/blocking_pool.hpp"
#include "xmpp/detached.hpp"
#include "xmpp/router.hpp"
#include "xmpp/sasl/scram.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley::muc {

namespace asio = boost::asio;
using Clock = std::chrono::system_clock;
using detail::add_codes;
using detail::utf8_length;

const char* to_string(Affiliation a) {
  switch (a) {
    case Affiliation::Outcast: return "outcast";
    case Affiliation::None: return "none";
    case Affiliation::Member: return "member";
    case Affiliation::Admin: return "admin";
    case Affiliation::Owner: return "owner";
  }
  return "none";
}

const char* to_string(Role r) {
  switch (r) {
    case Role::None: return "none";
    case Role::Visitor: return "visitor";
    case Role::Participant: return "participant";
    case Role::Moderator: return "moderator";
  }
  return "none";
}

std::optional<Affiliation> affiliation_from(std::string_view s) {
  if (s == "outcast") return Affiliation::Outcast;
  if (s == "none") return Affiliation::None;
  if (s == "member") return Affiliation::Member;
  if (s == "admin") return Affiliation::Admin;
  if (s == "owner") return Affiliation::Owner;
  return std::nullopt;
}

std::optional<Role> role_from(std::string_view s) {
  if (s == "none") return Role::None;
  if (s == "visitor") return Role::Visitor;
  if (s == "participant") return Role::Participant;
  if (s == "moderator") return Role::Moderator;
  return std::nullopt;
}

namespace {

std::optional<int64_t> to_int(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// The client's presence as the room keeps it: its payload (show, status,
// caps, ...) without anything the room itself stamps.
xml::Element strip_presence(const xml::Element& presence) {
  xml::Element out("presence", "jabber:client");
  for (const auto& node : presence.nodes()) {
    if (!node.is_element()) continue;
    const xml::Element& c = *node.element;
    if (c.is("x", kMuc) || c.is("x", kMucUser) || c.is("occupant-id", kOccupantId)) continue;
    out.add_child(c);
  }
  return out;
}

}  // namespace

Room::Room(RoomHost& host, asio::any_io_executor executor, Jid jid, RoomConfig config, bool fresh)
    : host_(host),
      strand_(asio::make_strand(executor)),
      jid_(std::move(jid)),
      config_(std::move(config)),
      fresh_(fresh),
      stored_(!fresh),
      created_(Clock::now()) {
  if (config_.occupant_id_secret.empty()) config_.occupant_id_secret = random_id(24);
  publish_listing();
}

void Room::load(std::string subject, std::vector<storage::MucAffiliation> affiliations) {
  subject_ = std::move(subject);
  for (const auto& a : affiliations)
    if (auto af = affiliation_from(a.affiliation); af && *af != Affiliation::None)
      affiliations_[a.jid] = {*af, a.nick, a.reason};
}

Room::Listing Room::listing() const {
  std::lock_guard lock(listing_mutex_);
  return listing_;
}

void Room::publish_listing() {
  std::lock_guard lock(listing_mutex_);
  listing_.listed = config_.public_room && !locked_ && !fresh_;
  listing_.title = config_.name.empty() ? jid_.local() : config_.name;
}

void Room::handle(xml::Element stanza, DeliveryHold hold) {
  if (gone_) {
    host_.dispatch_again(std::move(stanza));
    return;
  }
  std::optional<Jid> from = attr_jid(stanza, "from");
  std::optional<Jid> to = attr_jid(stanza, "to");
  if (!from || !to) return;
  switch (stanza_kind(stanza)) {
    case StanzaKind::Presence:
      on_presence(stanza, *from, *to);
      break;
    case StanzaKind::Message:
      if (fresh_) {
        reply_error(stanza, StanzaError::item_not_found());
        break;
      }
      on_message(stanza, *from, *to, std::move(hold));
      break;
    case StanzaKind::Iq:
      if (fresh_) {
        reply_error(stanza, StanzaError::item_not_found());
        break;
      }
      on_iq(stanza, *from, *to);
      break;
    case StanzaKind::Other:
      break;
  }
  // Created for a presence that did not make anyone join: no room after all.
  if (fresh_ && !gone_) gone();
}

void Room::session_gone(const Jid& real) {
  if (gone_) return;
  leave_session(real);
}

void Room::forget(const Jid& bare) {
  if (gone_ || !affiliations_.erase(bare.bare_str())) return;
  if (stored_)
    persist([service = jid_.domain(), room = jid_.local(), jid = bare.bare_str()](storage::MucStore& s) {
      s.set_affiliation(service, room, {jid, "none", {}, {}});
    });
}

// --- presence -----------------------------------------------------------------

void Room::on_presence(xml::Element& stanza, const Jid& from, const Jid& to) {
  const std::string type = stanza.attr_or("type");
  Occupant* self = occupant_by_real(from);
  if (type == "unavailable" || type == "error") {
    if (self) leave_session(from);
    return;
  }
  if (!type.empty()) return;  // probes and subscriptions mean nothing to a room
  const std::string& nick = to.resource();
  if (nick.empty()) {
    reply_error(stanza, {ErrorType::Modify, "jid-malformed", "a nickname is required", {}});
    return;
  }
  if (static_cast<int64_t>(utf8_length(nick)) > host_.limits().max_nick_chars) {
    reply_error(stanza, StanzaError::not_acceptable(
                            "nicknames are at most " +
                            std::to_string(host_.limits().max_nick_chars) + " characters"));
    return;
  }
  if (self) {
    if (self->nick == nick) {
      self->presence = strip_presence(stanza);
      broadcast_presence(*self, {110});
    } else {
      change_nick(*self, stanza, nick);
    }
    return;
  }
  join(stanza, from, nick);
}

void Room::join(xml::Element& stanza, const Jid& from, const std::string& nick) {
  const xml::Element* mx = stanza.child("x", kMuc);
  Affiliation aff = affiliation_of(from);
  const bool creating = fresh_;
  if (creating) {
    fresh_ = false;
    aff = Affiliation::Owner;
    affiliations_[from.bare_str()] = {Affiliation::Owner, {}, {}};
    // XEP-0045 §10.1: locked until the owner configures it; a client of the
    // old groupchat protocol (no <x/>) gets an instant room at once.
    locked_ = mx != nullptr;
  } else {
    if (locked_ && aff != Affiliation::Owner) {
      reply_error(stanza, {ErrorType::Cancel, "item-not-found",
                           "the room is locked until its owner configures it", {}});
      return;
    }
    if (aff == Affiliation::Outcast) {
      reply_error(stanza, {ErrorType::Auth, "forbidden", "you are banned from this room", {}});
      return;
    }
    if (config_.members_only && aff == Affiliation::None) {
      reply_error(stanza, {ErrorType::Auth, "registration-required",
                           "this room is for members only", {}});
      return;
    }
    if (config_.password_protected &&
        (!mx || mx->child_text("password", kMuc) != config_.password)) {
      reply_error(stanza, {ErrorType::Auth, "not-authorized", "a password is required", {}});
      return;
    }
    if (Occupant* same = occupant_by_nick(nick)) {
      if (same->real.bare() != from.bare()) {
        reply_error(stanza, {ErrorType::Cancel, "conflict", "that nickname is in use", {}});
        return;
      }
      join_session(*same, stanza, from);
      return;
    }
    if (reserved_by_other(nick, from.bare_str())) {
      reply_error(stanza,
                  {ErrorType::Cancel, "conflict", "that nickname is reserved by a member", {}});
      return;
    }
    if (static_cast<int64_t>(occupants_.size()) >= cap()) {
      reply_error(stanza, {ErrorType::Cancel, "service-unavailable",
                           "the room is full (" + std::to_string(cap()) + " occupants)", {}});
      return;
    }
  }
  Occupant& o = occupants_[nick];
  o.nick = nick;
  o.real = from;
  o.sessions = {from};
  o.role = default_role(aff);
  o.occupant_id = occupant_id(from);
  o.presence = strip_presence(stanza);
  nick_of_[from.str()] = nick;
  host_.occupant_joined(from, name());
  publish_listing();

  // XEP-0045 §7.2.3: the others' presence, then the newcomer's own (the
  // others get it too), then history, then the subject.
  const bool see = can_see_jids(o);
  for (const auto& [n, other] : occupants_)
    if (n != nick) send(occupant_presence(other, see), from);
  std::vector<int> self_codes{110};
  if (config_.non_anonymous()) self_codes.push_back(100);
  if (creating) self_codes.push_back(201);
  broadcast_presence(o, self_codes, stanza.attr_or("id"));
  if (!creating) send_history(o, mx ? mx->child("history", kMuc) : nullptr);
  send_subject(o);
  if (creating && !locked_ && config_.persistent) save_everything();
}

// Another client of the same user joins under the occupant's nickname: it
// gets the room's state; the others see no change.
void Room::join_session(Occupant& o, const xml::Element& stanza, const Jid& from) {
  o.sessions.push_back(from);
  nick_of_[from.str()] = o.nick;
  host_.occupant_joined(from, name());
  const bool see = can_see_jids(o);
  for (const auto& [n, other] : occupants_)
    if (n != o.nick) send(occupant_presence(other, see), from);
  xml::Element self = occupant_presence(o, true);
  std::vector<int> self_codes{110};
  if (config_.non_anonymous()) self_codes.push_back(100);
  add_codes(self, self_codes);
  if (stanza.has_attr("id")) self.set_attr("id", stanza.attr_or("id"));
  send(std::move(self), from);
  const xml::Element* mx = stanza.child("x", kMuc);
  Occupant session_only = o;
  session_only.sessions = {from};
  send_history(session_only, mx ? mx->child("history", kMuc) : nullptr);
  send_subject(session_only);
}

void Room::leave_session(const Jid& real) {
  Occupant* o = occupant_by_real(real);
  if (!o) return;
  if (o->sessions.size() <= 1) {
    leave(o->nick, {}, {}, {});
    return;
  }
  std::erase(o->sessions, real);
  if (o->real == real) o->real = o->sessions.front();
  nick_of_.erase(real.str());
  host_.occupant_left(real, name());
  xml::Element p = occupant_presence(*o, true);
  p.set_attr("type", "unavailable");
  p.remove_children("show", "jabber:client");
  p.remove_children("status", "jabber:client");
  p.child("x", kMucUser)->child("item", kMucUser)->set_attr("role", "none");
  p.child("x", kMucUser)->child("item", kMucUser)->set_attr("jid", real.str());
  add_codes(p, {110});
  send(std::move(p), real);
}

void Room::change_nick(Occupant& occupant, xml::Element& stanza, const std::string& nick) {
  if (occupant_by_nick(nick)) {
    reply_error(stanza, {ErrorType::Cancel, "conflict", "that nickname is in use", {}});
    return;
  }
  if (reserved_by_other(nick, occupant.real.bare_str())) {
    reply_error(stanza,
                {ErrorType::Cancel, "conflict", "that nickname is reserved by a member", {}});
    return;
  }
  // XEP-0045 §7.6: unavailable from the old nickname with 303 and the new one.
  const std::string old = occupant.nick;
  xml::Element gone = occupant_presence(occupant, true);
  gone.set_attr("type", "unavailable");
  gone.child("x", kMucUser)->child("item", kMucUser)->set_attr("nick", nick);
  for (const auto& [n, r] : occupants_) {
    xml::Element p = gone;
    if (!can_see_jids(r)) p.child("x", kMucUser)->child("item", kMucUser)->remove_attr("jid");
    add_codes(p, n == old ? std::vector<int>{303, 110} : std::vector<int>{303});
    send_all(r, p);
  }
  Occupant moved = std::move(occupant);
  occupants_.erase(old);
  moved.nick = nick;
  moved.presence = strip_presence(stanza);
  for (const Jid& session : moved.sessions) nick_of_[session.str()] = nick;
  Occupant& o = occupants_[nick] = std::move(moved);
  broadcast_presence(o, {110});
}

void Room::leave(std::string nick, const std::vector<int>& codes, const std::string& reason,
                 const std::string& actor, bool destroy_if_empty) {
  auto it = occupants_.find(nick);
  if (it == occupants_.end()) return;
  Occupant o = std::move(it->second);
  occupants_.erase(it);
  for (const Jid& session : o.sessions) {
    nick_of_.erase(session.str());
    host_.occupant_left(session, name());
  }
  o.role = Role::None;
  xml::Element p = occupant_presence(o, true);
  p.set_attr("type", "unavailable");
  p.remove_children("show", "jabber:client");
  p.remove_children("status", "jabber:client");
  xml::Element* item = p.child("x", kMucUser)->child("item", kMucUser);
  if (!actor.empty()) item->add_child("actor", std::string(kMucUser)).set_attr("nick", actor);
  if (!reason.empty()) item->add_child("reason", std::string(kMucUser)).add_text(reason);
  for (const auto& [n, r] : occupants_) {
    xml::Element copy = p;
    if (!can_see_jids(r)) copy.child("x", kMucUser)->child("item", kMucUser)->remove_attr("jid");
    add_codes(copy, codes);
    send_all(r, copy);
  }
  std::vector<int> self_codes = codes;
  self_codes.push_back(110);
  add_codes(p, self_codes);
  send_all(o, p);
  if (destroy_if_empty && occupants_.empty() && (!config_.persistent || locked_)) {
    if (stored_) {
      persist([service = jid_.domain(), room = jid_.local()](storage::MucStore& s) {
        s.remove_room(service, room);
      });
      stored_ = false;
    }
    gone();
  }
}

xml::Element Room::occupant_presence(const Occupant& o, bool with_jid) const {
  xml::Element p = o.presence;
  p.set_attr("from", occupant_jid(o.nick).str());
  xml::Element& x = p.add_child("x", std::string(kMucUser));
  xml::Element& item = x.add_child("item", std::string(kMucUser));
  item.set_attr("affiliation", to_string(affiliation_of(o.real)));
  item.set_attr("role", to_string(o.role));
  if (with_jid) item.set_attr("jid", o.real.str());
  p.add_child("occupant-id", std::string(kOccupantId)).set_attr("id", o.occupant_id);
  return p;
}

void Room::broadcast_presence(const Occupant& o, const std::vector<int>& self_codes,
                              const std::string& self_id) {
  // Two shapes for the others (with and without the real JID), built once.
  const xml::Element with_jid = occupant_presence(o, true);
  const xml::Element without = occupant_presence(o, false);
  for (const auto& [n, r] : occupants_)
    if (n != o.nick) send_all(r, can_see_jids(r) ? with_jid : without);
  xml::Element self = with_jid;
  add_codes(self, self_codes);
  if (!self_id.empty()) self.set_attr("id", self_id);
  send_all(o, self);
}

void Room::send_history(const Occupant& o, const xml::Element* request) {
  size_t max_stanzas = history_.size();
  std::optional<size_t> max_chars;
  std::optional<Clock::time_point> since;
  if (request) {
    if (auto v = to_int(request->attr_or("maxstanzas")))
      max_stanzas = std::min(max_stanzas, static_cast<size_t>(*v));
    if (auto v = to_int(request->attr_or("maxchars"))) max_chars = static_cast<size_t>(*v);
    if (auto v = to_int(request->attr_or("seconds"))) since = Clock::now() - std::chrono::seconds(*v);
    if (auto v = mam::parse_datetime(request->attr_or("since")))
      since = since ? std::max(*since, *v) : *v;
  }
  // Newest first, while the limits allow; then sent oldest first.
  size_t count = 0, chars = 0;
  auto first = history_.end();
  for (auto it = history_.rbegin(); it != history_.rend() && count < max_stanzas; ++it) {
    if (since && it->stamp < *since) break;
    if (max_chars && chars + it->chars > *max_chars) break;
    chars += it->chars;
    ++count;
    first = std::prev(it.base());
  }
  for (auto it = first; it != history_.end(); ++it) {
    xml::Element m = it->message;
    xml::Element& delay = m.add_child("delay", std::string(kDelay));
    delay.set_attr("from", jid_.bare_str());
    delay.set_attr("stamp", xep0082_format(it->stamp));
    send_all(o, m);
  }
}

void Room::send_subject(const Occupant& o) {
  xml::Element m = make_message("groupchat", {}, {});
  const Occupant* setter = subject_from_.empty() ? nullptr : occupant_by_nick(subject_from_);
  m.set_attr("from", setter ? occupant_jid(setter->nick).str() : jid_.bare_str());
  m.add_child("subject", "jabber:client").add_text(subject_);
  if (setter) m.add_child("occupant-id", std::string(kOccupantId)).set_attr("id", setter->occupant_id);
  send_all(o, m);
}

// --- helpers ------------------------------------------------------------------

Affiliation Room::affiliation_of(const Jid& real) const {
  auto it = affiliations_.find(real.bare_str());
  return it == affiliations_.end() ? Affiliation::None : it->second.affiliation;
}

Role Room::default_role(Affiliation a) const {
  switch (a) {
    case Affiliation::Owner:
    case Affiliation::Admin:
      return Role::Moderator;
    case Affiliation::Member:
      return Role::Participant;
    case Affiliation::None:
      return config_.moderated ? Role::Visitor : Role::Participant;
    case Affiliation::Outcast:
      return Role::None;
  }
  return Role::None;
}

Room::Occupant* Room::occupant_by_real(const Jid& real) {
  auto it = nick_of_.find(real.str());
  if (it == nick_of_.end()) return nullptr;
  return occupant_by_nick(it->second);
}

Room::Occupant* Room::occupant_by_nick(const std::string& nick) {
  auto it = occupants_.find(nick);
  return it == occupants_.end() ? nullptr : &it->second;
}

bool Room::can_see_jids(const Occupant& viewer) const {
  return config_.non_anonymous() || viewer.role == Role::Moderator;
}

int64_t Room::cap() const {
  const int64_t service = host_.limits().max_users;
  return config_.max_users > 0 ? std::min(config_.max_users, service) : service;
}

size_t Room::member_count() const {
  return static_cast<size_t>(std::count_if(affiliations_.begin(), affiliations_.end(), [](const auto& e) {
    return e.second.affiliation >= Affiliation::Member;
  }));
}

// XEP-0421: stable per room and real bare JID, revealing neither.
std::string Room::occupant_id(const Jid& real) const {
  const std::string data = real.bare_str();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), config_.occupant_id_secret.data(),
       static_cast<int>(config_.occupant_id_secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return sasl::base64_encode(std::string_view(reinterpret_cast<const char*>(mac), 18));
}

Jid Room::occupant_jid(const std::string& nick) const { return jid_.with_resource(nick); }

void Room::send(xml::Element stanza, const Jid& to) {
  stanza.set_attr("to", to.str());
  host_.router().route(std::move(stanza));
}

void Room::send_all(const Occupant& occupant, const xml::Element& stanza) {
  for (const Jid& session : occupant.sessions) send(stanza, session);
}

void Room::reply_error(const xml::Element& stanza, const StanzaError& error) {
  host_.router().bounce(stanza, error);
}

void Room::gone() {
  gone_ = true;
  for (const auto& [n, o] : occupants_)
    for (const Jid& session : o.sessions) host_.occupant_left(session, name());
  occupants_.clear();
  nick_of_.clear();
  host_.room_gone(name());
}

// --- persistence --------------------------------------------------------------

storage::MucRoom Room::record() const {
  return {jid_.domain(), jid_.local(), encode(config_), subject_,
          std::chrono::time_point_cast<std::chrono::microseconds>(created_)};
}

void Room::save_room() {
  persist([rec = record()](storage::MucStore& s) { s.put_room(rec); });
}

void Room::save_everything() {
  stored_ = true;
  std::vector<storage::MucAffiliation> affs;
  for (const auto& [bare, e] : affiliations_) affs.push_back({bare, to_string(e.affiliation), e.nick, e.reason});
  persist([rec = record(), affs](storage::MucStore& s) {
    s.put_room(rec);
    for (const auto& a : affs) s.set_affiliation(rec.service, rec.room, a);
  });
}

void Room::persist(std::function<void(storage::MucStore&)> write, std::optional<xml::Element> reply,
                   std::optional<xml::Element> request) {
  asio::co_spawn(strand_, persist_task(shared_from_this(), std::move(write), std::move(reply), std::move(request)),
                 log_exceptions("muc room"));
}

asio::awaitable<void> Room::persist_task([[maybe_unused]] std::shared_ptr<Room> self,
                                         std::function<void(storage::MucStore&)> write,
                                         std::optional<xml::Element> reply,
                                         std::optional<xml::Element> request) {
  const std::string key = jid_.bare_str();
  try {
    co_await host_.pool().run_ordered(key, [this, &write] { write(host_.store()); });
  } catch (const std::exception& e) {
    host_.log().warn("storing room {} failed: {}", key, e.what());
    if (request)
      reply_error(*request, {ErrorType::Wait, "internal-server-error", "room storage unavailable", {}});
    co_return;
  }
  if (reply) host_.router().route(std::move(*reply));
}

}  // namespace parley::muc

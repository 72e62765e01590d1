// A room's IQs: disco (XEP-0030), self-ping (XEP-0410), affiliations and
// roles (muc#admin, XEP-0045 §8-9), configuration and destruction
// (muc#owner, §10).
#include <openssl/sha.h>
#include <spdlog/logger.h>

#include <cctype>

#include "modules/muc/muc_ns.hpp"
#include "modules/muc/room.hpp"
#include "xmpp/router.hpp"
#include "xmpp/sasl/scram.hpp"
#include "xmpp/xml/fragment.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley::muc {

namespace {

xml::Element query(std::string_view ns) { return xml::Element("query", std::string(ns)); }

void feature(xml::Element& q, std::string_view var) {
  q.add_child("feature", std::string(kDiscoInfo)).set_attr("var", std::string(var));
}

void form_field(xml::Element& form, const std::string& var, const std::string& value) {
  xml::Element& f = form.add_child("field", std::string(kDataForms));
  f.set_attr("var", var);
  f.add_child("value", std::string(kDataForms)).add_text(value);
}

}  // namespace

void Room::on_iq(xml::Element& stanza, const Jid& from, const Jid& to) {
  const std::string type = stanza.attr_or("type");
  if (type == "result" || type == "error") {
    if (!to.resource().empty()) forward_iq_response(stanza, from);
    return;  // the room itself asks nothing
  }
  if ((type != "get" && type != "set") || stanza.element_count() != 1) {
    reply_error(stanza, StanzaError::bad_request());
    return;
  }
  const xml::Element& payload = *stanza.element_children().front();
  const bool get = type == "get";
  auto ok = [&](std::optional<xml::Element> child) {
    xml::Element reply = iq_result(stanza);
    if (child) reply.add_child(std::move(*child));
    host_.router().route(std::move(reply));
  };

  if (!to.resource().empty()) {
    Occupant* self = occupant_by_real(from);
    if (!self) {
      reply_error(stanza, StanzaError::not_acceptable("you are not an occupant of this room"));
      return;
    }
    // XEP-0410: the room answers a self-ping itself.
    if (get && payload.is("ping", kPing) && self->nick == to.resource()) {
      ok(std::nullopt);
      return;
    }
    Occupant* target = occupant_by_nick(to.resource());
    if (!target) {
      reply_error(stanza, {ErrorType::Cancel, "item-not-found", "no occupant has that nickname", {}});
      return;
    }
    forward_iq(stanza, from, *self, *target);
    return;
  }

  if (locked_ && affiliation_of(from) != Affiliation::Owner) {
    reply_error(stanza, StanzaError::item_not_found());
    return;
  }
  if (get && payload.is("query", kDiscoInfo)) {
    const std::string node = payload.attr_or("node");
    if (node == kRoomUserItem) {
      ok(reserved_nick_info(from));
      return;
    }
    if (!node.empty()) {
      reply_error(stanza, StanzaError::item_not_found());
      return;
    }
    ok(disco_info());
  } else if (payload.is("query", kRegister)) {
    registration(stanza, from, payload, get);
  } else if (get && payload.is("query", kDiscoItems)) {
    ok(disco_items(from));
  } else if (get && payload.is("ping", kPing)) {
    ok(std::nullopt);
  } else if (payload.is("vCard", kVcard)) {
    room_vcard(stanza, from, payload, get);
  } else if (!get && payload.is("moderate", kModerate)) {
    moderate(stanza, from, payload);
  } else if (payload.is("query", kMam)) {
    archive_query(stanza, from, payload, get);
  } else if (payload.is("query", kMucAdmin)) {
    if (get)
      admin_get(stanza, from, payload);
    else
      admin_set(stanza, from, payload);
  } else if (payload.is("query", kMucOwner)) {
    if (get)
      owner_get(stanza, from);
    else
      owner_set(stanza, from, payload);
  } else {
    reply_error(stanza, StanzaError::service_unavailable());
  }
}

// XEP-0045 §7.2 (IQs to an occupant, e.g. disco or vCard): the request goes
// to the target's session from the sender's occupant JID under a fresh id,
// and only the target's answer to that id comes back, under the old one.
void Room::forward_iq(const xml::Element& stanza, const Jid& from, const Occupant& sender,
                      const Occupant& target) {
  constexpr size_t kMaxPending = 1000;
  while (pending_iqs_.size() >= kMaxPending) {
    pending_iqs_.erase(pending_order_.front());
    pending_order_.pop_front();
  }
  std::string id = random_id();
  pending_iqs_[id] = PendingIq{from, stanza.attr_or("id"), target.nick, target.real};
  pending_order_.push_back(id);
  xml::Element copy = stanza;
  copy.set_attr("id", id);
  copy.set_attr("from", occupant_jid(sender.nick).str());
  send(std::move(copy), target.real);
}

void Room::forward_iq_response(const xml::Element& stanza, const Jid& from) {
  auto it = pending_iqs_.find(stanza.attr_or("id"));
  if (it == pending_iqs_.end() || it->second.target != from) return;  // unasked or forged
  PendingIq p = std::move(it->second);
  pending_iqs_.erase(it);
  std::erase(pending_order_, stanza.attr_or("id"));
  xml::Element copy = stanza;
  if (p.id.empty())
    copy.remove_attr("id");
  else
    copy.set_attr("id", p.id);
  copy.set_attr("from", occupant_jid(p.target_nick).str());
  send(std::move(copy), p.requester);
}

// XEP-0486: the room's vCard (its avatar) is the owners' to set and the
// room's visitors' to read; occupants are told of a new avatar by a presence
// from the room with the photo's hash.
void Room::room_vcard(const xml::Element& stanza, const Jid& from, const xml::Element& vcard, bool get) {
  if (get) {
    if (config_.members_only && !may_read_archive(from)) {
      reply_error(stanza, StanzaError::forbidden());
      return;
    }
    xml::Element reply = iq_result(stanza);
    std::optional<xml::Element> stored;
    if (!config_.vcard.empty()) stored = xml::parse_fragment(config_.vcard);
    reply.add_child(stored ? std::move(*stored) : xml::Element("vCard", std::string(kVcard)));
    host_.router().route(std::move(reply));
    return;
  }
  if (affiliation_of(from) != Affiliation::Owner) {
    reply_error(stanza, StanzaError::forbidden());
    return;
  }
  std::string serialized = xml::serialize(vcard, "jabber:client");
  constexpr size_t kMaxVcardBytes = 128 * 1024;
  if (serialized.size() > kMaxVcardBytes) {
    reply_error(stanza, StanzaError::not_acceptable("a room's vCard is at most 128 KiB"));
    return;
  }
  config_.vcard = vcard.element_count() ? std::move(serialized) : std::string();
  xml::Element update = make_presence({}, jid_.bare_str(), {});
  update.add_child("x", "vcard-temp:x:update").add_child("photo", "vcard-temp:x:update").add_text(avatar_hash());
  for (const auto& [nick, o] : occupants_) send_all(o, update);
  xml::Element reply = iq_result(stanza);
  if (stored_)
    persist([rec = record()](storage::MucStore& s) { s.put_room(rec); }, std::move(reply), stanza);
  else
    host_.router().route(std::move(reply));
}

// Hex SHA-1 of the photo's bytes (XEP-0153), "" without a photo.
std::string Room::avatar_hash() const {
  if (config_.vcard.empty()) return {};
  auto vcard = xml::parse_fragment(config_.vcard);
  const xml::Element* photo = vcard ? vcard->child("PHOTO", kVcard) : nullptr;
  if (!photo) return {};
  std::string b64;
  for (char c : photo->child_text("BINVAL", kVcard))
    if (!std::isspace(static_cast<unsigned char>(c))) b64 += c;
  auto bytes = sasl::base64_decode(b64);
  if (!bytes) return {};
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(bytes->data()), bytes->size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

xml::Element Room::disco_info() const {
  xml::Element q = query(kDiscoInfo);
  q.add_child("identity", std::string(kDiscoInfo))
      .with_attr("category", "conference")
      .with_attr("type", "text")
      .set_attr("name", config_.name.empty() ? jid_.local() : config_.name);
  feature(q, kDiscoInfo);
  feature(q, kMuc);
  feature(q, config_.persistent ? "muc_persistent" : "muc_temporary");
  feature(q, config_.public_room ? "muc_public" : "muc_hidden");
  feature(q, config_.members_only ? "muc_membersonly" : "muc_open");
  feature(q, config_.moderated ? "muc_moderated" : "muc_unmoderated");
  feature(q, config_.non_anonymous() ? "muc_nonanonymous" : "muc_semianonymous");
  feature(q, config_.password_protected ? "muc_passwordprotected" : "muc_unsecured");
  feature(q, kOccupantId);
  feature(q, kStanzaId);
  feature(q, "http://jabber.org/protocol/muc#stable_id");
  feature(q, "http://jabber.org/protocol/muc#self-ping-optimization");
  feature(q, kPing);
  if (config_.persistent) feature(q, kMam);
  feature(q, kModerate);
  feature(q, kVcard);
  feature(q, kRetract);
  feature(q, kRegister);
  xml::Element& form = q.add_child("x", std::string(kDataForms));
  form.set_attr("type", "result");
  xml::Element& ft = form.add_child("field", std::string(kDataForms));
  ft.set_attr("var", "FORM_TYPE");
  ft.set_attr("type", "hidden");
  ft.add_child("value", std::string(kDataForms)).add_text(std::string(kRoomInfo));
  form_field(form, "muc#roominfo_description", config_.description);
  form_field(form, "muc#roominfo_subject", subject_);
  form_field(form, "muc#roominfo_occupants", std::to_string(occupants_.size()));
  form_field(form, "muc#roomconfig_maxusers", std::to_string(cap()));
  form_field(form, "muc#maxhistoryfetch", std::to_string(config_.history_length));
  form_field(form, "muc#roomconfig_allowinvites", config_.allow_invites ? "1" : "0");
  if (std::string hash = avatar_hash(); !hash.empty()) form_field(form, "muc#roominfo_avatarhash", hash);
  return q;
}

xml::Element Room::disco_items(const Jid& from) const {
  xml::Element q = query(kDiscoItems);
  // Occupants are listed to occupants only (XEP-0045 §6.5 leaves it open).
  if (!nick_of_.count(from.str())) return q;
  for (const auto& [nick, o] : occupants_)
    q.add_child("item", std::string(kDiscoItems)).set_attr("jid", occupant_jid(nick).str());
  return q;
}

void Room::admin_get(const xml::Element& stanza, const Jid& from, const xml::Element& q) {
  const xml::Element* item = q.child("item", kMucAdmin);
  if (!item) {
    reply_error(stanza, StanzaError::bad_request("an <item/> names the list"));
    return;
  }
  const Affiliation actor = affiliation_of(from);
  const Occupant* occupant = occupant_by_real(from);
  xml::Element out = query(kMucAdmin);
  if (item->has_attr("affiliation")) {
    auto wanted = affiliation_from(item->attr_or("affiliation"));
    if (!wanted || *wanted == Affiliation::None) {
      reply_error(stanza, StanzaError::bad_request("unknown affiliation list"));
      return;
    }
    if (actor < Affiliation::Admin) {
      reply_error(stanza, StanzaError::forbidden());
      return;
    }
    for (const auto& [bare, e] : affiliations_) {
      if (e.affiliation != *wanted) continue;
      xml::Element& i = out.add_child("item", std::string(kMucAdmin));
      i.set_attr("affiliation", to_string(e.affiliation));
      i.set_attr("jid", bare);
      if (!e.nick.empty()) i.set_attr("nick", e.nick);
      if (!e.reason.empty()) i.add_child("reason", std::string(kMucAdmin)).add_text(e.reason);
    }
  } else if (item->has_attr("role")) {
    auto wanted = role_from(item->attr_or("role"));
    if (!wanted || *wanted == Role::None) {
      reply_error(stanza, StanzaError::bad_request("unknown role list"));
      return;
    }
    if (!occupant || occupant->role != Role::Moderator) {
      reply_error(stanza, StanzaError::forbidden());
      return;
    }
    for (const auto& [nick, o] : occupants_) {
      if (o.role != *wanted) continue;
      xml::Element& i = out.add_child("item", std::string(kMucAdmin));
      i.set_attr("affiliation", to_string(affiliation_of(o.real)));
      i.set_attr("jid", o.real.str());
      i.set_attr("nick", nick);
      i.set_attr("role", to_string(o.role));
    }
  } else {
    reply_error(stanza, StanzaError::bad_request("an <item/> names an affiliation or a role"));
    return;
  }
  xml::Element reply = iq_result(stanza);
  reply.add_child(std::move(out));
  host_.router().route(std::move(reply));
}

void Room::admin_set(const xml::Element& stanza, const Jid& from, const xml::Element& q) {
  const Affiliation actor_aff = affiliation_of(from);
  const Occupant* actor = occupant_by_real(from);
  const std::string actor_nick = actor ? actor->nick : std::string();
  struct Change {
    bool role_change = false;
    std::string nick;
    Role role = Role::None;
    std::string bare;
    Affiliation affiliation = Affiliation::None;
    std::string reason;
  };
  std::vector<Change> changes;
  auto items = q.children("item", kMucAdmin);
  if (items.empty()) {
    reply_error(stanza, StanzaError::bad_request("no <item/>"));
    return;
  }
  size_t owners = 0;
  for (const auto& [bare, e] : affiliations_)
    if (e.affiliation == Affiliation::Owner) ++owners;
  for (const xml::Element* item : items) {
    Change c;
    c.reason = item->child_text("reason", kMucAdmin);
    if (item->has_attr("role")) {
      auto role = role_from(item->attr_or("role"));
      if (!role || !item->has_attr("nick")) {
        reply_error(stanza, StanzaError::bad_request("a role change names a nick and a role"));
        return;
      }
      const Occupant* target = occupant_by_nick(item->attr_or("nick"));
      if (!target) {
        reply_error(stanza, {ErrorType::Cancel, "item-not-found", "no occupant has that nickname", {}});
        return;
      }
      if (!actor || actor->role != Role::Moderator) {
        reply_error(stanza, StanzaError::forbidden());
        return;
      }
      const Affiliation target_aff = affiliation_of(target->real);
      // Moderator status is the admins' to give and take (§9.6-9.7);
      // nobody changes the role of an admin or owner (§8.2, §8.4).
      if ((*role == Role::Moderator || target->role == Role::Moderator) && actor_aff < Affiliation::Admin) {
        reply_error(stanza, StanzaError::forbidden());
        return;
      }
      if (target_aff >= Affiliation::Admin && *role != Role::Moderator) {
        reply_error(stanza, StanzaError::not_allowed("admins and owners keep their role"));
        return;
      }
      c.role_change = true;
      c.nick = target->nick;
      c.role = *role;
    } else if (item->has_attr("affiliation")) {
      auto aff = affiliation_from(item->attr_or("affiliation"));
      std::optional<Jid> jid = attr_jid(*item, "jid");
      if (!aff || !jid) {
        reply_error(stanza, StanzaError::bad_request("an affiliation change names a jid and an affiliation"));
        return;
      }
      if (actor_aff < Affiliation::Admin) {
        reply_error(stanza, StanzaError::forbidden());
        return;
      }
      const std::string bare = jid->bare_str();
      auto it = affiliations_.find(bare);
      const Affiliation current = it == affiliations_.end() ? Affiliation::None : it->second.affiliation;
      if (actor_aff == Affiliation::Admin && (current >= Affiliation::Admin || *aff >= Affiliation::Admin)) {
        reply_error(stanza, StanzaError::forbidden());
        return;
      }
      if (current == Affiliation::Owner && *aff != Affiliation::Owner && owners <= 1) {
        reply_error(stanza, {ErrorType::Cancel, "conflict", "a room keeps at least one owner", {}});
        return;
      }
      if (current == Affiliation::Owner && *aff != Affiliation::Owner) --owners;
      c.bare = bare;
      c.affiliation = *aff;
    } else {
      reply_error(stanza, StanzaError::bad_request("an <item/> changes a role or an affiliation"));
      return;
    }
    changes.push_back(std::move(c));
  }
  // The member list cannot grow past the room's cap.
  size_t members = member_count();
  for (const auto& c : changes) {
    if (c.role_change) continue;
    auto it = affiliations_.find(c.bare);
    const bool was = it != affiliations_.end() && it->second.affiliation >= Affiliation::Member;
    const bool will = c.affiliation >= Affiliation::Member;
    if (will && !was) ++members;
    if (was && !will) --members;
  }
  if (static_cast<int64_t>(members) > cap() && members > member_count()) {
    reply_error(stanza, StanzaError::not_allowed("the room has reached its member limit (" +
                                                 std::to_string(cap()) + ")"));
    return;
  }

  std::vector<storage::MucAffiliation> writes;
  for (const auto& c : changes) {
    if (c.role_change) {
      Occupant* target = occupant_by_nick(c.nick);
      if (!target) continue;  // kicked by an earlier item
      if (c.role == Role::None) {
        leave(c.nick, {307}, c.reason, actor_nick);
      } else if (target->role != c.role) {
        target->role = c.role;
        broadcast_presence(*target, {110});
      }
      continue;
    }
    if (c.affiliation == Affiliation::None) {
      affiliations_.erase(c.bare);
    } else {
      auto& e = affiliations_[c.bare];
      e.affiliation = c.affiliation;
      e.reason = c.reason;
    }
    const auto& e = affiliations_.count(c.bare) ? affiliations_[c.bare] : AffiliationEntry{};
    writes.push_back({c.bare, to_string(c.affiliation), e.nick, c.reason});
    affiliation_changed(c.bare, c.affiliation, actor_nick, c.reason);
  }
  xml::Element reply = iq_result(stanza);
  if (stored_ && !writes.empty()) {
    persist(
        [service = jid_.domain(), room = jid_.local(), writes](storage::MucStore& s) {
          for (const auto& w : writes) s.set_affiliation(service, room, w);
        },
        std::move(reply), stanza);
  } else {
    host_.router().route(std::move(reply));
  }
}

void Room::affiliation_changed(const std::string& bare, Affiliation now, const std::string& actor,
                               const std::string& reason) {
  std::vector<std::string> nicks;
  for (const auto& [nick, o] : occupants_)
    if (o.real.bare_str() == bare) nicks.push_back(nick);
  for (const auto& nick : nicks) {
    if (now == Affiliation::Outcast) {
      leave(nick, {301}, reason, actor);
    } else if (now == Affiliation::None && config_.members_only) {
      leave(nick, {321}, reason, actor);
    } else if (Occupant* o = occupant_by_nick(nick)) {
      o->role = default_role(now);
      broadcast_presence(*o, {110});
    }
  }
}

void Room::owner_get(const xml::Element& stanza, const Jid& from) {
  if (affiliation_of(from) != Affiliation::Owner) {
    reply_error(stanza, StanzaError::forbidden());
    return;
  }
  xml::Element q = query(kMucOwner);
  q.add_child(config_form(config_, host_.limits().max_users, host_.limits().max_history));
  xml::Element reply = iq_result(stanza);
  reply.add_child(std::move(q));
  host_.router().route(std::move(reply));
}

void Room::owner_set(const xml::Element& stanza, const Jid& from, const xml::Element& q) {
  if (affiliation_of(from) != Affiliation::Owner) {
    reply_error(stanza, StanzaError::forbidden());
    return;
  }
  if (const xml::Element* d = q.child("destroy", kMucOwner)) {
    std::string alternate = d->attr_or("jid");
    if (!alternate.empty() && !Jid::parse(alternate)) {
      reply_error(stanza, StanzaError::jid_malformed());
      return;
    }
    xml::Element reply = iq_result(stanza);
    const bool was_stored = stored_;
    destroy(alternate, d->child_text("reason", kMucOwner));
    if (was_stored)
      persist([service = jid_.domain(), room = jid_.local()](storage::MucStore& s) { s.remove_room(service, room); },
              std::move(reply), stanza);
    else
      host_.router().route(std::move(reply));
    return;
  }
  const xml::Element* x = q.child("x", kDataForms);
  if (!x) {
    reply_error(stanza, StanzaError::bad_request("a configuration form or <destroy/>"));
    return;
  }
  const std::string type = x->attr_or("type");
  if (type == "cancel") {
    xml::Element reply = iq_result(stanza);
    host_.router().route(std::move(reply));
    // Cancelling the initial configuration destroys the room (§10.1.3).
    if (locked_) destroy({}, {});
    return;
  }
  if (type != "submit") {
    reply_error(stanza, StanzaError::bad_request("the form's type is submit or cancel"));
    return;
  }
  const RoomConfig before = config_;
  if (auto error = apply_form(*x, config_, host_.limits().max_users, host_.limits().max_history)) {
    reply_error(stanza, *error);
    return;
  }
  while (static_cast<int64_t>(history_.size()) > config_.history_length) history_.pop_front();
  const bool was_locked = locked_;
  locked_ = false;
  publish_listing();
  if (!was_locked) config_changed(before);
  xml::Element reply = iq_result(stanza);
  if (config_.persistent) {
    if (stored_) {
      persist([rec = record()](storage::MucStore& s) { s.put_room(rec); }, std::move(reply), stanza);
    } else {
      stored_ = true;
      std::vector<storage::MucAffiliation> affs;
      for (const auto& [bare, e] : affiliations_)
        affs.push_back({bare, to_string(e.affiliation), e.nick, e.reason});
      persist(
          [rec = record(), affs](storage::MucStore& s) {
            s.put_room(rec);
            for (const auto& a : affs) s.set_affiliation(rec.service, rec.room, a);
          },
          std::move(reply), stanza);
    }
  } else if (stored_) {
    stored_ = false;
    persist([service = jid_.domain(), room = jid_.local()](storage::MucStore& s) { s.remove_room(service, room); },
            std::move(reply), stanza);
  } else {
    host_.router().route(std::move(reply));
  }
}

void Room::config_changed(const RoomConfig& before) {
  std::vector<int> codes{104};
  if (before.non_anonymous() != config_.non_anonymous()) codes.push_back(config_.non_anonymous() ? 172 : 173);
  status_message(codes);
  // Now members-only: those without an affiliation leave (§9.2, status 322).
  if (config_.members_only && !before.members_only) {
    std::vector<std::string> out;
    for (const auto& [nick, o] : occupants_)
      if (affiliation_of(o.real) == Affiliation::None) out.push_back(nick);
    for (const auto& nick : out) leave(nick, {322}, {}, {}, false);
  }
  if (config_.moderated != before.moderated) {
    for (auto& [nick, o] : occupants_) {
      const Role role = default_role(affiliation_of(o.real));
      if (affiliation_of(o.real) == Affiliation::None && o.role != role) {
        o.role = role;
        broadcast_presence(o, {110});
      }
    }
  }
}

void Room::destroy(const std::string& alternate, const std::string& reason) {
  for (const auto& [nick, o] : occupants_) {
    xml::Element p = make_presence("unavailable", occupant_jid(nick).str(), {});
    xml::Element& x = p.add_child("x", std::string(kMucUser));
    xml::Element& item = x.add_child("item", std::string(kMucUser));
    item.set_attr("affiliation", "none");
    item.set_attr("role", "none");
    xml::Element& d = x.add_child("destroy", std::string(kMucUser));
    if (!alternate.empty()) d.set_attr("jid", alternate);
    if (!reason.empty()) d.add_child("reason", std::string(kMucUser)).add_text(reason);
    x.add_child("status", std::string(kMucUser)).set_attr("code", "110");
    p.add_child("occupant-id", std::string(kOccupantId)).set_attr("id", o.occupant_id);
    send_all(o, p);
  }
  stored_ = false;
  gone();
}

}  // namespace parley::muc

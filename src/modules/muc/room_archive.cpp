// The room's own archive (XEP-0313 on the room JID, "MUC MAM"): every
// groupchat message with a body is appended in the room's storage lane, in
// the room's order, under the stanza-id the room stamped; members and
// occupants page through it with RSM and search it like a 1:1 archive.
// The query protocol (form, RSM, <result/>, <fin/>) is the mam module's pure
// protocol code (modules/mam/mam_query.hpp), shared rather than copied.
#include <spdlog/logger.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "modules/mam/mam_policy.hpp"
#include "modules/mam/mam_query.hpp"
#include "modules/muc/muc_ns.hpp"
#include "modules/muc/room.hpp"
#include "xmpp/blocking_pool.hpp"
#include "xmpp/detached.hpp"
#include "xmpp/router.hpp"
#include "xmpp/xml/fragment.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley::muc {

namespace asio = boost::asio;

void Room::archive(const xml::Element& message, const std::string& id, const std::string& nick,
                   DeliveryHold hold) {
  if (message.child("no-store", "urn:xmpp:hints") ||
      message.child("no-permanent-store", "urn:xmpp:hints"))
    return;
  storage::ArchiveEntry entry;
  entry.id = id;
  entry.stamp = std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now());
  entry.with_bare = jid_.bare_str();
  entry.with_resource = nick;
  entry.stanza_xml = xml::serialize(message, "jabber:client");
  entry.body = mam::searchable_text(message);
  asio::co_spawn(strand_, archive_task(shared_from_this(), std::move(entry), std::move(hold)),
                 log_exceptions("muc archive"));
}

// `hold` keeps the sender's stream-management ack back until the commit
// (DESIGN.md, durability rule).
asio::awaitable<void> Room::archive_task([[maybe_unused]] std::shared_ptr<Room> self,
                                         storage::ArchiveEntry entry,
                                         [[maybe_unused]] DeliveryHold hold) {
  const std::string key = jid_.bare_str();
  const storage::AccountKey owner{jid_.domain(), jid_.local()};
  try {
    // Tasks start in the room's order on its strand, and the group commit
    // keeps arrival order, so the archive order is the room's order.
    storage::ArchiveAppend append{owner, std::move(entry)};
    co_await host_.archive_writer().write(std::move(append), asio::use_awaitable);
  } catch (const std::exception& e) {
    host_.log().warn("archiving a message of {} failed: {}", key, e.what());
  }
}

// XEP-0425: a moderator retracts someone's message. The archived message
// becomes a tombstone, history on join forgets it, and every occupant is told.
void Room::moderate(const xml::Element& stanza, const Jid& from, const xml::Element& moderate) {
  const Occupant* actor = occupant_by_real(from);
  if (!actor || actor->role != Role::Moderator) {
    reply_error(stanza, StanzaError::forbidden());
    return;
  }
  const std::string id = moderate.attr_or("id");
  if (id.empty() || !moderate.child("retract", kRetract)) {
    reply_error(stanza, StanzaError::bad_request("<moderate id='...'><retract/></moderate>"));
    return;
  }
  xml::Element moderated("moderated", std::string(kModerate));
  moderated.set_attr("by", occupant_jid(actor->nick).str());
  moderated.add_child("occupant-id", std::string(kOccupantId)).set_attr("id", actor->occupant_id);
  asio::co_spawn(strand_,
                 moderate_task(shared_from_this(), stanza, id, std::move(moderated),
                               moderate.child_text("reason", kModerate)),
                 log_exceptions("muc moderation"));
}

asio::awaitable<void> Room::moderate_task([[maybe_unused]] std::shared_ptr<Room> self,
                                          xml::Element stanza, std::string id,
                                          xml::Element moderated, std::string reason) {
  const std::string key = jid_.bare_str();
  const storage::AccountKey owner{jid_.domain(), jid_.local()};
  xml::Element tombstone = make_message("groupchat", jid_.bare_str(), {});
  xml::Element& retracted = tombstone.add_child("retracted", std::string(kRetract));
  retracted.set_attr("stamp", xep0082_now());
  retracted.add_child(moderated);
  if (!reason.empty()) retracted.add_child("reason", std::string(kModerate)).add_text(reason);
  tombstone.add_child("stanza-id", std::string(kStanzaId)).with_attr("id", id).set_attr("by", key);
  const std::string tombstone_xml = xml::serialize(tombstone, "jabber:client");
  bool found = false;
  try {
    // Messages archived before this (on the room's strand) are committed first.
    co_await host_.archive_writer().after_pending(asio::use_awaitable);
    found = co_await host_.pool().run_ordered(key, [this, &owner, &id, &tombstone_xml] {
      return host_.archive().replace_with_tombstone(owner, id, tombstone_xml);
    });
  } catch (const std::exception& e) {
    host_.log().warn("moderating a message of {} failed: {}", key, e.what());
    reply_error(stanza, {ErrorType::Wait, "internal-server-error", "archive unavailable", {}});
    co_return;
  }
  const auto in_history = std::find_if(history_.begin(), history_.end(), [&id, &key](const HistoryEntry& h) {
    for (const xml::Element* sid : h.message.children("stanza-id", kStanzaId))
      if (sid->attr_or("id") == id && sid->attr_or("by") == key) return true;
    return false;
  });
  if (!found && in_history == history_.end()) {
    reply_error(stanza, StanzaError::item_not_found());
    co_return;
  }
  if (in_history != history_.end()) history_.erase(in_history);
  // Everyone is told, and the notice is archived so that catching up shows it.
  xml::Element notice = make_message("groupchat", jid_.bare_str(), {});
  notice.set_attr("id", random_id());
  xml::Element& retract = notice.add_child("retract", std::string(kRetract));
  retract.set_attr("id", id);
  retract.add_child(std::move(moderated));
  if (!reason.empty()) retract.add_child("reason", std::string(kModerate)).add_text(reason);
  const std::string notice_id = random_id();
  notice.add_child("stanza-id", std::string(kStanzaId)).with_attr("id", notice_id).set_attr("by", key);
  for (const auto& [nick, o] : occupants_) send_all(o, notice);
  if (config_.persistent) archive(notice, notice_id, {}, {});
  xml::Element reply = iq_result(stanza);
  host_.router().route(std::move(reply));
}

// XEP-0424 in a room: the author retracts its own message. The retraction was
// passed on like any message; the archived original becomes a tombstone if
// it has the retracting occupant's occupant-id.
asio::awaitable<void> Room::retract_task([[maybe_unused]] std::shared_ptr<Room> self,
                                         std::string id, std::string occupant_id) {
  const std::string key = jid_.bare_str();
  const storage::AccountKey owner{jid_.domain(), jid_.local()};
  xml::Element tombstone = make_message("groupchat", jid_.bare_str(), {});
  tombstone.add_child("retracted", std::string(kRetract)).set_attr("stamp", xep0082_now());
  tombstone.add_child("stanza-id", std::string(kStanzaId)).with_attr("id", id).set_attr("by", key);
  tombstone.add_child("occupant-id", std::string(kOccupantId)).set_attr("id", occupant_id);
  const std::string tombstone_xml = xml::serialize(tombstone, "jabber:client");
  std::erase_if(history_, [&](const HistoryEntry& h) {
    bool same_id = false;
    for (const xml::Element* sid : h.message.children("stanza-id", kStanzaId))
      same_id = same_id || (sid->attr_or("id") == id && sid->attr_or("by") == key);
    const xml::Element* oid = h.message.child("occupant-id", kOccupantId);
    return same_id && oid && oid->attr_or("id") == occupant_id;
  });
  try {
    co_await host_.archive_writer().after_pending(asio::use_awaitable);
    co_await host_.pool().run_ordered(key, [this, &owner, &id, &occupant_id, &tombstone_xml] {
      storage::ArchiveQuery q;
      q.ids = {id};
      q.max = 1;
      auto page = host_.archive().query(owner, q);
      if (!page.ids_found || page.messages.empty()) return;
      auto original = xml::parse_fragment(page.messages.front().stanza_xml);
      const xml::Element* oid = original ? original->child("occupant-id", kOccupantId) : nullptr;
      if (!oid || oid->attr_or("id") != occupant_id) return;  // not the author's
      host_.archive().replace_with_tombstone(owner, id, tombstone_xml);
    });
  } catch (const std::exception& e) {
    host_.log().warn("retracting a message of {} failed: {}", key, e.what());
  }
}

bool Room::may_read_archive(const Jid& from) const {
  const Affiliation a = affiliation_of(from);
  if (a == Affiliation::Outcast) return false;
  return a >= Affiliation::Member || nick_of_.count(from.str()) > 0;
}

void Room::archive_query(const xml::Element& stanza, const Jid& from, const xml::Element& query,
                         bool get) {
  if (!may_read_archive(from)) {
    reply_error(stanza, {ErrorType::Auth, "forbidden",
                         "only members and occupants may read the room's archive", {}});
    return;
  }
  if (get) {
    xml::Element reply = iq_result(stanza);
    reply.add_child(mam::query_form());
    host_.router().route(std::move(reply));
    return;
  }
  auto parsed = mam::parse_query(query, mam::PageLimits{50, 250});
  if (auto* error = std::get_if<StanzaError>(&parsed)) {
    reply_error(stanza, *error);
    return;
  }
  asio::co_spawn(strand_,
                 archive_query_task(shared_from_this(), stanza, from,
                                    std::get<mam::ParsedQuery>(std::move(parsed))),
                 log_exceptions("muc archive query"));
}

asio::awaitable<void> Room::archive_query_task([[maybe_unused]] std::shared_ptr<Room> self,
                                               xml::Element stanza, Jid from,
                                               mam::ParsedQuery parsed) {
  const std::string key = jid_.bare_str();
  const storage::AccountKey owner{jid_.domain(), jid_.local()};
  storage::ArchivePage page;
  try {
    // Every message archived before the query (on the room's strand) is
    // committed before it runs.
    co_await host_.archive_writer().after_pending(asio::use_awaitable);
    page = co_await host_.pool().run_ordered(
        key, [this, &owner, &parsed] { return host_.archive().query(owner, parsed.query); });
  } catch (const std::exception& e) {
    host_.log().warn("archive query on {} failed: {}", key, e.what());
    reply_error(stanza, {ErrorType::Wait, "internal-server-error", "archive unavailable", {}});
    co_return;
  }
  if (!page.ids_found) {
    reply_error(stanza, StanzaError::item_not_found());
    co_return;
  }
  std::vector<const storage::ArchivedMessage*> order;
  for (const auto& m : page.messages) order.push_back(&m);
  if (parsed.flip) std::reverse(order.begin(), order.end());
  for (const auto* m : order)
    if (auto result = mam::result_message(*m, parsed.queryid, jid_.bare_str(), from.str()))
      host_.router().route(std::move(*result));
  xml::Element reply = iq_result(stanza);
  reply.add_child(mam::fin_element(page));
  host_.router().route(std::move(reply));
}

}  // namespace parley::muc

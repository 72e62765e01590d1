// The room's own archive (XEP-0313 on the room JID, "MUC MAM"): every
// groupchat message with a body is appended in the room's storage lane, in
// the room's order, under the stanza-id the room stamped; members and
// occupants page through it with RSM and search it like a 1:1 archive.
// The query protocol (form, RSM, <result/>, <fin/>) is the mam module's pure
// protocol code (modules/mam/mam_query.hpp), shared rather than copied.
#include <spdlog/logger.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>

#include "modules/mam/mam_policy.hpp"
#include "modules/mam/mam_query.hpp"
#include "modules/muc/muc_ns.hpp"
#include "modules/muc/room.hpp"
#include "xmpp/blocking_pool.hpp"
#include "xmpp/detached.hpp"
#include "xmpp/router.hpp"
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
    co_await host_.pool().run_ordered(key, [this, &owner, &entry] { host_.archive().append(owner, entry); });
  } catch (const std::exception& e) {
    host_.log().warn("archiving a message of {} failed: {}", key, e.what());
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
    // The room's lane: every message archived before the query is in it.
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

#pragma once
// The local session table and the RFC 6121 §8 delivery rules. The table is
// sharded by bare JID; no lock is held while a stanza is processed, and a
// stanza for a session on another thread is posted to that thread.
#include <array>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "xmpp/jid.hpp"
#include "xmpp/session.hpp"
#include "xmpp/xml/element.hpp"

namespace parley {

class ServerCore;
class Host;
struct StanzaError;

struct RouteEntry {
  SessionPtr session;
  int priority = 0;
  bool available = false;
  bool interested = false;
  // The connection dropped and the session waits for XEP-0198 resumption:
  // messages go to other resources or offline storage instead.
  bool hibernated = false;
  std::shared_ptr<const xml::Element> presence;  // last broadcast presence
};

class Router {
 public:
  explicit Router(ServerCore& core) : core_(core) {}

  enum class BindResult { Ok, Replaced, TooManyResources };
  // Adds a bound session. A session with the same full JID is replaced and
  // returned in `replaced` (the caller closes it with <conflict/>).
  BindResult bind(const SessionPtr& session, size_t max_resources, SessionPtr& replaced);
  void unbind(const Session& session);
  void update_presence(const Session& session, std::shared_ptr<const xml::Element> presence);
  void set_interested(const Session& session, bool interested);
  void set_hibernated(const Session& session, bool hibernated);
  // A resumed session (XEP-0198) takes the place of the hibernated one,
  // keeping its presence and flags. False if `old` is not bound any more.
  bool replace(const Session& old, const SessionPtr& successor);

  std::vector<RouteEntry> sessions_of(const Jid& bare) const;
  SessionPtr find(const Jid& full) const;
  std::vector<RouteEntry> all_sessions() const;
  size_t session_count() const;

  // Routes a stanza whose `from` is already stamped. `origin` is the local
  // session that sent it, if any. Callable from any thread.
  void route(xml::Element stanza, SessionPtr origin = nullptr);
  // Routes a stanza a module took from its sender and routes again later (the
  // archive): `hold` keeps the sender's ack back, and goes with every copy
  // delivered or stored, as if the sending session were still routing it.
  void route(xml::Element stanza, DeliveryHold hold);
  // A message fanned out to many recipients (a room's groupchat message to
  // its occupants' sessions), as route(copy addressed to each, hold) would,
  // but prepared once: its `from` is parsed once, and an awake session writes
  // the shared bytes with its address spliced in (Session::send_shared). The
  // hooks for each local recipient get a tree of their own and may take it
  // (Stop), but must not change it and let it go on.
  void fan_out(const std::shared_ptr<const SharedStanza>& message, std::span<const Jid> recipients,
               DeliveryHold hold);
  // The hold for a delivery: the sending session's, else the one carried by
  // route(stanza, hold) or redeliver() on this thread, else a new one; each
  // counts in core.deliveries() (see DeliveryTracker).
  DeliveryHold hold_for(Session* origin);
  // A message a session took but its client never received (unacknowledged
  // under XEP-0198, or arriving as the session closed), after that session
  // left the table: to the account's other available resources, else to
  // offline storage; one sent to the bare JID only if no other resource got
  // it. Hooks do not run again, so it is not archived twice. `hold` (the
  // sender's, if it still waits) goes with the copy delivered or stored.
  void redeliver(xml::Element message, DeliveryHold hold = {});
  // Sends an error reply for `stanza` unless it is itself an error.
  void bounce(const xml::Element& stanza, const StanzaError& error);
  // Service domains (e.g. conference.<host>): a module claims a domain that is
  // not a host and gets every stanza routed to it or to any JID at it, on the
  // routing thread, after StanzaFromAccount and before remote delivery. The
  // handler must be thread-safe and must not block. False if the domain is a
  // host or already claimed.
  using ServiceHandler = std::function<void(xml::Element stanza, SessionPtr origin)>;
  bool claim_service(const std::string& domain, ServiceHandler handler);
  void release_service(const std::string& domain);
  bool is_service(const std::string& domain) const;
  // Delivery to non-local domains (s2s, cluster). Default: remote-server-not-found.
  void set_remote_route(std::function<void(xml::Element)> route) { remote_ = std::move(route); }

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::vector<RouteEntry>> by_bare;
  };
  Shard& shard_for(const std::string& bare) const;
  // Runs `update` on the session's entry under its shard's lock; false if the
  // session is not in the table. Defined (and only used) in router.cpp.
  template <class Update>
  bool update_entry(const Session& session, Update&& update);

  void route_message(Host& host, const Jid& to, xml::Element stanza, SessionPtr origin);
  void route_presence(Host& host, const Jid& to, xml::Element stanza, SessionPtr origin);
  void route_iq(Host& host, const Jid& to, xml::Element stanza, SessionPtr origin);
  void deliver_message_to_bare(Host& host, const Jid& to, xml::Element stanza, SessionPtr origin);
  // A message to a full JID no session takes: bounced, dropped or sent on to the bare JID.
  void message_to_absent_resource(Host& host, const Jid& to, xml::Element stanza,
                                  SessionPtr origin);
  void deliver_to_available(Host& host, const Jid& bare, xml::Element stanza, SessionPtr origin);
  SessionPtr find_awake(const Jid& full) const;
  void undeliverable(Host& host, const Jid& to, xml::Element stanza, SessionPtr origin);

  boost::asio::awaitable<void> store_undeliverable(Host& host, Jid bare, xml::Element stanza,
                                                   DeliveryHold hold);

  std::shared_ptr<const ServiceHandler> find_service(const std::string& domain) const;

  ServerCore& core_;
  mutable std::array<Shard, kShards> shards_;
  mutable std::shared_mutex services_mutex_;
  std::unordered_map<std::string, std::shared_ptr<const ServiceHandler>> services_;
  std::function<void(xml::Element)> remote_;
};

}  // namespace parley

#include "xmpp/router.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "xmpp/core.hpp"
#include "xmpp/detached.hpp"
#include "xmpp/events.hpp"
#include "xmpp/host.hpp"
#include "xmpp/iq.hpp"
#include "xmpp/stanza.hpp"

namespace parley {

namespace asio = boost::asio;

Router::Shard& Router::shard_for(const std::string& bare) const {
  return shards_[std::hash<std::string>{}(bare) % kShards];
}

Router::BindResult Router::bind(const SessionPtr& session, size_t max_resources,
                                SessionPtr& replaced) {
  const std::string bare = session->jid().bare_str();
  Shard& shard = shard_for(bare);
  std::lock_guard lock(shard.mutex);
  auto& list = shard.by_bare[bare];
  for (auto& entry : list) {
    if (entry.session->jid() == session->jid()) {
      replaced = entry.session;
      entry = RouteEntry{session, 0, false, false, false, nullptr};
      return BindResult::Replaced;
    }
  }
  if (max_resources && list.size() >= max_resources) {
    if (list.empty()) shard.by_bare.erase(bare);
    return BindResult::TooManyResources;
  }
  list.push_back(RouteEntry{session, 0, false, false, false, nullptr});
  return BindResult::Ok;
}

void Router::unbind(const Session& session) {
  const std::string bare = session.jid().bare_str();
  Shard& shard = shard_for(bare);
  std::lock_guard lock(shard.mutex);
  auto it = shard.by_bare.find(bare);
  if (it == shard.by_bare.end()) return;
  std::erase_if(it->second, [&](const RouteEntry& e) { return e.session.get() == &session; });
  if (it->second.empty()) shard.by_bare.erase(it);
}

template <class Update>
bool Router::update_entry(const Session& session, Update&& update) {
  const std::string bare = session.jid().bare_str();
  Shard& shard = shard_for(bare);
  std::lock_guard lock(shard.mutex);
  auto it = shard.by_bare.find(bare);
  if (it == shard.by_bare.end()) return false;
  for (auto& e : it->second)
    if (e.session.get() == &session) {
      update(e);
      return true;
    }
  return false;
}

void Router::update_presence(const Session& session, std::shared_ptr<const xml::Element> presence) {
  update_entry(session, [&](RouteEntry& e) {
    e.available = session.available();
    e.priority = session.priority();
    e.presence = std::move(presence);
  });
}

void Router::set_interested(const Session& session, bool interested) {
  update_entry(session, [&](RouteEntry& e) { e.interested = interested; });
}

void Router::set_hibernated(const Session& session, bool hibernated) {
  update_entry(session, [&](RouteEntry& e) { e.hibernated = hibernated; });
}

bool Router::replace(const Session& old, const SessionPtr& successor) {
  return update_entry(old, [&](RouteEntry& e) {
    e.session = successor;
    e.hibernated = false;
  });
}

SessionPtr Router::find_awake(const Jid& full) const {
  const std::string key = full.bare_str();
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.by_bare.find(key);
  if (it == shard.by_bare.end()) return nullptr;
  for (const auto& e : it->second)
    if (e.session->jid() == full) return e.hibernated ? nullptr : e.session;
  return nullptr;
}

std::vector<RouteEntry> Router::sessions_of(const Jid& bare) const {
  const std::string key = bare.bare_str();
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.by_bare.find(key);
  if (it == shard.by_bare.end()) return {};
  return it->second;
}

SessionPtr Router::find(const Jid& full) const {
  const std::string key = full.bare_str();
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.by_bare.find(key);
  if (it == shard.by_bare.end()) return nullptr;
  for (const auto& e : it->second)
    if (e.session->jid() == full) return e.session;
  return nullptr;
}

std::vector<RouteEntry> Router::all_sessions() const {
  std::vector<RouteEntry> out;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [bare, list] : shard.by_bare) out.insert(out.end(), list.begin(), list.end());
  }
  return out;
}

size_t Router::session_count() const {
  size_t n = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [bare, list] : shard.by_bare) n += list.size();
  }
  return n;
}

bool Router::claim_service(const std::string& domain, ServiceHandler handler) {
  if (core_.host(domain)) return false;
  std::unique_lock lock(services_mutex_);
  return services_.emplace(domain, std::make_shared<const ServiceHandler>(std::move(handler)))
      .second;
}

void Router::release_service(const std::string& domain) {
  std::unique_lock lock(services_mutex_);
  services_.erase(domain);
}

bool Router::is_service(const std::string& domain) const {
  return find_service(domain) != nullptr;
}

std::shared_ptr<const Router::ServiceHandler> Router::find_service(
    const std::string& domain) const {
  std::shared_lock lock(services_mutex_);
  auto it = services_.find(domain);
  return it == services_.end() ? nullptr : it->second;
}

void Router::bounce(const xml::Element& stanza, const StanzaError& error) {
  if (is_error(stanza)) return;  // never answer an error with an error
  if (!stanza.has_attr("from")) return;
  route(error_reply(stanza, error));
}

namespace {
// Set only for the duration of route(stanza, hold), which runs synchronously
// up to the point where each delivery or store takes its own copy.
thread_local const DeliveryHold* carried_hold = nullptr;

class CarryHold {
 public:
  explicit CarryHold(const DeliveryHold& hold) : outer_(carried_hold) { carried_hold = &hold; }
  ~CarryHold() { carried_hold = outer_; }
  CarryHold(const CarryHold&) = delete;
  CarryHold& operator=(const CarryHold&) = delete;

 private:
  const DeliveryHold* outer_;
};
}  // namespace

DeliveryHold Router::hold_for(Session* origin) {
  if (origin)
    if (DeliveryHold hold = origin->hold_delivery()) return hold;
  if (carried_hold && *carried_hold) return *carried_hold;
  return core_.deliveries().track();
}

void Router::route(xml::Element stanza, DeliveryHold hold) {
  CarryHold carry(hold);
  route(std::move(stanza), SessionPtr{});
}

void Router::route(xml::Element stanza, SessionPtr origin) {
  std::optional<Jid> to = attr_jid(stanza, "to");
  if (!to) {
    bounce(stanza, StanzaError::jid_malformed());
    return;
  }
  // Account-level filters (blocking, forged carbons) see every stanza from or
  // to a local account, whatever its kind and whoever routes it.
  if (std::optional<Jid> from = attr_jid(stanza, "from"); from && !from->local().empty())
    if (Host* from_host = core_.host(from->domain());
        from_host && from_host->hooks().has_handlers<StanzaFromAccount>()) {
      StanzaFromAccount event{*from_host, *from, *to, stanza};
      if (from_host->hooks().run(event) == Flow::Stop) return;
    }
  Host* host = core_.host(to->domain());
  if (!host) {
    if (auto service = find_service(to->domain())) {
      (*service)(std::move(stanza), std::move(origin));
      return;
    }
    if (remote_)
      remote_(std::move(stanza));
    else
      bounce(stanza, StanzaError::remote_server_not_found());
    return;
  }
  if (!to->local().empty()) {
    StanzaToAccount event{*host, *to, stanza, origin.get()};
    if (host->hooks().run(event) == Flow::Stop) return;
  }
  switch (stanza_kind(stanza)) {
    case StanzaKind::Message:
      route_message(*host, *to, std::move(stanza), std::move(origin));
      break;
    case StanzaKind::Presence:
      route_presence(*host, *to, std::move(stanza), std::move(origin));
      break;
    case StanzaKind::Iq:
      route_iq(*host, *to, std::move(stanza), std::move(origin));
      break;
    case StanzaKind::Other:
      break;
  }
}

// RFC 6121 §8.5.2 (bare JID) and §8.5.3 (full JID) for local accounts.
void Router::fan_out(const std::shared_ptr<const SharedStanza>& message,
                     std::span<const Jid> recipients, DeliveryHold hold) {
  CarryHold carry(hold);
  const bool is_message = message->element().name() == "message";
  // Account filters of a local sender need the general path (rooms are not
  // accounts, so their fan-out never takes it).
  bool sender_filtered = false;
  if (std::optional<Jid> from = attr_jid(message->element(), "from");
      from && !from->local().empty())
    if (Host* from_host = core_.host(from->domain()))
      sender_filtered = from_host->hooks().has_handlers<StanzaFromAccount>();
  for (const Jid& to : recipients) {
    Host* host = core_.host(to.domain());
    if (!host || !to.is_full() || !is_message || sender_filtered) {
      route(message->addressed_to(to), hold);
      continue;
    }
    xml::Element tree = message->addressed_to(to);
    StanzaToAccount to_account{*host, to, tree, nullptr};
    if (host->hooks().run(to_account) == Flow::Stop) continue;
    MessageToFull to_full{*host, to, tree, nullptr};
    if (host->hooks().run(to_full) == Flow::Stop) continue;
    const std::string type = tree.attr_or("type", "normal");
    // A room's message also goes to a session waiting for XEP-0198
    // resumption: it queues it and replays it if the client comes back
    // (a 1:1 message goes to other resources or offline storage instead).
    if (SessionPtr target = type == "groupchat" ? find(to) : find_awake(to)) {
      target->send_shared(message, hold);
      continue;
    }
    message_to_absent_resource(*host, to, std::move(tree), nullptr);
  }
}

void Router::route_message(Host& host, const Jid& to, xml::Element stanza, SessionPtr origin) {
  if (to.is_domain()) {
    StanzaToHost event{host, stanza, origin.get()};
    host.hooks().run(event);
    return;
  }
  if (to.is_full()) {
    MessageToFull event{host, to, stanza, origin.get()};
    if (host.hooks().run(event) == Flow::Stop) return;
    if (SessionPtr target = find_awake(to)) {
      target->send(std::move(stanza), hold_for(origin.get()));
      return;
    }
    message_to_absent_resource(host, to, std::move(stanza), std::move(origin));
    return;
  }
  deliver_message_to_bare(host, to.bare(), std::move(stanza), std::move(origin));
}

void Router::message_to_absent_resource(Host& host, const Jid& to, xml::Element stanza,
                                        SessionPtr origin) {
  const std::string type = stanza.attr_or("type", "normal");
  if (type == "error") return;
  if (type == "groupchat") {
    bounce(stanza, StanzaError::service_unavailable());
    return;
  }
  // chat, normal, headline: treat as addressed to the bare JID (RFC 6121 §8.5.3.2.1).
  deliver_message_to_bare(host, to.bare(), std::move(stanza), std::move(origin));
}

void Router::deliver_message_to_bare(Host& host, const Jid& bare, xml::Element stanza,
                                     SessionPtr origin) {
  MessageToBare event{host, bare, stanza, origin.get()};
  if (host.hooks().run(event) == Flow::Stop) return;
  const std::string type = stanza.attr_or("type", "normal");
  if (type == "error") return;
  if (type == "groupchat") {
    bounce(stanza, StanzaError::service_unavailable());
    return;
  }
  deliver_to_available(host, bare, std::move(stanza), std::move(origin));
}

void Router::redeliver(xml::Element message, DeliveryHold hold) {
  CarryHold carry(hold);
  std::optional<Jid> to = attr_jid(message, "to");
  if (!to || to->is_domain()) return;
  Host* host = core_.host(to->domain());
  if (!host) return;
  const std::string type = message.attr_or("type", "normal");
  if (type == "error" || type == "groupchat" || type == "headline") return;
  if (to->is_full()) {
    deliver_to_available(*host, to->bare(), std::move(message), nullptr);
    return;
  }
  // Sent to the bare JID: any other available resource got its own copy
  // already; only if there is none must the message be stored.
  auto entries = sessions_of(*to);
  std::erase_if(entries,
                [](const RouteEntry& e) { return !e.available || e.priority < 0 || e.hibernated; });
  if (entries.empty()) undeliverable(*host, *to, std::move(message), nullptr);
}

void Router::deliver_to_available(Host& host, const Jid& bare, xml::Element stanza,
                                  SessionPtr origin) {
  const std::string type = stanza.attr_or("type", "normal");
  auto entries = sessions_of(bare);
  std::erase_if(entries,
                [](const RouteEntry& e) { return !e.available || e.priority < 0 || e.hibernated; });
  if (type == "normal" && !entries.empty()) {
    // Highest priority only (ties all get it).
    int top = std::max_element(entries.begin(), entries.end(), [](auto& a, auto& b) {
                return a.priority < b.priority;
              })->priority;
    std::erase_if(entries, [top](const RouteEntry& e) { return e.priority != top; });
  }
  if (entries.empty()) {
    if (type == "headline") return;
    undeliverable(host, bare, std::move(stanza), std::move(origin));
    return;
  }
  DeliveryHold hold = hold_for(origin.get());
  for (size_t i = 0; i + 1 < entries.size(); ++i) entries[i].session->send(stanza, hold);
  entries.back().session->send(std::move(stanza), std::move(hold));
}

void Router::undeliverable(Host& host, const Jid& bare, xml::Element stanza, SessionPtr origin) {
  auto executor = origin ? origin->executor() : core_.service_executor();
  DeliveryHold hold = hold_for(origin.get());
  asio::co_spawn(executor, store_undeliverable(host, bare, std::move(stanza), std::move(hold)),
                 log_exceptions("router"));
}

// A named coroutine, not a lambda: GCC 12 mis-copies lambda coroutines that
// own their captures, which here lost the hold and the stanza.
asio::awaitable<void> Router::store_undeliverable(Host& host, Jid bare, xml::Element stanza,
                                                  DeliveryHold hold) {
  // Existence check and the offline hook run in the recipient's ordered lane,
  // so messages keep their order on their way to storage.
  bool exists = false;
  try {
    exists = co_await core_.pool().run_ordered(
        bare.bare_str(), [this, &bare] { return core_.accounts().exists(bare); });
  } catch (const std::exception& e) {
    spdlog::warn("account lookup for {} failed: {}", bare.bare_str(), e.what());
    bounce(stanza,
           StanzaError{ErrorType::Wait, "internal-server-error", "storage unavailable", {}});
    co_return;
  }
  if (!exists) {
    bounce(stanza, StanzaError::service_unavailable());
    co_return;
  }
  MessageUndeliverable event{host, bare, stanza, std::move(hold)};
  if (host.hooks().run(event) == Flow::Continue) bounce(stanza, StanzaError::service_unavailable());
}

void Router::route_presence(Host& host, const Jid& to, xml::Element stanza, SessionPtr origin) {
  if (to.is_domain()) {
    StanzaToHost event{host, stanza, origin.get()};
    host.hooks().run(event);
    return;
  }
  const std::string type = stanza.attr_or("type");
  const bool subscription = type == "subscribe" || type == "subscribed" || type == "unsubscribe" ||
                            type == "unsubscribed";
  if (to.is_full() && !subscription) {
    PresenceToFull event{host, to, stanza};
    if (host.hooks().run(event) == Flow::Stop) return;
    if (type == "probe") return;  // probes are the presence module's business
    if (SessionPtr target = find(to)) target->send(std::move(stanza));
    return;
  }
  // Subscription stanzas are always processed against the bare JID (§3).
  const Jid bare = to.bare();
  PresenceToBare event{host, bare, stanza};
  if (host.hooks().run(event) == Flow::Stop) return;
  if (subscription || type == "probe" || type == "error") return;
  // Directed available/unavailable presence to a bare JID: every available resource.
  for (const auto& e : sessions_of(bare))
    if (e.available) e.session->send(stanza);
}

void Router::route_iq(Host& host, const Jid& to, xml::Element stanza, SessionPtr origin) {
  const std::string type = stanza.attr_or("type");
  if (type == "result" || type == "error") {
    if (to.is_full())
      if (SessionPtr target = find(to)) target->send(std::move(stanza));
    return;  // responses to the server itself need no answer
  }
  if (type != "get" && type != "set") {
    bounce(stanza, StanzaError::bad_request("iq type must be get, set, result or error"));
    return;
  }
  if (to.is_full()) {
    if (SessionPtr target = find(to))
      target->send(std::move(stanza));
    else
      bounce(stanza, StanzaError::service_unavailable());
    return;
  }
  if (stanza.element_count() != 1) {
    bounce(stanza, StanzaError::bad_request("an iq get or set has exactly one child"));
    return;
  }
  std::optional<Jid> from = attr_jid(stanza, "from");
  if (!from) return;
  IqScope scope = to.is_domain()              ? IqScope::Host
                  : from->bare() == to.bare() ? IqScope::Self
                                              : IqScope::Bare;
  const xml::Element& payload = *stanza.element_children().front();
  const IqHandler* handler = host.iq().find(type == "get" ? IqType::Get : IqType::Set, scope,
                                            payload.name(), payload.xmlns());
  if (!handler) {
    bounce(stanza, StanzaError::service_unavailable());
    return;
  }
  auto executor = origin ? origin->executor() : core_.service_executor();
  IqRequest request{std::move(stanza), *from, to, scope, std::move(origin)};
  asio::co_spawn(
      executor,
      [this, h = *handler, request = std::move(request)]() mutable -> asio::awaitable<void> {
        xml::Element original = request.stanza;
        IqResult result;
        try {
          result = co_await h(std::move(request));
        } catch (const std::exception& e) {
          spdlog::error("iq handler for {} failed: {}", original.attr_or("to"), e.what());
          result = IqResult::fail({ErrorType::Wait, "internal-server-error", {}, {}});
        }
        if (result.error) {
          route(error_reply(original, *result.error));
          co_return;
        }
        xml::Element reply = iq_result(original);
        if (result.payload) reply.add_child(std::move(*result.payload));
        route(std::move(reply));
      },
      log_exceptions("router"));
}

}  // namespace parley

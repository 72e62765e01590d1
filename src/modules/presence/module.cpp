// Presence (RFC 6121 §4). Broadcast presence from a client goes to the
// contacts with a subscription from the user ('from' or 'both') and to the
// user's own available resources; initial presence also probes the contacts
// the user is subscribed to ('to' or 'both'), shows the new resource the
// user's other resources, and then fires InitialPresenceSent. Probes to a
// local account are answered here from the router's last presence of each
// available resource. Directed presence is remembered per session so that
// its recipients learn when the resource goes away.
//
// Inbound available/unavailable presence is not filtered by subscription:
// the sending server only broadcasts to subscribers, and anything else is
// directed presence, which RFC 6121 §4.6 lets through. The core's default
// delivery (router.cpp) hands it to the addressed resource(s).
//
// Rosters are read from RosterStore in the owner's ordered storage lane, the
// lane the roster module writes in, so a broadcast sees every subscription
// change made before it.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <set>

#include "modules/presence/presence_state.hpp"
#include "storage/store.hpp"
#include "xmpp/events.hpp"
#include "xmpp/module.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/stanza.hpp"

namespace parley::presence {

namespace {

namespace asio = boost::asio;
using storage::Subscription;

bool has_to(Subscription s) { return s == Subscription::To || s == Subscription::Both; }
bool has_from(Subscription s) { return s == Subscription::From || s == Subscription::Both; }
storage::AccountKey key_of(const Jid& bare) { return {bare.domain(), bare.local()}; }

class PresenceModule final : public Module {
 public:
  static ModuleInfo info() {
    return {"presence", "Presence broadcast, probes and directed presence", {"RFC 6121"}, true};
  }
  static void declare_options(config::OptionSchema& s) {
    s.add_bool("probe_reply_unavailable", true,
               "Answer a probe from a subscriber to an account with no available resource "
               "with 'unavailable' (RFC 6121 §4.3.2) instead of silence.");
  }

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    reply_unavailable_ = ctx.options().get_bool("probe_reply_unavailable");
    ctx.on<PresenceBroadcast>(Stage::Process, [this](PresenceBroadcast& ev) { return on_broadcast(ev); });
    ctx.on<OutboundPresence>(Stage::Process, [this](OutboundPresence& ev) { return on_directed(ev); });
    ctx.on<PresenceToBare>(Stage::Process, [this](PresenceToBare& ev) {
      return on_probe(ev.stanza, ev.to);
    });
    ctx.on<PresenceToFull>(Stage::Process, [this](PresenceToFull& ev) {
      return on_probe(ev.stanza, ev.to);
    });
    ctx.on<SessionClosed>(Stage::Process, [this](SessionClosed& ev) { return on_closed(ev.session); });
  }

 private:
  // --- outbound --------------------------------------------------------------

  Flow on_broadcast(PresenceBroadcast& ev) {
    Session& session = ev.session;
    const std::string type = ev.stanza.attr_or("type");
    if (type == "unavailable") {
      go_unavailable(session, ev.stanza);
      return Flow::Stop;
    }
    // Subscription types, probes and errors need a 'to'; without one they mean nothing.
    if (!type.empty()) return Flow::Stop;

    const bool initial = !session.available();
    session.set_presence_state(true, parse_priority(ev.stanza));
    xml::Element presence = ev.stanza;
    presence.set_xmlns(std::string(ns::client));
    presence.remove_attr("to");
    presence.set_attr("from", session.jid().str());
    ctx_->router().update_presence(session, std::make_shared<const xml::Element>(presence));
    if (initial) session.mark_initial_presence();
    asio::co_spawn(session.executor(),
                   broadcast_available(session.shared_from_this(), std::move(presence), initial),
                   asio::detached);
    return Flow::Stop;
  }

  void go_unavailable(Session& session, const xml::Element& stanza) {
    auto& directed = session.slot<DirectedPresence>();
    xml::Element presence = stanza;
    presence.set_xmlns(std::string(ns::client));
    presence.remove_attr("to");
    presence.set_attr("from", session.jid().str());
    if (!session.available()) {
      // Never announced: only those who got directed presence need to know.
      for (const auto& to : directed.recipients) send_to(presence, to);
      directed.recipients.clear();
      return;
    }
    session.set_presence_state(false, 0);
    ctx_->router().update_presence(session, nullptr);
    asio::co_spawn(session.executor(), broadcast_unavailable(session.shared_from_this(), std::move(presence)),
                   asio::detached);
  }

  asio::awaitable<void> broadcast_available(SessionPtr session, xml::Element presence, bool initial) {
    const Jid owner = session->jid().bare();
    storage::Roster roster = co_await load_roster(owner);
    // The session ended while the roster was loading: its close handler,
    // queued behind us, reports it unavailable; announcing it now is moot.
    if (session->slot<DirectedPresence>().closed) co_return;

    for (const auto& item : roster.items)
      if (has_from(item.subscription)) send_to(presence, item.jid);
    // §4.2.2 / §4.4.2: the user's available resources, the sender included.
    const auto own = ctx_->router().sessions_of(owner);
    for (const RouteEntry& e : own)
      if (e.available) send_to(presence, e.session->jid().str());
    if (!initial) co_return;

    // §4.3.1: probe the contacts the user is subscribed to.
    for (const auto& item : roster.items)
      if (has_to(item.subscription))
        ctx_->router().route(make_presence("probe", owner.str(), item.jid));
    // The new resource learns about the user's other available resources.
    for (const RouteEntry& e : own) {
      if (e.session == session || !e.available || !e.presence) continue;
      xml::Element other = *e.presence;
      other.set_attr("from", e.session->jid().str());
      other.set_attr("to", session->jid().str());
      ctx_->router().route(std::move(other));
    }
    InitialPresenceSent event{*session};
    session->host().hooks().run(event);
  }

  // §4.5.2: contacts with a subscription from the user, the user's other
  // available resources and the recipients of directed presence.
  asio::awaitable<void> broadcast_unavailable(SessionPtr session, xml::Element presence) {
    const Jid owner = session->jid().bare();
    storage::Roster roster = co_await load_roster(owner);
    std::set<std::string> told;
    for (const auto& item : roster.items)
      if (has_from(item.subscription)) {
        send_to(presence, item.jid);
        told.insert(item.jid);
      }
    for (const RouteEntry& e : ctx_->router().sessions_of(owner))
      if (e.available && e.session != session) send_to(presence, e.session->jid().str());
    auto& directed = session->slot<DirectedPresence>();
    for (const auto& to : directed.recipients) {
      std::optional<Jid> jid = Jid::parse(to);
      if (!jid || told.contains(jid->bare_str()) || jid->bare() == owner) continue;
      send_to(presence, to);
    }
    directed.recipients.clear();
  }

  Flow on_directed(OutboundPresence& ev) {
    const std::string type = ev.stanza.attr_or("type");
    if (!type.empty() && type != "unavailable") return Flow::Continue;
    if (ev.to.bare() == ev.session.jid().bare()) return Flow::Continue;
    auto& directed = ev.session.slot<DirectedPresence>();
    if (type.empty())
      directed.recipients.insert(ev.to.str());
    else
      directed.recipients.erase(ev.to.str());
    return Flow::Continue;  // the core routes it
  }

  Flow on_closed(Session& session) {
    auto& directed = session.slot<DirectedPresence>();
    directed.closed = true;
    if (!session.available() && directed.recipients.empty()) return Flow::Continue;
    xml::Element presence = make_presence("unavailable", session.jid().str(), "");
    presence.remove_attr("to");
    if (!session.available()) {
      for (const auto& to : directed.recipients) send_to(presence, to);
      directed.recipients.clear();
      return Flow::Continue;
    }
    session.set_presence_state(false, 0);
    ctx_->router().update_presence(session, nullptr);
    asio::co_spawn(session.executor(), broadcast_unavailable(session.shared_from_this(), std::move(presence)),
                   asio::detached);
    return Flow::Continue;
  }

  // --- inbound probes (§4.3.2) --------------------------------------------------

  Flow on_probe(xml::Element& stanza, const Jid& to) {
    if (stanza.attr_or("type") != "probe") return Flow::Continue;
    std::optional<Jid> from = attr_jid(stanza, "from");
    if (from && !to.is_domain())
      asio::co_spawn(ctx_->executor(), answer_probe(to, *from), asio::detached);
    return Flow::Stop;
  }

  asio::awaitable<void> answer_probe(Jid to, Jid prober) {
    const Jid owner = to.bare();
    bool authorized = prober.bare() == owner;
    if (!authorized) {
      auto& store = ctx_->storage().roster();
      const storage::AccountKey key = key_of(owner);
      const std::string jid = prober.bare_str();
      try {
        auto item = co_await ctx_->pool().run_ordered(
            owner.bare_str(), [&store, &key, &jid] { return store.get_item(key, jid); });
        authorized = item && has_from(item->subscription);
      } catch (const std::exception& e) {
        ctx_->log().warn("probe of {} by {}: roster lookup failed: {}", owner.str(), prober.str(),
                         e.what());
        co_return;
      }
    }
    if (!authorized) {
      // The prober believes it is subscribed; it is not (§4.3.2).
      ctx_->router().route(make_presence("unsubscribed", owner.str(), prober.bare_str()));
      co_return;
    }
    bool any = false;
    for (const RouteEntry& e : ctx_->router().sessions_of(owner)) {
      if (!e.available || !e.presence) continue;
      if (to.is_full() && e.session->jid() != to) continue;
      xml::Element presence = *e.presence;
      presence.set_attr("from", e.session->jid().str());
      presence.set_attr("to", prober.str());
      ctx_->router().route(std::move(presence));
      any = true;
    }
    if (!any && reply_unavailable_)
      ctx_->router().route(make_presence("unavailable", to.str(), prober.str()));
  }

  // --- helpers -------------------------------------------------------------------

  asio::awaitable<storage::Roster> load_roster(const Jid& owner) {
    auto& store = ctx_->storage().roster();
    const storage::AccountKey key = key_of(owner);
    try {
      co_return co_await ctx_->pool().run_ordered(owner.bare_str(),
                                                  [&store, &key] { return store.get(key); });
    } catch (const std::exception& e) {
      ctx_->log().warn("loading the roster of {} failed: {}", owner.str(), e.what());
    }
    co_return storage::Roster{};
  }

  void send_to(const xml::Element& presence, const std::string& to) {
    xml::Element copy = presence;
    copy.set_attr("to", to);
    ctx_->router().route(std::move(copy));
  }

  ModuleContext* ctx_ = nullptr;
  bool reply_unavailable_ = true;
};

}  // namespace
}  // namespace parley::presence

PARLEY_REGISTER_MODULE(parley::presence::PresenceModule)

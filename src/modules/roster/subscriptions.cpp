// Presence subscriptions (RFC 6121 §3, Appendix A). Subscription stanzas from
// a client (OutboundPresence) and to a local account (PresenceToBare) are
// taken over here: the roster entry's state is loaded, advanced by the pure
// state machine (subscription.cpp) and stored in the owner's ordered lane;
// then the pushes, routing, deliveries and presence side effects follow on
// the session's (or the service) thread. Pending inbound requests are kept in
// RosterStore's pending-in table, so they survive restarts, and are shown
// again whenever a resource of the user sends initial presence.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "modules/roster/roster_module.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/stanza.hpp"
#include "xmpp/xml/fragment.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley::roster {

namespace asio = boost::asio;

namespace {

// Subscription stanzas carry no 'id' requirement; keep what the client wrote
// and its payload (status, XEP-0172 nick), but address them bare to bare.
xml::Element normalised(const xml::Element& stanza, const Jid& from, const Jid& to) {
  xml::Element out = stanza;
  out.set_xmlns(std::string(ns::client));
  out.set_attr("from", from.str());
  out.set_attr("to", to.str());
  return out;
}

}  // namespace

Flow RosterModule::on_outbound(OutboundPresence& ev) {
  SubType type;
  if (!parse_subtype(ev.stanza.attr_or("type"), type)) return Flow::Continue;
  const Jid owner = ev.session.jid().bare();
  const Jid contact = ev.to.bare();
  // One's own presence needs no subscription.
  if (contact == owner) return Flow::Stop;
  // §3.1.2: stamped with the user's bare JID, addressed to the contact's.
  asio::co_spawn(ev.session.executor(),
                 process_outbound(owner, contact, type, normalised(ev.stanza, owner, contact)),
                 asio::detached);
  return Flow::Stop;
}

Flow RosterModule::on_inbound(PresenceToBare& ev) {
  SubType type;
  if (!parse_subtype(ev.stanza.attr_or("type"), type)) return Flow::Continue;
  std::optional<Jid> from = attr_jid(ev.stanza, "from");
  if (!from) return Flow::Stop;
  const Jid owner = ev.to.bare();
  const Jid contact = from->bare();
  if (contact == owner) return Flow::Stop;
  asio::co_spawn(ctx_->executor(),
                 process_inbound(owner, contact, type, normalised(ev.stanza, contact, owner)),
                 asio::detached);
  return Flow::Stop;
}

RosterModule::Applied RosterModule::apply(const Jid& owner, const Jid& contact, SubType type,
                                          bool outbound_dir, const xml::Element& stanza) {
  auto& store = ctx_->storage().roster();
  const storage::AccountKey key = key_of(owner);
  const std::string cjid = contact.bare_str();
  Applied a;
  if (!outbound_dir && !ctx_->core().accounts().exists(owner)) {
    a.account_exists = false;
    return a;
  }
  std::optional<storage::RosterItem> item = store.get_item(key, cjid);
  SubState state;
  if (item) {
    state.exists = true;
    state.sub = item->subscription;
    state.pending_out = item->ask_out;
    state.approved = item->approved;
  }
  for (const auto& [from, xml] : store.pending_in(key))
    if (from == cjid) state.pending_in = true;

  a.outcome = outbound_dir ? outbound(type, state, pre_approval_) : inbound(type, state);
  const SubState& next = a.outcome.next;
  if (a.outcome.item_changed) {
    storage::RosterItem stored = item.value_or(storage::RosterItem{});
    stored.jid = cjid;
    stored.subscription = next.sub;
    stored.ask_out = next.pending_out;
    stored.approved = next.approved;
    a.version = store.put_item(key, stored);
    // Pushed from the lane, so pushes keep the order of the versions.
    push(owner, item_element(stored), a.version);
    a.item = std::move(stored);
  }
  if (a.outcome.pending_in_changed) {
    if (next.pending_in)
      store.put_pending_in(key, cjid, xml::serialize(stanza, ns::client));
    else
      store.remove_pending_in(key, cjid);
  }
  return a;
}

asio::awaitable<void> RosterModule::process_outbound(Jid owner, Jid contact, SubType type,
                                                     xml::Element stanza) {
  Applied a;
  try {
    a = co_await ctx_->pool().run_ordered(owner.bare_str(), [&] {
      return apply(owner, contact, type, true, stanza);
    });
  } catch (const std::exception& e) {
    ctx_->log().warn("{} from {} to {} failed: {}", to_string(type), owner.str(), contact.str(),
                     e.what());
    co_return;
  }
  const Outcome& o = a.outcome;
  // §3.1.5 / §3.2.2: the push (already sent), the stanza, then the presence
  // consequences.
  if (o.forward) ctx_->router().route(std::move(stanza));
  if (o.send_presence) send_presence(owner, contact);
  if (o.send_unavailable) send_unavailable(owner, contact);
}

asio::awaitable<void> RosterModule::process_inbound(Jid owner, Jid contact, SubType type,
                                                    xml::Element stanza) {
  Applied a;
  try {
    a = co_await ctx_->pool().run_ordered(owner.bare_str(), [&] {
      return apply(owner, contact, type, false, stanza);
    });
  } catch (const std::exception& e) {
    ctx_->log().warn("inbound {} from {} to {} failed: {}", to_string(type), contact.str(),
                     owner.str(), e.what());
    co_return;
  }
  if (!a.account_exists) {
    // §3.1.3: a request to an account that does not exist is declined.
    if (type == SubType::Subscribe)
      ctx_->router().route(make_presence("unsubscribed", owner.str(), contact.str()));
    co_return;
  }
  const Outcome& o = a.outcome;
  if (o.forward) {
    // To every available resource (§3.1.3, §8.5.2.1.1); when none is, a
    // request waits in the pending-in store for the next login.
    for (const RouteEntry& e : ctx_->router().sessions_of(owner))
      if (e.available) e.session->send(stanza);
  }
  if (o.auto_subscribed)
    ctx_->router().route(make_presence("subscribed", owner.str(), contact.str()));
  if (o.send_presence) send_presence(owner, contact);
  if (o.send_unavailable) send_unavailable(owner, contact);
}

asio::awaitable<void> RosterModule::redeliver_pending(SessionPtr session) {
  const Jid owner = session->jid().bare();
  auto& store = ctx_->storage().roster();
  const storage::AccountKey key = key_of(owner);
  std::vector<std::pair<std::string, std::string>> pending;
  try {
    pending = co_await ctx_->pool().run_ordered(owner.bare_str(),
                                                [&store, &key] { return store.pending_in(key); });
  } catch (const std::exception& e) {
    ctx_->log().warn("loading pending subscription requests of {} failed: {}", owner.str(),
                     e.what());
    co_return;
  }
  for (const auto& [from, text] : pending) {
    std::optional<xml::Element> stanza = xml::parse_fragment(text);
    if (!stanza || stanza->name() != "presence") {
      stanza = make_presence("subscribe", from, owner.str());
    }
    stanza->set_attr("from", from);
    stanza->set_attr("to", owner.str());
    session->send(std::move(*stanza));
  }
}

}  // namespace parley::roster

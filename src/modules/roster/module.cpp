// Roster management (RFC 6121 §2) with versioning (XEP-0237, RFC 6121 §2.6).
// A resource that asks for the roster becomes "interested" and from then on
// gets a push for every change. Every read and write of one account's roster
// runs in that account's ordered storage lane, so changes, their versions and
// their pushes keep one order. Subscriptions are in subscriptions.cpp.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include "modules/roster/roster_module.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/stanza.hpp"

namespace parley::roster {

namespace asio = boost::asio;
using storage::Subscription;

namespace {
bool has_to(Subscription s) { return s == Subscription::To || s == Subscription::Both; }
bool has_from(Subscription s) { return s == Subscription::From || s == Subscription::Both; }
}  // namespace

ModuleInfo RosterModule::info() {
  return {"roster",
          "Contact lists, roster versioning and presence subscriptions",
          {"RFC 6121", "XEP-0237"},
          true};
}

void RosterModule::declare_options(config::OptionSchema& s) {
  s.add_bool("versioning", true,
             "Roster versioning (XEP-0237): a client that has the current version gets an "
             "empty result instead of the whole roster.");
  s.add_bool("pre_approval", true,
             "Subscription pre-approval (RFC 6121 §3.4): 'subscribed' sent before a request "
             "approves that request in advance.");
  s.add_int("max_items", 1000, 0, 1000000,
            "Most contacts in one roster; 0 = unlimited. A roster set beyond it gets "
            "<not-allowed/>.");
  s.add_int("max_name_length", 1023, 1, 65535,
            "Longest contact name or group name in bytes (<not-acceptable/> beyond).");
}

void RosterModule::start(ModuleContext& ctx) {
  ctx_ = &ctx;
  versioning_ = ctx.options().get_bool("versioning");
  pre_approval_ = ctx.options().get_bool("pre_approval");
  max_items_ = static_cast<size_t>(ctx.options().get_int("max_items"));
  limits_.max_name_length = limits_.max_group_length =
      static_cast<size_t>(ctx.options().get_int("max_name_length"));

  const IqScope scopes = IqScope::Self | IqScope::Bare;
  ctx.on_iq(IqType::Get, scopes, "query", std::string(kRosterNs),
            [this](IqRequest r) { return roster_get(std::move(r)); });
  ctx.on_iq(IqType::Set, scopes, "query", std::string(kRosterNs),
            [this](IqRequest r) { return roster_set(std::move(r)); });

  ctx.on<StreamFeaturesAuthenticated>(Stage::Process, [this](StreamFeaturesAuthenticated& ev) {
    if (versioning_) ev.features.add_child("ver", std::string(kRosterVerNs));
    if (pre_approval_) ev.features.add_child("sub", std::string(kPreApprovalNs));
    return Flow::Continue;
  });
  ctx.on<OutboundPresence>(Stage::Process, [this](OutboundPresence& ev) { return on_outbound(ev); });
  ctx.on<PresenceToBare>(Stage::Process, [this](PresenceToBare& ev) { return on_inbound(ev); });
  // Pending requests are shown again at every login (RFC 6121 §3.1.3).
  ctx.on<InitialPresenceSent>(Stage::Process, [this](InitialPresenceSent& ev) {
    asio::co_spawn(ev.session.executor(), redeliver_pending(ev.session.shared_from_this()),
                   asio::detached);
    return Flow::Continue;
  });
}

asio::awaitable<IqResult> RosterModule::roster_get(IqRequest req) {
  // Only the user's own roster (§2.1.4); someone else's is forbidden (§2.3.3).
  if (req.scope != IqScope::Self) co_return IqResult::fail(StanzaError::forbidden());
  const Jid owner = req.from.bare();
  if (req.origin) {
    // Interested before the read: a change after it is pushed (§2.1.6).
    req.origin->set_interested(true);
    ctx_->router().set_interested(*req.origin, true);
  }
  const xml::Element& query = req.payload();
  const std::string* client_ver = query.attr("ver");
  auto& store = ctx_->storage().roster();
  const storage::AccountKey key = key_of(owner);
  storage::Roster roster =
      co_await ctx_->pool().run_ordered(owner.bare_str(), [&store, &key] { return store.get(key); });

  // XEP-0237 §2.4 (RFC 6121 §2.6.3): the client's version is current -> an
  // empty result; otherwise the whole roster with the current version.
  if (versioning_ && client_ver && *client_ver == version_string(roster.version))
    co_return IqResult::ok();
  xml::Element result("query", std::string(kRosterNs));
  if (versioning_ && client_ver) result.set_attr("ver", version_string(roster.version));
  for (const auto& item : roster.items) result.add_child(item_element(item));
  co_return IqResult::ok(std::move(result));
}

asio::awaitable<IqResult> RosterModule::roster_set(IqRequest req) {
  if (req.scope != IqScope::Self) co_return IqResult::fail(StanzaError::forbidden());
  const Jid owner = req.from.bare();
  auto parsed = parse_set(req.payload(), owner, limits_);
  if (auto* err = std::get_if<StanzaError>(&parsed)) co_return IqResult::fail(std::move(*err));
  RosterSet set = std::get<RosterSet>(std::move(parsed));
  const std::string contact = set.jid.bare_str();
  auto& store = ctx_->storage().roster();
  const storage::AccountKey key = key_of(owner);
  auto executor = co_await asio::this_coro::executor;

  if (set.remove) {
    struct Removed {
      std::optional<storage::RosterItem> item;
      bool pending_in = false;
      uint64_t version = 0;
    };
    Removed removed = co_await ctx_->pool().run_ordered(owner.bare_str(), [&] {
      Removed r;
      r.item = store.get_item(key, contact);
      if (!r.item) return r;
      for (const auto& [from, xml] : store.pending_in(key))
        if (from == contact) r.pending_in = true;
      if (auto v = store.remove_item(key, contact)) {
        r.version = *v;
        push(owner, removed_item_element(contact), r.version);
      }
      if (r.pending_in) store.remove_pending_in(key, contact);
      return r;
    });
    if (!removed.item) co_return IqResult::fail(StanzaError::item_not_found());
    // After the result (posted behind it), the contact is told that both
    // directions are cancelled (§2.5.2).
    asio::post(executor, [this, owner, set, removed] {
      const storage::RosterItem& item = *removed.item;
      if (has_to(item.subscription) || item.ask_out)
        ctx_->router().route(make_presence("unsubscribe", owner.str(), set.jid.str()));
      if (has_from(item.subscription) || removed.pending_in) {
        ctx_->router().route(make_presence("unsubscribed", owner.str(), set.jid.str()));
        if (has_from(item.subscription)) send_unavailable(owner, set.jid);
      }
    });
    co_return IqResult::ok();
  }

  struct Updated {
    std::optional<StanzaError> error;
    storage::RosterItem item;
    uint64_t version = 0;
  };
  Updated updated = co_await ctx_->pool().run_ordered(owner.bare_str(), [&] {
    Updated u;
    std::optional<storage::RosterItem> existing = store.get_item(key, contact);
    if (!existing && max_items_ && store.get(key).items.size() >= max_items_) {
      u.error = StanzaError::not_allowed("the roster is full");
      return u;
    }
    // Name and groups come from the client; subscription state only ever
    // changes through presence stanzas (§2.1.2.5).
    u.item = existing.value_or(storage::RosterItem{});
    u.item.jid = contact;
    u.item.name = set.name;
    u.item.groups = set.groups;
    if (existing && *existing == u.item) return u;
    u.version = store.put_item(key, u.item);
    push(owner, item_element(u.item), u.version);
    return u;
  });
  if (updated.error) co_return IqResult::fail(std::move(*updated.error));
  co_return IqResult::ok();
}

void RosterModule::push(const Jid& owner, const xml::Element& item, uint64_t version) {
  for (const RouteEntry& e : ctx_->router().sessions_of(owner)) {
    if (!e.interested) continue;
    xml::Element iq = make_iq("set", random_id(9), owner.bare_str(), e.session->jid().str());
    xml::Element& query = iq.add_child("query", std::string(kRosterNs));
    if (versioning_) query.set_attr("ver", version_string(version));
    query.add_child(item);
    e.session->send(std::move(iq));
  }
}

void RosterModule::send_presence(const Jid& owner, const Jid& contact) {
  for (const RouteEntry& e : ctx_->router().sessions_of(owner)) {
    if (!e.available || !e.presence) continue;
    xml::Element presence = *e.presence;
    presence.set_attr("from", e.session->jid().str());
    presence.set_attr("to", contact.str());
    ctx_->router().route(std::move(presence));
  }
}

void RosterModule::send_unavailable(const Jid& owner, const Jid& contact) {
  for (const RouteEntry& e : ctx_->router().sessions_of(owner)) {
    if (!e.available) continue;
    ctx_->router().route(make_presence("unavailable", e.session->jid().str(), contact.str()));
  }
}

}  // namespace parley::roster

PARLEY_REGISTER_MODULE(parley::roster::RosterModule)

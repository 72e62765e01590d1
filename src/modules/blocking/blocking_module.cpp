// Blocking Command (XEP-0191) with abuse reports (XEP-0377). Block lists live
// in BlockListStore; every one of the host's lists is also held in memory
// (loaded at start, changed only here, in the account's storage lane), so the
// checks on the stanza path are synchronous: they run in the router's hooks,
// keep stanza order and leave DeliveryHold untouched.
//
// Enforcement (§3.3):
//  - StanzaToAccount: a stanza from a JID the recipient blocked is dropped;
//    messages and IQ get/set are answered with <service-unavailable/>, so the
//    user looks offline. Groupchat and error messages are dropped silently.
//  - StanzaFromClient: a stanza from the user to a JID they blocked is not
//    routed; the client gets <not-acceptable/> + <blocked/> (errors, IQ
//    results and unavailable presence are dropped silently).
//  - StanzaFromAccount: what the server routes on the user's behalf
//    (presence broadcasts, probes, replies) to a blocked JID is dropped,
//    errors excepted (they answer the blocked JID's own stanzas).
// The user's own resources and the user's server are never blocked.
#include <boost/asio/co_spawn.hpp>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "modules/blocking/block_rules.hpp"
#include "storage/store.hpp"
#include "xmpp/events.hpp"
#include "xmpp/module.hpp"
#include "xmpp/stanza.hpp"

namespace parley {
namespace {

namespace asio = boost::asio;
using BlockSet = std::set<std::string>;
using storage::Subscription;

storage::AccountKey key_of(const Jid& bare) {
  return {bare.domain(), bare.local()};
}
bool has_from(Subscription s) {
  return s == Subscription::From || s == Subscription::Both;
}

class BlockingModule final : public Module {
 public:
  static ModuleInfo info() {
    return {"blocking",
            "Lets users block JIDs (Blocking Command) and report them as spam or abuse",
            {"XEP-0191", "XEP-0377"},
            true};
  }
  static void declare_options(config::OptionSchema& s) {
    s.add_int("max_items", 1000, 1, 100000,
              "JIDs one account may block; a block beyond it is refused with "
              "<resource-constraint/>.");
  }

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    max_items_ = static_cast<size_t>(ctx.options().get_int("max_items"));
    // Before the listeners open (modules start first), so no stanza passes
    // unchecked; the only storage call made outside the pool.
    for (auto& [user, jid] : ctx.storage().blocklist().all(ctx.domain()))
      index_[user + "@" + ctx.domain()].insert(std::move(jid));
    ctx.add_feature(std::string(blocking::kNs));
    ctx.add_feature(std::string(blocking::kReportingNs));
    ctx.on_iq(IqType::Get, IqScope::Self, "blocklist", std::string(blocking::kNs),
              [this](IqRequest r) { return get(std::move(r)); });
    ctx.on_iq(IqType::Set, IqScope::Self, "block", std::string(blocking::kNs),
              [this](IqRequest r) { return block(std::move(r)); });
    ctx.on_iq(IqType::Set, IqScope::Self, "unblock", std::string(blocking::kNs),
              [this](IqRequest r) { return unblock(std::move(r)); });
    ctx.on<StanzaToAccount>(Stage::Filter, [this](StanzaToAccount& ev) { return inbound(ev); });
    ctx.on<StanzaFromClient>(Stage::Filter,
                             [this](StanzaFromClient& ev) { return from_client(ev); });
    ctx.on<StanzaFromAccount>(Stage::Filter, [this](StanzaFromAccount& ev) {
      if (exempt(ev.from, ev.to) || ev.stanza.attr_or("type") == "error") return Flow::Continue;
      return blocked(ev.from, ev.to) ? Flow::Stop : Flow::Continue;
    });
    ctx.on<AccountDeleted>(Stage::Process, [this](AccountDeleted& ev) {
      std::lock_guard lock(mutex_);
      index_.erase(ev.account.bare_str());
      return Flow::Continue;
    });
    ctx.on<SessionClosed>(Stage::Log, [this](SessionClosed& ev) {
      std::lock_guard lock(mutex_);
      interested_.erase(ev.session.id());
      return Flow::Continue;
    });
  }

 private:
  // --- enforcement -----------------------------------------------------------

  bool blocked(const Jid& owner, const Jid& other) const {
    std::lock_guard lock(mutex_);
    auto it = index_.find(owner.bare_str());
    return it != index_.end() && blocking::blocks(it->second, other);
  }

  // Whether `other` is exempt from `owner`'s block list: the account itself
  // and its server.
  static bool exempt(const Jid& owner, const Jid& other) {
    return other.bare() == owner.bare() || (other.is_domain() && other.domain() == owner.domain());
  }

  Flow inbound(StanzaToAccount& ev) {
    auto from = attr_jid(ev.stanza, "from");
    if (!from || exempt(ev.to, *from) || !blocked(ev.to, *from)) return Flow::Continue;
    const std::string type = ev.stanza.attr_or("type");
    const std::string& kind = ev.stanza.name();
    const bool answer = (kind == "message" && type != "error" && type != "groupchat") ||
                        (kind == "iq" && (type == "get" || type == "set"));
    if (answer) ctx_->router().bounce(ev.stanza, StanzaError::service_unavailable());
    return Flow::Stop;
  }

  Flow from_client(StanzaFromClient& ev) {
    auto to = attr_jid(ev.stanza, "to");
    const Jid& self = ev.session.jid();
    if (!to || exempt(self, *to) || !blocked(self, *to)) return Flow::Continue;
    const std::string type = ev.stanza.attr_or("type");
    const bool silent = type == "error" || (ev.stanza.name() == "iq" && type == "result") ||
                        (ev.stanza.name() == "presence" && type == "unavailable");
    if (!silent) {
      // Straight to the session: routed, the reply from the blocked JID
      // would itself be blocked.
      ev.session.send(error_reply(ev.stanza, blocking::blocked_error()));
    }
    return Flow::Stop;
  }

  // --- the protocol ----------------------------------------------------------

  asio::awaitable<IqResult> get(IqRequest r) {
    if (!r.origin) co_return IqResult::fail(StanzaError::not_allowed());
    {
      // Interested before the read: a change after it is pushed.
      std::lock_guard lock(mutex_);
      interested_.insert(r.origin->id());
    }
    std::vector<std::string> items;
    {
      std::lock_guard lock(mutex_);
      if (auto it = index_.find(r.from.bare_str()); it != index_.end())
        items.assign(it->second.begin(), it->second.end());
    }
    co_return IqResult::ok(blocking::command("blocklist", items));
  }

  asio::awaitable<IqResult> block(IqRequest r) {
    if (!r.origin) co_return IqResult::fail(StanzaError::not_allowed());
    auto parsed = blocking::parse_items(r.payload(), true);
    if (auto* error = std::get_if<StanzaError>(&parsed)) co_return IqResult::fail(*error);
    auto& items = std::get<blocking::Items>(parsed);
    if (items.jids.empty()) co_return IqResult::fail(StanzaError::bad_request("nothing to block"));
    const Jid owner = r.from.bare();
    const storage::AccountKey account = key_of(owner);
    std::vector<storage::AbuseReport> reports;
    for (auto& rep : items.reports) {
      storage::AbuseReport a;
      a.reporter = account;
      a.reported = rep.reported;
      a.reason = rep.reason;
      a.text = rep.text;
      a.created = storage::Clock::now();
      reports.push_back(std::move(a));
    }
    // Checked again in the storage lane; refusing here already keeps an
    // over-long request from sending any presence.
    if (size_after(owner, items.jids) > max_items_) co_return over_limit_error();
    const std::string lane = owner.bare_str();
    // §3.3: contacts that may see the user's presence get 'unavailable' first,
    // while they are not blocked yet (afterwards it would be filtered).
    const auto roster = co_await ctx_->pool().run_ordered(
        lane, [this, &account] { return ctx_->storage().roster().get(account); });
    const std::vector<Jid> notify = covered_contacts(roster, items.jids, owner);
    const auto sessions = ctx_->router().sessions_of(owner);
    for (const auto& to : notify)
      for (const auto& e : sessions)
        if (e.available)
          ctx_->router().route(make_presence("unavailable", e.session->jid().str(), to.str()));

    bool over_limit = false;
    std::vector<std::string> added;
    co_await ctx_->pool().run_ordered(
        lane, [this, &account, &owner, &items, &reports, &added, &over_limit] {
          if (size_after(owner, items.jids) > max_items_) {
            over_limit = true;
            return;
          }
          added = ctx_->storage().blocklist().block(account, items.jids, reports);
          std::lock_guard lock(mutex_);
          index_[owner.bare_str()].insert(added.begin(), added.end());
        });
    if (over_limit) co_return over_limit_error();
    if (!reports.empty())
      ctx_->log().info("{} reported {} JID(s) ({})", owner.bare_str(), reports.size(),
                       reports.front().reason);
    if (!added.empty()) push(owner, blocking::command("block", items.jids));
    co_return IqResult::ok();
  }

  asio::awaitable<IqResult> unblock(IqRequest r) {
    if (!r.origin) co_return IqResult::fail(StanzaError::not_allowed());
    auto parsed = blocking::parse_items(r.payload(), false);
    if (auto* error = std::get_if<StanzaError>(&parsed)) co_return IqResult::fail(*error);
    auto& items = std::get<blocking::Items>(parsed);
    const Jid owner = r.from.bare();
    const storage::AccountKey account = key_of(owner);
    std::vector<std::string> removed;
    storage::Roster roster;
    co_await ctx_->pool().run_ordered(
        owner.bare_str(), [this, &account, &owner, &items, &removed, &roster] {
          removed = ctx_->storage().blocklist().unblock(account, items.jids);
          {
            std::lock_guard lock(mutex_);
            if (auto it = index_.find(owner.bare_str()); it != index_.end()) {
              for (const auto& j : removed) it->second.erase(j);
              if (it->second.empty()) index_.erase(it);
            }
          }
          if (!removed.empty()) roster = ctx_->storage().roster().get(account);
        });
    if (removed.empty()) co_return IqResult::ok();  // nothing was blocked: nothing changes
    // §3.4: contacts that may see the user's presence get it again.
    const auto sessions = ctx_->router().sessions_of(owner);
    for (const auto& to : covered_contacts(roster, removed, owner)) {
      for (const auto& e : sessions) {
        if (!e.available || !e.presence) continue;
        xml::Element presence = *e.presence;
        presence.set_attr("to", to.str());
        ctx_->router().route(std::move(presence));
      }
    }
    push(owner, blocking::command("unblock", items.jids));
    co_return IqResult::ok();
  }

  // Roster contacts allowed to see the user's presence (subscription 'from'
  // or 'both') that `jids` cover and no other item of the list blocks: the
  // contact's bare JID, or the blocked full JID of one of its resources.
  std::vector<Jid> covered_contacts(const storage::Roster& roster,
                                    const std::vector<std::string>& jids, const Jid& owner) const {
    std::vector<Jid> out;
    for (const auto& item : roster.items) {
      auto contact = Jid::parse(item.jid);
      if (!contact || !has_from(item.subscription) || blocked(owner, *contact)) continue;
      for (const auto& j : jids) {
        auto jid = Jid::parse(j);
        if (jid && jid->is_full() && jid->bare() == *contact) {
          out.push_back(*jid);
        } else if (blocking::blocks({j}, *contact)) {
          out.push_back(*contact);
          break;
        }
      }
    }
    return out;
  }

  // The size of `owner`'s list once `jids` are added.
  size_t size_after(const Jid& owner, const std::vector<std::string>& jids) const {
    std::lock_guard lock(mutex_);
    auto it = index_.find(owner.bare_str());
    if (it == index_.end()) return jids.size();
    size_t n = it->second.size();
    for (const auto& j : jids) n += it->second.contains(j) ? 0 : 1;
    return n;
  }

  IqResult over_limit_error() const {
    return IqResult::fail(StanzaError::resource_constraint("a block list holds at most " +
                                                           std::to_string(max_items_) + " JIDs"));
  }

  // §3.3/§3.4: every resource that asked for the block list learns the change.
  void push(const Jid& owner, const xml::Element& change) {
    for (const auto& e : ctx_->router().sessions_of(owner)) {
      {
        std::lock_guard lock(mutex_);
        if (!interested_.contains(e.session->id())) continue;
      }
      xml::Element iq = make_iq("set", random_id(9), owner.bare_str(), e.session->jid().str());
      iq.add_child(change);
      e.session->send(std::move(iq));
    }
  }

  ModuleContext* ctx_ = nullptr;
  size_t max_items_ = 1000;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, BlockSet> index_;  // bare JID -> blocked JIDs
  std::unordered_set<uint64_t> interested_;          // session ids that fetched the list
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::BlockingModule)

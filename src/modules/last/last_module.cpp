// Last Activity (XEP-0012). To the server: its uptime. To an account's bare
// JID: 0 while the account has an available resource, otherwise the seconds
// since its last session ended, with the status text of its last unavailable
// presence. Only the account itself and entities it shares its presence with
// (subscription 'from' or 'both' in its roster) may ask; others get
// <forbidden/> (XEP-0012 §4, §8). Queries to full JIDs go to the client.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <chrono>

#include "modules/last/last_record.hpp"
#include "storage/store.hpp"
#include "xmpp/events.hpp"
#include "xmpp/module.hpp"

namespace parley {
namespace {

namespace asio = boost::asio;

constexpr const char* kLastNs = "jabber:iq:last";
constexpr const char* kStore = "last";

// Per session: the status text of its last unavailable presence.
struct LastStatus {
  std::string status;
};

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class LastModule final : public Module {
 public:
  static ModuleInfo info() {
    return {"last", "Tells how long ago an account was last online, and the server's uptime",
            {"XEP-0012"}, true};
  }
  static void declare_options(config::OptionSchema&) {}

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    ctx.add_feature(kLastNs);
    ctx.on_iq(IqType::Get, IqScope::Host, "query", kLastNs,
              [this](IqRequest) -> asio::awaitable<IqResult> {
                const auto up = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::steady_clock::now() - ctx_->core().started());
                co_return IqResult::ok(query(up.count()));
              });
    ctx.on_iq(IqType::Get, IqScope::Self | IqScope::Bare, "query", kLastNs,
              [this](IqRequest r) { return account_last(std::move(r)); });

    // Observe (never consume) the client's broadcast presence: an unavailable
    // one carries the status text to remember.
    ctx.on<PresenceBroadcast>(Stage::PreProcess, -1000, [](PresenceBroadcast& ev) {
      if (ev.stanza.attr_or("type") == "unavailable")
        ev.session.slot<LastStatus>().status = ev.stanza.child_text("status");
      return Flow::Continue;
    });
    ctx.on<SessionClosed>(Stage::Log, [this](SessionClosed& ev) {
      const LastStatus* st = ev.session.find_slot<LastStatus>();
      asio::co_spawn(ctx_->executor(),
                     record_logout(ev.session.jid().bare(), ev.session.id(),
                                   last::Record{unix_now(), st ? st->status : std::string()}),
                     asio::detached);
      return Flow::Continue;
    });
  }

 private:
  static xml::Element query(int64_t seconds, std::string_view status = {}) {
    xml::Element q("query", kLastNs);
    q.set_attr("seconds", std::to_string(seconds));
    q.add_text(status);
    return q;
  }

  asio::awaitable<IqResult> account_last(IqRequest r) {
    const Jid owner = r.to.bare();
    const storage::AccountKey account{owner.domain(), owner.local()};
    if (r.scope == IqScope::Bare) {
      enum class Access { NoAccount, Forbidden, Allowed };
      const std::string requester = r.from.bare_str();
      Access access = co_await ctx_->pool().run([this, &owner, &account, &requester] {
        if (!ctx_->core().accounts().exists(owner)) return Access::NoAccount;
        auto item = ctx_->storage().roster().get_item(account, requester);
        const bool shares = item && (item->subscription == storage::Subscription::From ||
                                     item->subscription == storage::Subscription::Both);
        return shares ? Access::Allowed : Access::Forbidden;
      });
      if (access == Access::NoAccount) co_return IqResult::fail(StanzaError::service_unavailable());
      if (access == Access::Forbidden) co_return IqResult::fail(StanzaError::forbidden());
    }
    for (const auto& e : ctx_->router().sessions_of(owner))
      if (e.available) co_return IqResult::ok(query(0));
    auto stored = co_await ctx_->pool().run(
        [this, &account] { return ctx_->storage().keyval().get(account, kStore, ""); });
    std::optional<last::Record> record = stored ? last::decode(*stored) : std::nullopt;
    if (!record) co_return IqResult::fail(StanzaError::item_not_found());
    co_return IqResult::ok(query(last::seconds_since(record->logout_unix, unix_now()), record->status));
  }

  // Records the logout unless another session of the account remains. Runs in
  // the account's ordered lane, after the closing session left the router, so
  // that of two sessions closing together the later one always writes.
  asio::awaitable<void> record_logout(Jid owner, uint64_t session_id, last::Record record) {
    const std::string key = owner.bare_str();
    try {
      co_await ctx_->pool().run_ordered(key, [this, &owner, session_id, &record] {
        for (const auto& e : ctx_->router().sessions_of(owner))
          if (e.session->id() != session_id) return;
        if (!ctx_->core().accounts().exists(owner)) return;  // removed (in-band cancel)
        ctx_->storage().keyval().put({owner.domain(), owner.local()}, kStore, "",
                                     last::encode(record));
      });
    } catch (const std::exception& e) {
      ctx_->log().warn("recording the last activity of {} failed: {}", key, e.what());
    }
  }

  ModuleContext* ctx_ = nullptr;
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::LastModule)

// Offline message storage (XEP-0160, RFC 6121 §8.5.2.2.1). A chat or normal
// message to an account with no available resource is stamped with a delay
// (XEP-0203) and appended to the account's offline store, in arrival order;
// the first session that sends initial presence with a non-negative priority
// gets them all, in order, and only then are they removed from the store.
// A client that read its archive (XEP-0313) before sending initial presence
// is not sent again what it already got there: each offline message carries
// the archive's stanza-id, and the session remembers the ids of the archive
// results written to it until then (docs/delivery.md).
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "modules/offline/offline_policy.hpp"
#include "storage/store.hpp"
#include "xmpp/events.hpp"
#include "xmpp/module.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/periodic_task.hpp"
#include "xmpp/stanza.hpp"
#include "xmpp/xml/fragment.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley {
namespace {

namespace asio = boost::asio;

constexpr std::chrono::hours kExpiryInterval{1};

constexpr std::string_view kMamNs = "urn:xmpp:mam:2";
constexpr std::string_view kStanzaIdNs = "urn:xmpp:sid:0";
// Beyond this many archive results before initial presence, further ones are
// not remembered: the client may then get a message twice, never zero times.
constexpr size_t kMaxRememberedArchiveIds = 50000;

// Per session, on its thread: archive ids of the account's own archive
// results the client received before its offline messages were delivered.
struct ArchiveResultsSeen {
  std::unordered_set<std::string> ids;
  bool flushed = false;  // offline delivery ran: nothing more to remember
};

// The archive id of a result from the session's own archive, else "".
std::string own_archive_result_id(const xml::Element& stanza, const std::string& bare) {
  if (stanza.name() != "message") return {};
  const xml::Element* result = stanza.child("result", kMamNs);
  if (!result) return {};
  const std::string from = stanza.attr_or("from");
  if (!from.empty() && from != bare) return {};  // a MUC or pubsub archive
  return result->attr_or("id");
}

// The stanza-id the account's archive stamped on a stored message, else "".
std::string own_stanza_id(const xml::Element& message, const std::string& bare) {
  for (const xml::Element* sid : message.children("stanza-id", kStanzaIdNs))
    if (sid->attr_or("by") == bare) return sid->attr_or("id");
  return {};
}

class OfflineModule final : public Module {
 public:
  static ModuleInfo info() {
    return {"offline",
            "Stores messages for accounts that are offline and delivers them at login",
            {"XEP-0160", "XEP-0203", "XEP-0334"},
            true};
  }
  static void declare_options(config::OptionSchema& s) {
    s.add_int("quota", 1000, 0, 1000000,
              "Messages kept per account; 0 = unlimited. Over quota, new messages are bounced "
              "to the sender with <service-unavailable/>.");
    s.add_int("retention_days", 30, 0, 36500,
              "Days an offline message is kept before it is deleted unread; 0 = keep forever.");
  }

  ~OfflineModule() override { stop(); }

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    quota_ = static_cast<size_t>(ctx.options().get_int("quota"));
    ctx.add_feature("msgoffline");
    ctx.on<MessageUndeliverable>(Stage::Deliver,
                                 [this](MessageUndeliverable& ev) { return on_undeliverable(ev); });
    ctx.on<InitialPresenceSent>(Stage::Deliver, [this](InitialPresenceSent& ev) {
      if (ev.session.priority() >= 0)
        asio::co_spawn(ev.session.executor(), flush(ev.session.shared_from_this()), asio::detached);
      return Flow::Continue;
    });
    ctx.on<StanzaToClient>(Stage::Log, [](StanzaToClient& ev) {
      remember_archive_result(ev.session, ev.stanza);
      return Flow::Continue;
    });
    // Messages that arrived while a session waited for resumption (XEP-0198)
    // were stored; the resumed session gets them now.
    ctx.on<SessionResumed>(Stage::Deliver, [this](SessionResumed& ev) {
      if (ev.session.available() && ev.session.priority() >= 0)
        asio::co_spawn(ev.session.executor(), flush(ev.session.shared_from_this()), asio::detached);
      return Flow::Continue;
    });
    const int64_t days = ctx.options().get_int("retention_days");
    if (days > 0) {
      const std::chrono::hours retention(24 * days);
      auto log = ModuleContext::make_logger("mod_offline_expiry@" + ctx.domain());
      expiry_ = std::make_unique<PeriodicTask>(
          ctx.executor(), ctx.pool(), kExpiryInterval,
          [&store = ctx.storage().offline(), domain = ctx.domain(), retention, log] {
            const size_t n = store.expire(domain, storage::Clock::now() - retention);
            if (n) log->info("expired {} offline message(s)", n);
          },
          log, "offline expiry");
      expiry_->start();
    }
  }

  void stop() override {
    if (expiry_) expiry_->stop();
  }

 private:
  static void remember_archive_result(Session& session, const xml::Element& stanza) {
    if (session.available()) return;  // initial presence sent: delivery is under way
    const std::string id = own_archive_result_id(stanza, session.jid().bare_str());
    if (id.empty()) return;
    auto& seen = session.slot<ArchiveResultsSeen>();
    if (!seen.flushed && seen.ids.size() < kMaxRememberedArchiveIds) seen.ids.insert(id);
  }

  Flow on_undeliverable(MessageUndeliverable& ev) {
    switch (offline::classify(ev.stanza)) {
      case offline::Decision::Refuse:
        return Flow::Continue;  // the router bounces it
      case offline::Decision::Drop:
        return Flow::Stop;
      case offline::Decision::Store:
        break;
    }
    xml::Element stamped = ev.stanza;
    offline::stamp_delay(stamped, ctx_->domain(), xep0082_now());
    // One lane per recipient keeps the order in which messages got here.
    asio::co_spawn(
        ctx_->executor(),
        store(ev.to.bare(), ev.stanza, xml::serialize(stamped, ns::client), std::move(ev.hold)),
        asio::detached);
    return Flow::Stop;
  }

  // `hold` keeps the sender's stream-management ack back until the commit.
  asio::awaitable<void> store(Jid owner, xml::Element original, std::string serialized,
                              [[maybe_unused]] DeliveryHold hold) {
    const std::string key = owner.bare_str();
    bool stored = false;
    try {
      stored = co_await ctx_->pool().run_ordered(key, [this, &owner, &serialized, quota = quota_] {
        return ctx_->storage().offline().push({owner.domain(), owner.local()}, serialized,
                                              storage::Clock::now(), quota);
      });
    } catch (const std::exception& e) {
      ctx_->log().warn("storing an offline message for {} failed: {}", key, e.what());
      ctx_->router().bounce(
          original, {ErrorType::Wait, "internal-server-error", "offline storage unavailable", {}});
      co_return;
    }
    if (!stored) {
      ctx_->router().bounce(original, {ErrorType::Cancel,
                                       "service-unavailable",
                                       "the recipient's offline storage is full",
                                       {}});
      co_return;
    }
    // A resource may have come online while this message was on its way to
    // the store, after its own offline delivery ran: hand it over now.
    auto entries = ctx_->router().sessions_of(owner);
    std::erase_if(entries, [](const RouteEntry& e) {
      return !e.available || e.priority < 0 || e.hibernated;
    });
    if (!entries.empty()) {
      auto best = std::max_element(entries.begin(), entries.end(),
                                   [](auto& a, auto& b) { return a.priority < b.priority; });
      asio::co_spawn(best->session->executor(), flush(best->session), asio::detached);
    }
  }

  // Delivers the stored messages of the session's account to that session.
  // One delivery per account at a time; a request during a delivery makes it
  // run once more.
  asio::awaitable<void> flush(SessionPtr session) {
    const Jid owner = session->jid().bare();
    const std::string key = owner.bare_str();
    {
      std::lock_guard lock(mutex_);
      auto [it, inserted] = flushing_.try_emplace(key, false);
      if (!inserted) {
        it->second = true;
        co_return;
      }
    }
    for (;;) {
      try {
        co_await deliver(session, owner);
      } catch (const std::exception& e) {
        ctx_->log().warn("offline delivery to {} failed: {}", session->jid().str(), e.what());
      }
      std::lock_guard lock(mutex_);
      auto it = flushing_.find(key);
      if (!it->second) {
        flushing_.erase(it);
        co_return;
      }
      it->second = false;
    }
  }

  asio::awaitable<void> deliver(const SessionPtr& session, const Jid& owner) {
    const storage::AccountKey account{owner.domain(), owner.local()};
    const std::string key = owner.bare_str();
    auto messages = co_await ctx_->pool().run_ordered(
        key, [this, &account] { return ctx_->storage().offline().peek(account); });
    if (messages.empty()) co_return;
    // Only to a session that is still there: otherwise they stay stored.
    if (ctx_->router().find(session->jid()) != session) co_return;
    ArchiveResultsSeen* seen = session->find_slot<ArchiveResultsSeen>();
    for (const auto& m : messages) {
      auto el = xml::parse_fragment(m.stanza_xml);
      if (!el) {
        ctx_->log().warn("dropping unreadable offline message {} of {}", m.id, key);
        continue;
      }
      // Already delivered to this client as an archive result.
      if (seen && seen->ids.count(own_stanza_id(*el, key))) continue;
      session->send(std::move(*el));
    }
    if (seen) {
      seen->ids.clear();
      seen->flushed = true;
    }
    const int64_t last = messages.back().id;
    co_await ctx_->pool().run_ordered(
        key, [this, &account, last] { ctx_->storage().offline().remove_up_to(account, last); });
  }

  ModuleContext* ctx_ = nullptr;
  size_t quota_ = 0;
  std::unique_ptr<PeriodicTask> expiry_;
  std::mutex mutex_;
  std::unordered_map<std::string, bool> flushing_;  // account -> run again
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::OfflineModule)

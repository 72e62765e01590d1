// Message Archive Management for 1:1 chats (XEP-0313) with stanza ids
// (XEP-0359), result set management (XEP-0059) and full-text search
// (XEP-0431).
//
// Archiving. A message to a local account that is worth keeping
// (mam::is_archivable) is taken at MessageToBare/MessageToFull, PreProcess:
// in the recipient's storage lane the module checks the account and its
// preferences, appends the message to the recipient's archive and only then
// stamps <stanza-id by=recipient/> and routes the message on. A client thus
// never sees an archive id that is not committed, and the archive order is
// the delivery order. A sender's messages that need no archiving wait behind
// its messages still being archived (SendOrder), so none overtakes another. Messages a client sends
// are appended to the sender's archive at StanzaFromClient, Archive stage (a message to oneself
// only once, as received). Both writes keep the sender's stream-management ack back until they
// commit (DeliveryHold).
//
// Queries, preferences and metadata are IQs to the account's own bare JID;
// another account's archive is forbidden. An Asio timer deletes messages older
// than the retention period.
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "modules/mam/mam_policy.hpp"
#include "modules/mam/mam_query.hpp"
#include "storage/store.hpp"
#include "xmpp/detached.hpp"
#include "xmpp/events.hpp"
#include "xmpp/module.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/periodic_task.hpp"
#include "xmpp/stanza.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley {
namespace {

namespace asio = boost::asio;

storage::AccountKey key_of(const Jid& jid) {
  return {jid.domain(), jid.local()};
}

// The message this thread is routing on after the archive step: its hooks
// (MessageToFull, then possibly MessageToBare) must let it pass instead of
// taking it again. Set only for the duration of a synchronous Router::route()
// call; the message is recognised by its recipient, its 'id' attribute and
// our stanza-id (or the absence of one, when it was not archived).
struct Rerouting {
  const std::string* owner = nullptr;
  const std::string* message_id = nullptr;
  const std::string* archive_id = nullptr;  // null: not archived

  bool matches(const std::string& to, const xml::Element& stanza) const {
    if (!owner || *owner != to || stanza.attr_or("id") != *message_id) return false;
    auto id = mam::stanza_id(stanza, to);
    return archive_id ? id == *archive_id : !id;
  }
};
thread_local Rerouting rerouting;

// A sender's messages to local accounts, in the order it sent them, while
// some of them wait for their archive write: one that needs none (a chat
// state, a no-store message) must not overtake one that does (RFC 6120
// §10.1). Kept in the sender's session slot; touched only on the thread it
// was made on, where the archive coroutines of its messages also run.
class SendOrder {
 public:
  struct Entry {
    std::string owner;  // the recipient's bare JID
    xml::Element stanza;
    DeliveryHold hold;
    std::optional<std::string> archive_id;
    bool ready = false;  // archived (or not to be): may be routed
  };

  explicit SendOrder(asio::any_io_executor executor) : executor_(std::move(executor)) {}

  static bool runs_here(const asio::any_io_executor& executor) {
    const auto* io = executor.target<asio::io_context::executor_type>();
    return io && io->running_in_this_thread();
  }
  const asio::any_io_executor& executor() const { return executor_; }
  bool empty() const { return queue_.empty(); }
  // The entry stays where it is until flushed.
  Entry& push(Entry entry) {
    queue_.push_back(std::make_unique<Entry>(std::move(entry)));
    return *queue_.back();
  }
  // Hands the ready entries at the front to `route`, in order.
  template <class Route>
  void flush(Route route) {
    while (!queue_.empty() && queue_.front()->ready) {
      std::unique_ptr<Entry> entry = std::move(queue_.front());
      queue_.pop_front();
      route(*entry);
    }
  }

 private:
  asio::any_io_executor executor_;
  std::deque<std::unique_ptr<Entry>> queue_;
};

struct SendOrderSlot {
  std::shared_ptr<SendOrder> order;
};

// Archive preferences of accounts, read on every archived message and written
// only by the prefs IQ: cached after the first read. Sharded, so lanes of the
// storage pool rarely meet on a lock; touched only on the storage pool.
class PrefsCache {
 public:
  // The account's preferences (nullopt: none set), loaded by `load` on a miss.
  template <class Load>
  std::optional<storage::ArchivePrefs> get(const std::string& owner, Load&& load) {
    Shard& shard = shard_for(owner);
    {
      std::lock_guard lock(shard.mutex);
      if (auto it = shard.entries.find(owner); it != shard.entries.end()) return it->second;
    }
    std::optional<storage::ArchivePrefs> prefs = load();
    put(owner, prefs);
    return prefs;
  }
  void put(const std::string& owner, std::optional<storage::ArchivePrefs> prefs) {
    Shard& shard = shard_for(owner);
    std::lock_guard lock(shard.mutex);
    // Bounded: a shard that grew past its share starts over.
    if (shard.entries.size() >= kEntriesPerShard) shard.entries.clear();
    shard.entries.insert_or_assign(owner, std::move(prefs));
  }
  void forget(const std::string& owner) {
    Shard& shard = shard_for(owner);
    std::lock_guard lock(shard.mutex);
    shard.entries.erase(owner);
  }

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kEntriesPerShard = 8192;
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::optional<storage::ArchivePrefs>> entries;
  };
  Shard& shard_for(const std::string& owner) {
    return shards_[std::hash<std::string>{}(owner) % kShards];
  }
  std::array<Shard, kShards> shards_;
};

class MamModule final : public Module {
 public:
  static ModuleInfo info() {
    return {"mam",
            "Message archive of 1:1 chats, queried by clients for history and search",
            {"XEP-0313", "XEP-0359", "XEP-0059", "XEP-0431"},
            true};
  }
  static void declare_options(config::OptionSchema& s) {
    s.add_string("default_mode", "always",
                 "Archiving for accounts that set no preferences: \"always\", \"roster\" "
                 "(contacts with a subscription only) or \"never\".",
                 {"always", "roster", "never"});
    s.add_int("default_page_size", 50, 1, 10000,
              "Results per query when the client gives no RSM <max/>.");
    s.add_int("max_page_size", 250, 1, 10000,
              "Most results per query; a larger <max/> is lowered to this.");
    s.add_int("retention_days", 365, 0, 36500,
              "Days a message is kept in the archive; 0 = keep forever. One account can be given "
              "its own with `parleyctl archive retention`.");
    s.add_int("expiry_interval_seconds", 3600, 1, 86400,
              "How often messages past their retention (the server's or the account's) are "
              "deleted.");
  }

  ~MamModule() override { stop(); }

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    default_prefs_.default_mode = ctx.options().get_string("default_mode");
    limits_.max = static_cast<size_t>(ctx.options().get_int("max_page_size"));
    limits_.default_max =
        std::min(limits_.max, static_cast<size_t>(ctx.options().get_int("default_page_size")));

    ctx.on<MessageToBare>(Stage::PreProcess, [this](MessageToBare& ev) {
      return on_inbound(ev.to, ev.stanza, ev.origin);
    });
    ctx.on<MessageToFull>(Stage::PreProcess, [this](MessageToFull& ev) {
      return on_inbound(ev.to, ev.stanza, ev.origin);
    });
    ctx.on<StanzaFromClient>(Stage::Archive, [this](StanzaFromClient& ev) {
      on_outbound(ev.session, ev.stanza);
      return Flow::Continue;
    });
    ctx.on<AccountDeleted>(Stage::Process, [this](AccountDeleted& ev) {
      prefs_.forget(ev.account.bare_str());
      return Flow::Continue;
    });
    ctx.on<DiscoInfoQuery>(Stage::Process, [](DiscoInfoQuery& ev) {
      if (!ev.node.empty() || ev.to.local().empty()) return Flow::Continue;
      for (std::string_view f :
           {mam::kMamNs, mam::kMamExtendedFeature, mam::kFulltextNs, mam::kSidNs})
        ev.query.add_child("feature", std::string(ns::disco_info)).set_attr("var", std::string(f));
      return Flow::Continue;
    });

    const std::string mam_ns(mam::kMamNs);
    ctx.on_iq(IqType::Set, IqScope::Self, "query", mam_ns,
              [this](IqRequest r) { return query(std::move(r)); });
    ctx.on_iq(
        IqType::Get, IqScope::Self, "query", mam_ns,
        [](IqRequest) -> asio::awaitable<IqResult> { co_return IqResult::ok(mam::query_form()); });
    ctx.on_iq(IqType::Get, IqScope::Self, "metadata", mam_ns,
              [this](IqRequest r) { return metadata(std::move(r)); });
    ctx.on_iq(IqType::Get, IqScope::Self, "prefs", mam_ns,
              [this](IqRequest r) { return get_prefs(std::move(r)); });
    ctx.on_iq(IqType::Set, IqScope::Self, "prefs", mam_ns,
              [this](IqRequest r) { return set_prefs(std::move(r)); });
    // Another account's archive is private (XEP-0313 "Data privacy").
    for (IqType type : {IqType::Get, IqType::Set})
      for (const char* element : {"query", "metadata", "prefs"}) {
        if (type == IqType::Set && std::string_view(element) == "metadata") continue;
        ctx.on_iq(type, IqScope::Bare, element, mam_ns, [](IqRequest) -> asio::awaitable<IqResult> {
          co_return IqResult::fail(StanzaError::forbidden());
        });
      }

    // Runs even when the server keeps messages forever: accounts may have
    // their own retention (parleyctl archive retention).
    const int days = static_cast<int>(ctx.options().get_int("retention_days"));
    auto log = ModuleContext::make_logger("mod_mam_expiry@" + ctx.domain());
    expiry_ = std::make_unique<PeriodicTask>(
        ctx.executor(), ctx.pool(),
        std::chrono::seconds(ctx.options().get_int("expiry_interval_seconds")),
        [&store = ctx.storage().archive(), domain = ctx.domain(), days, log] {
          const size_t n = store.expire(domain, storage::Clock::now(), days);
          if (n) log->info("deleted {} archived message(s) past retention", n);
        },
        log, "archive expiry");
    expiry_->start();
  }

  void stop() override {
    if (expiry_) expiry_->stop();
  }

 private:
  // --- archiving -------------------------------------------------------------

  Flow on_inbound(const Jid& to, xml::Element& stanza, Session* origin) {
    const std::string owner = to.bare_str();
    if (rerouting.matches(owner, stanza)) return Flow::Continue;
    mam::strip_stanza_ids(stanza, owner);
    std::optional<Jid> from =
        mam::is_archivable(stanza) ? attr_jid(stanza, "from") : std::optional<Jid>();
    std::shared_ptr<SendOrder> order = order_of(origin);
    if (!from) {
      if (!order || order->empty()) return Flow::Continue;
      // Behind a message of the same sender that is still being archived.
      order->push({owner, std::move(stanza), ctx_->router().hold_for(origin), std::nullopt, true});
      return Flow::Stop;
    }
    DeliveryHold hold = ctx_->router().hold_for(origin);
    if (!order) {
      asio::co_spawn(origin ? origin->executor() : ctx_->executor(),
                     archive_then_route(to.bare(), *from, std::move(stanza), std::move(hold)),
                     log_exceptions("mam"));
      return Flow::Stop;
    }
    SendOrder::Entry& entry = order->push({owner, {}, std::move(hold), std::nullopt, false});
    asio::co_spawn(order->executor(),
                   archive_in_order(to.bare(), *from, std::move(stanza), order, &entry),
                   log_exceptions("mam"));
    return Flow::Stop;
  }

  // The sender's SendOrder when this runs on its session's thread (the only
  // place its slots may be touched), else null: such messages (from the
  // server itself, or routed off the session's thread) keep no order.
  static std::shared_ptr<SendOrder> order_of(Session* origin) {
    if (!origin || !SendOrder::runs_here(origin->executor())) return nullptr;
    auto& slot = origin->slot<SendOrderSlot>();
    // A session resumed on another thread brings the old thread's order,
    // which stays there with whatever it still holds.
    if (!slot.order || !SendOrder::runs_here(slot.order->executor()))
      slot.order = std::make_shared<SendOrder>(origin->executor());
    return slot.order;
  }

  asio::awaitable<void> archive_then_route(Jid owner, Jid peer, xml::Element stanza,
                                           DeliveryHold hold) {
    std::optional<std::string> id = co_await archive_inbound(owner, peer, stanza);
    reroute(owner.bare_str(), std::move(stanza), id, std::move(hold));
  }

  asio::awaitable<void> archive_in_order(Jid owner, Jid peer, xml::Element stanza,
                                         std::shared_ptr<SendOrder> order,
                                         SendOrder::Entry* entry) {
    entry->archive_id = co_await archive_inbound(owner, peer, stanza);
    entry->stanza = std::move(stanza);
    entry->ready = true;
    order->flush([this](SendOrder::Entry& e) {
      reroute(e.owner, std::move(e.stanza), e.archive_id, std::move(e.hold));
    });
  }

  // The archive id of the message in its recipient's archive, or nullopt
  // when it was not archived (preferences, or a failed write).
  asio::awaitable<std::optional<std::string>> archive_inbound(const Jid& owner, const Jid& peer,
                                                              const xml::Element& stanza) {
    try {
      co_return co_await archive(owner, peer, stanza, /*outgoing=*/false);
    } catch (const std::exception& e) {
      // Delivery matters more than history: the message goes on unarchived.
      ctx_->log().warn("archiving a message for {} failed: {}", owner.bare_str(), e.what());
    } catch (...) {
      // Still answered: messages of its sender wait behind this one.
      ctx_->log().warn("archiving a message for {} failed", owner.bare_str());
    }
    co_return std::nullopt;
  }

  // Routes a message taken at on_inbound on, past this module's hooks.
  void reroute(const std::string& owner, xml::Element stanza, const std::optional<std::string>& id,
               DeliveryHold hold) {
    if (id) mam::add_stanza_id(stanza, *id, owner);
    // Carbons run on the re-routed message (Process stage), so received
    // carbons carry this same stanza-id.
    const std::string message_id = stanza.attr_or("id");
    const Rerouting outer = rerouting;
    rerouting = {&owner, &message_id, id ? &*id : nullptr};
    try {
      ctx_->router().route(std::move(stanza), std::move(hold));
    } catch (...) {
      rerouting = outer;
      throw;
    }
    rerouting = outer;
  }

  void on_outbound(Session& session, const xml::Element& stanza) {
    if (stanza_kind(stanza) != StanzaKind::Message) return;
    auto to = attr_jid(stanza, "to");
    const Jid owner = session.jid().bare();
    // A message to oneself is archived once, as received.
    if (!to || to->bare() == owner) return;
    if (!mam::is_archivable(stanza)) return;
    xml::Element copy = stanza;
    mam::strip_stanza_ids(copy, owner.bare_str());
    asio::co_spawn(session.executor(),
                   archive_outbound(owner, *to, std::move(copy), session.hold_delivery()),
                   log_exceptions("mam"));
  }

  asio::awaitable<void> archive_outbound(Jid owner, Jid peer, xml::Element stanza,
                                         [[maybe_unused]] DeliveryHold hold) {
    const std::string key = owner.bare_str();
    try {
      // TODO(carbons): the sent carbon should carry this archive id as its
      // <stanza-id by=sender/>.
      co_await archive(owner, peer, stanza, /*outgoing=*/true);
    } catch (const std::exception& e) {
      ctx_->log().warn("archiving a sent message of {} failed: {}", key, e.what());
    }
  }

  // Appends the message to the owner's archive if its preferences want it:
  // the decision in the owner's storage lane, the append group-committed with
  // everyone else's. Returns the new archive id once it is durable, or nullopt.
  asio::awaitable<std::optional<std::string>> archive(const Jid& owner, const Jid& peer,
                                                      const xml::Element& stanza, bool outgoing) {
    const storage::AccountKey account = key_of(owner);
    const std::string lane = owner.bare_str();
    std::optional<storage::ArchiveEntry> entry = co_await ctx_->pool().run_ordered(
        lane, [this, &owner, &account, &peer] { return wanted(owner, account, peer); });
    if (!entry) co_return std::nullopt;
    entry->with_bare = peer.bare_str();
    entry->with_resource = peer.resource();
    entry->outgoing = outgoing;
    entry->stanza_xml = xml::serialize(stanza, ns::client);
    entry->body = mam::searchable_text(stanza);
    std::string id = entry->id;
    storage::ArchiveAppend append{account, std::move(*entry)};
    co_await ctx_->archive_writer().write(std::move(append), asio::use_awaitable);
    co_return id;
  }

  // On the storage pool: an entry with its id and stamp when the owner's
  // preferences (and a live account) say archive, else nullopt.
  std::optional<storage::ArchiveEntry> wanted(const Jid& owner, const storage::AccountKey& account,
                                              const Jid& peer) {
    auto& store = ctx_->storage();
    // A live session proves the account exists without a query.
    if (ctx_->router().sessions_of(owner).empty() && !store.accounts().exists(account))
      return std::nullopt;
    const storage::ArchivePrefs prefs =
        prefs_.get(owner.bare_str(), [&] { return store.archive().prefs(account); })
            .value_or(default_prefs_);
    switch (mam::decide(prefs, peer)) {
      case mam::Verdict::Skip:
        return std::nullopt;
      case mam::Verdict::AskRoster: {
        auto item = store.roster().get_item(account, peer.bare_str());
        if (!item || item->subscription == storage::Subscription::None) return std::nullopt;
        break;
      }
      case mam::Verdict::Archive:
        break;
    }
    storage::ArchiveEntry entry;
    entry.id = random_id(16);
    entry.stamp = storage::Clock::now();
    return entry;
  }

  // --- queries ----------------------------------------------------------------

  asio::awaitable<IqResult> query(IqRequest r) {
    auto parsed = mam::parse_query(r.payload(), limits_);
    if (auto* error = std::get_if<StanzaError>(&parsed)) co_return IqResult::fail(*error);
    auto& q = std::get<mam::ParsedQuery>(parsed);
    const Jid owner = r.from.bare();
    const storage::AccountKey account = key_of(owner);
    // A named key: GCC 12 destroys temporaries in a co_await expression twice.
    const std::string owner_str = owner.bare_str();
    auto page = co_await ctx_->pool().run_ordered(owner_str, [this, &account, &q] {
      return ctx_->storage().archive().query(account, q.query);
    });
    if (!page.ids_found) co_return IqResult::fail(StanzaError::item_not_found());
    const std::string requester = r.from.str();
    auto send = [&](const storage::ArchivedMessage& m) {
      auto message = mam::result_message(m, q.queryid, owner_str, requester);
      if (!message) {
        ctx_->log().warn("archived message {} of {} does not parse", m.id, owner_str);
        return;
      }
      // Only to the full JID that asked, before the IQ result.
      if (r.origin)
        r.origin->send(std::move(*message));
      else
        ctx_->router().route(std::move(*message));
    };
    if (q.flip)
      for (auto it = page.messages.rbegin(); it != page.messages.rend(); ++it) send(*it);
    else
      for (const auto& m : page.messages) send(m);
    co_return IqResult::ok(mam::fin_element(page));
  }

  asio::awaitable<IqResult> metadata(IqRequest r) {
    const storage::AccountKey account = key_of(r.from.bare());
    auto bounds = co_await ctx_->pool().run_ordered(
        r.from.bare_str(), [this, &account] { return ctx_->storage().archive().bounds(account); });
    xml::Element el("metadata", std::string(mam::kMamNs));
    if (bounds) {
      for (auto [name, m] : {std::pair{"start", &bounds->first}, std::pair{"end", &bounds->second}})
        el.add_child(name, std::string(mam::kMamNs))
            .with_attr("id", m->id)
            .with_attr("timestamp", xep0082_format(m->stamp));
    }
    co_return IqResult::ok(std::move(el));
  }

  asio::awaitable<IqResult> get_prefs(IqRequest r) {
    const storage::AccountKey account = key_of(r.from.bare());
    auto prefs = co_await ctx_->pool().run_ordered(
        r.from.bare_str(), [this, &account] { return ctx_->storage().archive().prefs(account); });
    co_return IqResult::ok(mam::prefs_element(prefs.value_or(default_prefs_)));
  }

  asio::awaitable<IqResult> set_prefs(IqRequest r) {
    auto prefs = mam::parse_prefs(r.payload());
    if (!prefs)
      co_return IqResult::fail(StanzaError::bad_request(
          "default must be always, roster or never, and every <jid/> a valid JID"));
    const storage::AccountKey account = key_of(r.from.bare());
    const std::string owner = r.from.bare_str();
    co_await ctx_->pool().run_ordered(owner, [this, &account, &prefs, &owner] {
      ctx_->storage().archive().set_prefs(account, *prefs);
      prefs_.put(owner, *prefs);
    });
    co_return IqResult::ok(mam::prefs_element(*prefs));
  }

  ModuleContext* ctx_ = nullptr;
  storage::ArchivePrefs default_prefs_;
  PrefsCache prefs_;
  mam::PageLimits limits_;
  std::unique_ptr<PeriodicTask> expiry_;
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::MamModule)

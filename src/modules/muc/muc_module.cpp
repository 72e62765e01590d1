// Multi-user chat (XEP-0045) on conference.<domain>: the groups of DESIGN.md.
// The module claims the service domain from the router, keeps the registry
// of rooms and hands each stanza to its room's strand (room.hpp); it answers
// the service's own disco and tracks which rooms each session is in, so that
// a session that ends without saying goodbye leaves its rooms.
// Behaviour, defaults and the ordering guarantee: docs/groups.md.
#include <boost/asio/post.hpp>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_map>

#include "modules/muc/muc_ns.hpp"
#include "modules/muc/room.hpp"
#include "storage/store.hpp"
#include "xmpp/events.hpp"
#include "xmpp/module.hpp"
#include "xmpp/periodic_task.hpp"
#include "xmpp/stanza.hpp"

namespace parley {
namespace {

namespace asio = boost::asio;
using muc::Room;

class MucModule final : public Module, public muc::RoomHost {
 public:
  static ModuleInfo info() {
    return {"muc",
            "Multi-user chat rooms (groups) on a conference subdomain",
            {"XEP-0045", "XEP-0421", "XEP-0410", "XEP-0249"},
            true};
  }
  static void declare_options(config::OptionSchema& s) {
    s.add_string("subdomain", "conference",
                 "The service's domain is <subdomain>.<host>, e.g. conference.example.org.");
    s.add_int("max_users", 256, 1, 100000,
              "Ceiling on the occupants and on the members (owners, admins, members) of every "
              "room; owners may set a lower muc#roomconfig_maxusers.");
    s.add_int("max_history", 50, 0, 10000,
              "Ceiling on the messages a room keeps for history on join (muc#maxhistoryfetch).");
    s.add_int("default_history", 20, 0, 10000,
              "Messages a new room keeps for history on join (at most max_history).");
    s.add_int("max_nick_length", 64, 1, 1023,
              "Longest nickname, in characters; longer ones are refused with not-acceptable.");
    s.add_bool("default_persistent", true, "New rooms are persistent (survive their last occupant).");
    s.add_bool("default_members_only", true,
               "New rooms are members-only (what OMEMO groups need).");
    s.add_string("default_whois", "anyone",
                 "Who sees occupants' real JIDs in new rooms: anyone (non-anonymous, what OMEMO "
                 "groups need) or moderators (semi-anonymous).",
                 {"anyone", "moderators"});
    s.add_bool("default_public", false, "New rooms are listed in the service's disco#items.");
    s.add_int("archive_retention_days", 365, 0, 36500,
              "Days a message is kept in a room's archive; 0 = until the room is destroyed.");
  }

  ~MucModule() override {
    stop();
    std::unique_lock lock(rooms_mutex_);
    rooms_.clear();
  }

  void stop() override {
    if (expiry_) expiry_->stop();
  }

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    const auto& o = ctx.options();
    limits_.max_users = o.get_int("max_users");
    limits_.max_history = o.get_int("max_history");
    limits_.max_nick_chars = o.get_int("max_nick_length");
    defaults_.persistent = o.get_bool("default_persistent");
    defaults_.members_only = o.get_bool("default_members_only");
    defaults_.whois = o.get_string("default_whois");
    defaults_.public_room = o.get_bool("default_public");
    defaults_.history_length = std::min(o.get_int("default_history"), limits_.max_history);
    std::string domain = o.get_string("subdomain");
    domain += '.';
    domain += ctx.domain();
    auto service = Jid::make("", domain);
    if (!service) throw std::runtime_error("modules.muc.subdomain gives an invalid domain: " + domain);
    service_ = *service;

    // Persistent rooms, loaded before any listener accepts a client (start()
    // runs on the main thread at start-up, not on an I/O thread).
    for (auto& rec : ctx.storage().muc().rooms(service_.domain())) {
      auto jid = Jid::make(rec.room, service_.domain());
      if (!jid) continue;
      auto room = std::make_shared<Room>(*this, ctx.executor(), *jid, muc::decode(rec.config), false);
      room->load(rec.subject, ctx.storage().muc().affiliations(rec.service, rec.room));
      rooms_.emplace(rec.room, std::move(room));
    }
    if (!rooms_.empty()) ctx.log().info("loaded {} room(s) of {}", rooms_.size(), service_.domain());

    // Room archives past their retention go, checked at start and hourly.
    if (const int64_t days = o.get_int("archive_retention_days"); days > 0) {
      auto log = ModuleContext::make_logger("mod_muc_expiry@" + ctx.domain());
      expiry_ = std::make_unique<PeriodicTask>(
          ctx.executor(), ctx.pool(), std::chrono::hours(1),
          [&store = ctx.storage().archive(), domain = service_.domain(), days, log] {
            const size_t n = store.expire(domain, storage::Clock::now(), static_cast<int>(days));
            if (n) log->info("expired {} room archive message(s)", n);
          },
          log, "room archive expiry");
      expiry_->start();
    }

    ctx.claim_service(service_.domain(), [this](xml::Element stanza, SessionPtr origin) {
      dispatch(std::move(stanza), origin.get());
    });
    // A session that ends without an unavailable presence leaves its rooms.
    ctx.on<SessionClosed>(Stage::Process, [this](SessionClosed& ev) {
      session_closed(ev.session.jid());
      return Flow::Continue;
    });
    // A deleted account loses its affiliations, so that whoever registers the
    // name next does not inherit ownership or membership (the store drops
    // its rows with the account).
    ctx.on<AccountDeleted>(Stage::Process, [this](AccountDeleted& ev) {
      account_deleted(ev.account.bare());
      return Flow::Continue;
    });
    // The server's disco#items lists the service (XEP-0045 §6.1).
    ctx.on<DiscoItemsQuery>(Stage::Process, [this](DiscoItemsQuery& ev) {
      if (ev.to.is_domain() && ev.node.empty())
        ev.query.add_child("item", std::string(muc::kDiscoItems))
            .with_attr("jid", service_.domain())
            .set_attr("name", "Chatrooms");
      return Flow::Continue;
    });
  }

  // RoomHost
  Router& router() override { return ctx_->router(); }
  BlockingPool& pool() override { return ctx_->pool(); }
  storage::MucStore& store() override { return ctx_->storage().muc(); }
  storage::ArchiveStore& archive() override { return ctx_->storage().archive(); }
  ArchiveWriter& archive_writer() override { return ctx_->archive_writer(); }
  const muc::ServiceLimits& limits() const override { return limits_; }
  spdlog::logger& log() override { return ctx_->log(); }

  void occupant_joined(const Jid& real, const std::string& room) override {
    std::lock_guard lock(sessions_mutex_);
    sessions_[real.str()].insert(room);
  }
  void occupant_left(const Jid& real, const std::string& room) override {
    std::lock_guard lock(sessions_mutex_);
    auto it = sessions_.find(real.str());
    if (it == sessions_.end()) return;
    it->second.erase(room);
    if (it->second.empty()) sessions_.erase(it);
  }
  void room_gone(const std::string& name) override {
    std::unique_lock lock(rooms_mutex_);
    rooms_.erase(name);
  }
  void dispatch_again(xml::Element stanza) override { dispatch(std::move(stanza), nullptr); }
  bool wants_absent_members() const override {
    return ctx_->host().hooks().has_handlers<RoomMessageForAbsentMember>();
  }
  void message_for_absent_member(const Jid& room, const Jid& member,
                                 const xml::Element& message) override {
    RoomMessageForAbsentMember ev{ctx_->host(), room, member, message};
    ctx_->host().hooks().run(ev);
  }

 private:
  std::shared_ptr<Room> find(const std::string& name) const {
    std::shared_lock lock(rooms_mutex_);
    auto it = rooms_.find(name);
    return it == rooms_.end() ? nullptr : it->second;
  }

  // On the routing thread: find (or, for a join, create) the room and post
  // the stanza to its strand.
  void dispatch(xml::Element stanza, Session* origin) {
    std::optional<Jid> to = attr_jid(stanza, "to");
    if (!to) return;
    // The sender's ack waits until the room has passed the message on.
    DeliveryHold hold = ctx_->router().hold_for(origin);
    if (to->local().empty()) {
      service_stanza(stanza);
      return;
    }
    std::shared_ptr<Room> room = find(to->local());
    if (!room) {
      const bool join = stanza_kind(stanza) == StanzaKind::Presence && !stanza.has_attr("type") &&
                        to->is_full();
      if (!join) {
        if (stanza_kind(stanza) != StanzaKind::Presence)
          router().bounce(stanza, {ErrorType::Cancel, "item-not-found", "no such room", {}});
        return;
      }
      room = create(to->bare(), origin ? origin->executor() : ctx_->executor());
    }
    asio::post(room->strand(), [room, stanza = std::move(stanza), hold = std::move(hold)]() mutable {
      room->handle(std::move(stanza), std::move(hold));
    });
  }

  std::shared_ptr<Room> create(const Jid& jid, asio::any_io_executor executor) {
    std::unique_lock lock(rooms_mutex_);
    auto& slot = rooms_[jid.local()];
    // A room lives on the thread of the session that created it; its strand
    // keeps it off every other room's path.
    if (!slot) slot = std::make_shared<Room>(*this, std::move(executor), jid, defaults_, true);
    return slot;
  }

  void session_closed(const Jid& real) {
    std::set<std::string> rooms;
    {
      std::lock_guard lock(sessions_mutex_);
      auto it = sessions_.find(real.str());
      if (it == sessions_.end()) return;
      rooms = std::move(it->second);
      sessions_.erase(it);
    }
    for (const auto& name : rooms)
      if (auto room = find(name))
        asio::post(room->strand(), [room, real] { room->session_gone(real); });
  }

  void account_deleted(const Jid& bare) {
    std::vector<std::shared_ptr<Room>> rooms;
    {
      std::shared_lock lock(rooms_mutex_);
      for (const auto& [name, room] : rooms_) rooms.push_back(room);
    }
    for (const auto& room : rooms)
      asio::post(room->strand(), [room, bare] { room->forget(bare); });
  }

  // Stanzas to the service's own JID.
  void service_stanza(const xml::Element& stanza) {
    if (stanza_kind(stanza) != StanzaKind::Iq) {
      if (stanza_kind(stanza) == StanzaKind::Message) router().bounce(stanza, StanzaError::service_unavailable());
      return;
    }
    const std::string type = stanza.attr_or("type");
    if (type != "get" && type != "set") return;
    const auto children = stanza.element_children();
    if (children.size() != 1) {
      router().bounce(stanza, StanzaError::bad_request());
      return;
    }
    const xml::Element& payload = *children.front();
    xml::Element reply = iq_result(stanza);
    if (type == "get" && payload.is("query", muc::kDiscoInfo) && payload.attr_or("node").empty()) {
      xml::Element& q = reply.add_child("query", std::string(muc::kDiscoInfo));
      q.add_child("identity", std::string(muc::kDiscoInfo))
          .with_attr("category", "conference")
          .with_attr("type", "text")
          .set_attr("name", "Chatrooms");
      for (std::string_view f : {muc::kDiscoInfo, muc::kDiscoItems, muc::kMuc, muc::kOccupantId,
                                 muc::kPing, muc::kConference})
        q.add_child("feature", std::string(muc::kDiscoInfo)).set_attr("var", std::string(f));
    } else if (type == "get" && payload.is("query", muc::kDiscoItems)) {
      xml::Element& q = reply.add_child("query", std::string(muc::kDiscoItems));
      std::vector<std::shared_ptr<Room>> rooms;
      {
        std::shared_lock lock(rooms_mutex_);
        for (const auto& [name, room] : rooms_) rooms.push_back(room);
      }
      for (const auto& room : rooms) {
        const Room::Listing l = room->listing();
        if (l.listed)
          q.add_child("item", std::string(muc::kDiscoItems))
              .with_attr("jid", room->jid().bare_str())
              .set_attr("name", l.title);
      }
    } else if (type == "get" && payload.is("ping", muc::kPing)) {
      // empty result
    } else {
      router().bounce(stanza, StanzaError::service_unavailable());
      return;
    }
    router().route(std::move(reply));
  }

  ModuleContext* ctx_ = nullptr;
  std::unique_ptr<PeriodicTask> expiry_;
  Jid service_;
  muc::ServiceLimits limits_;
  muc::RoomConfig defaults_;
  mutable std::shared_mutex rooms_mutex_;
  std::unordered_map<std::string, std::shared_ptr<Room>> rooms_;
  std::mutex sessions_mutex_;
  std::unordered_map<std::string, std::set<std::string>> sessions_;  // real full JID -> rooms
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::MucModule)

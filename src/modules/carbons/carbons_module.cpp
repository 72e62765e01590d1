// Message Carbons (XEP-0280). A session that enabled carbons gets a copy of
// every eligible message its account receives on another resource
// (<received/>) and of every one its other resources send (<sent/>).
//
// Which sessions enabled carbons is kept here, in a set of session ids under
// a mutex, not in a session slot: copies are decided on the sender's thread
// and must read the flag of sessions that live on other threads.
//
// Copies are written straight to the sessions (Session::send), never routed:
// a routed message that carries <received/> or <sent/> is therefore forged,
// and StanzaToAccount strips it before any hook or client sees it.
#include <algorithm>
#include <mutex>
#include <unordered_set>

#include "modules/carbons/carbons_rules.hpp"
#include "xmpp/events.hpp"
#include "xmpp/module.hpp"
#include "xmpp/stanza.hpp"

namespace parley {
namespace {

namespace asio = boost::asio;
using carbons::Direction;

class CarbonsModule final : public Module {
 public:
  static ModuleInfo info() {
    return {"carbons",
            "Copies each conversation to all of a user's clients (Message Carbons)",
            {"XEP-0280", "XEP-0297", "XEP-0334"},
            true};
  }
  static void declare_options(config::OptionSchema&) {}

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    ctx.add_feature(std::string(carbons::kNs));
    ctx.on_iq(IqType::Set, IqScope::Self, "enable", std::string(carbons::kNs),
              [this](IqRequest r) { return toggle(std::move(r), true); });
    ctx.on_iq(IqType::Set, IqScope::Self, "disable", std::string(carbons::kNs),
              [this](IqRequest r) { return toggle(std::move(r), false); });
    // Filter: forged copies go before any other module (archive, offline)
    // can keep them.
    ctx.on<StanzaToAccount>(Stage::Filter, 100, [](StanzaToAccount& ev) {
      if (ev.stanza.name() == "message") carbons::strip_forged(ev.stanza);
      return Flow::Continue;
    });
    // After Filter (blocking refuses first) and Process: only messages that
    // are going out get copied.
    ctx.on<StanzaFromClient>(Stage::Archive, [this](StanzaFromClient& ev) {
      on_sent(ev.session, ev.stanza);
      return Flow::Continue;
    });
    ctx.on<MessageToFull>(Stage::Deliver, -100, [this](MessageToFull& ev) {
      on_to_full(ev.to, ev.stanza);
      return Flow::Continue;
    });
    ctx.on<MessageToBare>(Stage::Deliver, -100, [this](MessageToBare& ev) {
      on_to_bare(ev.to, ev.stanza);
      return Flow::Continue;
    });
    ctx.on<SessionClosed>(Stage::Log, [this](SessionClosed& ev) {
      std::lock_guard lock(mutex_);
      enabled_.erase(ev.session.id());
      return Flow::Continue;
    });
  }

 private:
  asio::awaitable<IqResult> toggle(IqRequest r, bool enable) {
    // Only a client of this account can switch its own session (§4.1, §5.1).
    if (!r.origin || r.origin->jid() != r.from)
      co_return IqResult::fail(StanzaError::not_allowed());
    if (r.payload().element_count() != 0)
      co_return IqResult::fail(StanzaError::bad_request("enable and disable are empty"));
    std::lock_guard lock(mutex_);
    // Repeated requests just succeed (§10.1).
    if (enable)
      enabled_.insert(r.origin->id());
    else
      enabled_.erase(r.origin->id());
    co_return IqResult::ok();
  }

  bool enabled(const Session& s) const {
    std::lock_guard lock(mutex_);
    return enabled_.contains(s.id());
  }

  // Sends a copy of `message` to every available, carbons-enabled resource of
  // `owner` for which `skip` is false.
  template <class Skip>
  void copy_to(const Jid& owner, Direction direction, const xml::Element& message, Skip skip) {
    for (const RouteEntry& e : ctx_->router().sessions_of(owner)) {
      if (!e.available || skip(e) || !enabled(*e.session)) continue;
      e.session->send(carbons::wrap(direction, message, owner, e.session->jid()));
    }
  }

  void on_sent(Session& session, const xml::Element& stanza) {
    if (stanza.name() != "message" || !carbons::eligible(stanza) || carbons::opted_out(stanza))
      return;
    auto to = attr_jid(stanza, "to");
    // Between the account's own resources nothing needs copying.
    if (!to || to->bare() == session.jid().bare()) return;
    const Session* sender = &session;
    copy_to(session.jid().bare(), Direction::Sent, stanza,
            [sender](const RouteEntry& e) { return e.session.get() == sender; });
  }

  // True when the message needs received copies: eligible, not opted out, and
  // not from another resource of the same account (sent copies cover those).
  static bool wants_received(const Jid& to, const xml::Element& stanza) {
    if (!carbons::eligible(stanza) || carbons::opted_out(stanza)) return false;
    auto from = attr_jid(stanza, "from");
    return from && from->bare() != to.bare();
  }

  void on_to_full(const Jid& to, xml::Element& stanza) {
    const bool copies = wants_received(to, stanza);
    // Nothing to copy or strip (a room's message, for one): no session lookup,
    // which a room's fan-out would otherwise pay once per occupant.
    if (!copies && !stanza.child("private", carbons::kNs)) return;
    SessionPtr target = ctx_->router().find(to);
    if (!target) return;  // delivered as to the bare JID; MessageToBare copies
    if (copies) {
      const Session* addressed = target.get();
      copy_to(to.bare(), Direction::Received, stanza,
              [addressed](const RouteEntry& e) { return e.session.get() == addressed; });
    }
    carbons::strip_private(stanza);
  }

  void on_to_bare(const Jid& to, xml::Element& stanza) {
    if (wants_received(to, stanza)) {
      // The resources RFC 6121 §8.5.2 delivers to (router.cpp) get the
      // original; carbons go to the others (negative priority, or below the
      // top priority for 'normal').
      auto entries = ctx_->router().sessions_of(to);
      std::erase_if(entries, [](const RouteEntry& e) { return !e.available || e.priority < 0; });
      if (stanza.attr_or("type", "normal") == "normal" && !entries.empty()) {
        const int top = std::max_element(entries.begin(), entries.end(), [](auto& a, auto& b) {
                          return a.priority < b.priority;
                        })->priority;
        std::erase_if(entries, [top](const RouteEntry& e) { return e.priority != top; });
      }
      copy_to(to, Direction::Received, stanza, [&entries](const RouteEntry& e) {
        return std::any_of(entries.begin(), entries.end(),
                           [&e](const RouteEntry& r) { return r.session == e.session; });
      });
    }
    carbons::strip_private(stanza);
  }

  ModuleContext* ctx_ = nullptr;
  mutable std::mutex mutex_;
  std::unordered_set<uint64_t> enabled_;  // session ids
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::CarbonsModule)

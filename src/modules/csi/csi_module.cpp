// Client State Indication (XEP-0352). While a client says it is <inactive/>,
// presence updates and chat-state-only messages for it are held back (only
// the latest presence of each sender is kept); they go out, in order, when it
// says <active/> again, when an urgent stanza arrives (before that stanza), or
// when the queue is full. Holding back takes the stanza's DeliveryHold along.
//
// Nothing held back is lost: when the session closes, held messages are
// routed again (after the session left the router, so they reach the
// account's other resources or offline storage like any message to a gone
// resource); held presence is dropped, the session's contacts are moot.
//
// The queue is a session slot, touched only on the session's thread
// (StreamNonza, StanzaToClient and SessionClosed all fire there).
#include <boost/asio/post.hpp>
#include <deque>

#include "modules/carbons/carbons_rules.hpp"
#include "modules/csi/csi_rules.hpp"
#include "xmpp/events.hpp"
#include "xmpp/module.hpp"

namespace parley {
namespace {

namespace asio = boost::asio;

struct CsiState {
  struct Held {
    xml::Element stanza;
    DeliveryHold hold;
    bool presence = false;
  };
  bool inactive = false;
  bool flushing = false;  // our own sends pass StanzaToClient untouched
  std::deque<Held> queue;
};

class CsiModule final : public Module {
 public:
  static ModuleInfo info() {
    return {"csi", "Holds back unimportant traffic while a client is inactive", {"XEP-0352"}, true};
  }
  static void declare_options(config::OptionSchema& s) {
    s.add_int("queue_size", 256, 1, 100000,
              "Stanzas held back per inactive session; when the queue is full it is flushed "
              "to the client.");
  }

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    queue_size_ = static_cast<size_t>(ctx.options().get_int("queue_size"));
    ctx.on<StreamFeaturesAuthenticated>(Stage::Process, [](StreamFeaturesAuthenticated& ev) {
      ev.features.add_child("csi", std::string(csi::kNs));
      return Flow::Continue;
    });
    ctx.on<StreamNonza>(Stage::Process, [this](StreamNonza& ev) {
      if (ev.element.xmlns() != csi::kNs) return Flow::Continue;
      if (ev.element.name() == "inactive") {
        ev.session.slot<CsiState>().inactive = true;
        ev.handled = true;
      } else if (ev.element.name() == "active") {
        auto& state = ev.session.slot<CsiState>();
        state.inactive = false;
        flush(ev.session, state);  // before anything the client sends next (§5.1)
        ev.handled = true;
      }
      return ev.handled ? Flow::Stop : Flow::Continue;
    });
    // Last before the socket: filters (blocking, ...) have had their say.
    ctx.on<StanzaToClient>(Stage::Deliver, -1000,
                           [this](StanzaToClient& ev) { return on_outgoing(ev); });
    ctx.on<SessionClosed>(Stage::Process, [this](SessionClosed& ev) {
      on_closed(ev.session);
      return Flow::Continue;
    });
  }

 private:
  Flow on_outgoing(StanzaToClient& ev) {
    CsiState* state = ev.session.find_slot<CsiState>();
    if (!state || !state->inactive || state->flushing) return Flow::Continue;
    const csi::Importance importance = csi::classify(ev.stanza, ev.session.jid().bare());
    if (importance == csi::Importance::Urgent) {
      flush(ev.session, *state);  // what waited goes first
      return Flow::Continue;
    }
    const bool presence = importance == csi::Importance::Presence;
    if (presence) {
      const std::string from = ev.stanza.attr_or("from");
      std::erase_if(state->queue, [&from](const CsiState::Held& h) {
        return h.presence && h.stanza.attr_or("from") == from;
      });
    }
    xml::Element held = ev.stanza;
    // A fan-out's shared stanza is addressed to the session implicitly.
    if (!held.has_attr("to")) held.set_attr("to", ev.session.jid().str());
    state->queue.push_back({std::move(held), std::move(ev.hold), presence});
    if (state->queue.size() >= queue_size_) flush(ev.session, *state);
    return Flow::Stop;
  }

  void flush(Session& session, CsiState& state) {
    if (state.queue.empty()) return;
    std::deque<CsiState::Held> queue;
    queue.swap(state.queue);
    // send() on the session's own thread writes synchronously, so the held
    // stanzas are on their way before the stanza that caused the flush.
    state.flushing = true;
    for (auto& held : queue) session.send(std::move(held.stanza), std::move(held.hold));
    state.flushing = false;
  }

  void on_closed(Session& session) {
    CsiState* state = session.find_slot<CsiState>();
    if (!state || state->queue.empty()) return;
    std::vector<CsiState::Held> messages;
    const Jid owner = session.jid().bare();
    for (auto& held : state->queue) {
      // Carbon copies stay behind: the other resources got their own.
      if (held.presence || carbons::unwrap(held.stanza, owner)) continue;
      messages.push_back(std::move(held));
    }
    state->queue.clear();
    if (messages.empty()) return;
    // Posted to this thread: it runs after the session has been unbound, so
    // the router no longer picks the closing session. redeliver() runs no
    // hooks: the messages were archived and copied when first routed.
    asio::post(session.executor(),
               [router = &ctx_->router(), messages = std::move(messages)]() mutable {
                 for (auto& held : messages)
                   router->redeliver(std::move(held.stanza), std::move(held.hold));
               });
  }

  ModuleContext* ctx_ = nullptr;
  size_t queue_size_ = 256;
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::CsiModule)

// Broadcast lists: an Extended Stanza Addressing (XEP-0033) multicast service
// on the server's own domain. A client sends one message (or presence) to
// <domain> with an <addresses/> header; every to/cc/bcc recipient, local or
// remote, gets its own copy through the normal router, so archiving, carbons,
// offline storage, blocking and push apply to each copy as to any message.
// The sender's stream-management ack waits until every copy is delivered or
// stored (the copies share the sender's DeliveryHold).
#include "modules/multicast/multicast_rules.hpp"
#include "xmpp/events.hpp"
#include "xmpp/module.hpp"

namespace parley {
namespace {

class MulticastModule final : public Module {
 public:
  static ModuleInfo info() {
    return {
        "multicast", "Sends one stanza to many recipients (broadcast lists)", {"XEP-0033"}, true};
  }
  static void declare_options(config::OptionSchema& s) {
    s.add_int("max_recipients", 50, 1, 1024,
              "Recipients (distinct to/cc/bcc JIDs) one stanza may name; more are refused with "
              "<not-acceptable/>. XEP-0033 suggests 20 to 100.");
    s.add_bool("allow_remote", true,
               "Whether local users may multicast to accounts on other servers (each gets an "
               "individual copy); if false, such a stanza is refused with <forbidden/>.");
  }

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    max_recipients_ = static_cast<size_t>(ctx.options().get_int("max_recipients"));
    allow_remote_ = ctx.options().get_bool("allow_remote");
    ctx.add_feature(std::string(multicast::kAddressNs));
    ctx.on<StanzaToHost>(Stage::Process, [this](StanzaToHost& ev) { return on_stanza(ev); });
  }

 private:
  Flow on_stanza(StanzaToHost& ev) {
    if (!multicast::has_addresses(ev.stanza)) return Flow::Continue;
    if (is_error(ev.stanza)) return Flow::Stop;  // never fan out (or answer) an error
    std::optional<Jid> from = attr_jid(ev.stanza, "from");
    if (!from) return Flow::Stop;
    Router& router = ctx_->router();
    ServerCore& core = ctx_->core();
    multicast::Policy policy{.max_recipients = max_recipients_,
                             .sender_is_local = core.host(from->domain()) != nullptr,
                             .allow_remote = allow_remote_,
                             .is_local_domain = [&](const std::string& domain) {
                               return core.host(domain) != nullptr || router.is_service(domain);
                             }};
    multicast::Plan plan = multicast::plan(ev.stanza, policy);
    if (plan.error) {
      router.bounce(ev.stanza, *plan.error);
      return Flow::Stop;
    }
    DeliveryHold hold = router.hold_for(ev.origin);
    for (multicast::Copy& copy : plan.copies) router.route(std::move(copy.stanza), hold);
    return Flow::Stop;
  }

  ModuleContext* ctx_ = nullptr;
  size_t max_recipients_ = 50;
  bool allow_remote_ = true;
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::MulticastModule)

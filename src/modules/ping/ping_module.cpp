// XMPP Ping (XEP-0199): the server answers pings sent to itself and to the
// sender's own bare JID (or with no 'to') with an empty result.
#include "xmpp/module.hpp"

namespace parley {
namespace {

constexpr const char* kPingNs = "urn:xmpp:ping";

class PingModule final : public Module {
 public:
  static ModuleInfo info() { return {"ping", "Answers XMPP pings", {"XEP-0199"}, true}; }
  static void declare_options(config::OptionSchema&) {}

  void start(ModuleContext& ctx) override {
    ctx.add_feature(kPingNs);
    ctx.on_iq(IqType::Get, IqScope::Host | IqScope::Self, "ping", kPingNs,
              [](IqRequest) -> boost::asio::awaitable<IqResult> { co_return IqResult::ok(); });
  }
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::PingModule)

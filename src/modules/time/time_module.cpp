// Entity Time (XEP-0202) of the server, always in UTC.
#include "xmpp/module.hpp"
#include "xmpp/stanza.hpp"

namespace parley {
namespace {

constexpr const char* kTimeNs = "urn:xmpp:time";

class TimeModule final : public Module {
 public:
  static ModuleInfo info() { return {"time", "Tells the server's time", {"XEP-0202"}, true}; }
  static void declare_options(config::OptionSchema&) {}

  void start(ModuleContext& ctx) override {
    ctx.add_feature(kTimeNs);
    ctx.on_iq(IqType::Get, IqScope::Host, "time", kTimeNs,
              [](IqRequest) -> boost::asio::awaitable<IqResult> {
                xml::Element time("time", kTimeNs);
                time.add_child("tzo", kTimeNs).add_text("+00:00");
                time.add_child("utc", kTimeNs).add_text(xep0082_now());
                co_return IqResult::ok(std::move(time));
              });
  }
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::TimeModule)

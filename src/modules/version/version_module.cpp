// Software Version (XEP-0092) of the server itself.
#include <sys/utsname.h>

#include "xmpp/module.hpp"

namespace parley {
namespace {

constexpr const char* kVersionNs = "jabber:iq:version";

class VersionModule final : public Module {
 public:
  static ModuleInfo info() {
    return {"version", "Tells the server's software name and version", {"XEP-0092"}, true};
  }
  static void declare_options(config::OptionSchema& s) {
    s.add_bool("show_os", false,
               "Include the operating system (kernel name and release) in the answer. Off by "
               "default: it helps attackers more than users.");
  }

  void start(ModuleContext& ctx) override {
    if (ctx.options().get_bool("show_os")) {
      struct utsname u {};
      if (uname(&u) == 0) os_ = std::string(u.sysname) + " " + u.release;
    }
    ctx.add_feature(kVersionNs);
    ctx.on_iq(IqType::Get, IqScope::Host, "query", kVersionNs,
              [this](IqRequest) -> boost::asio::awaitable<IqResult> {
                xml::Element query("query", kVersionNs);
                query.add_child("name", kVersionNs).add_text("Parley");
                query.add_child("version", kVersionNs).add_text(PARLEY_VERSION);
                if (!os_.empty()) query.add_child("os", kVersionNs).add_text(os_);
                co_return IqResult::ok(std::move(query));
              });
  }

 private:
  std::string os_;
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::VersionModule)

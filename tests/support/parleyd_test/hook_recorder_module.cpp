// Test only, linked into parleyd-test and never into parleyd: records the hook
// events that no shipped module listens to yet (RoomMessageForAbsentMember,
// for a future push module), so that integration tests can check when and
// with what the core fires them. Each event becomes one line of XML appended
// to <data_dir>/hook-events.xml, which TestServer::hook_events() reads back.
#include <fstream>
#include <mutex>

#include "xmpp/events.hpp"
#include "xmpp/module.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley {
namespace {

inline constexpr const char* kHookNs = "urn:parley:test:hooks";

class HookRecorderModule final : public Module {
 public:
  static ModuleInfo info() {
    return {
        "hook_recorder", "Test only: records hook events in <data_dir>/hook-events.xml", {}, true};
  }
  static void declare_options(config::OptionSchema&) {}

  void start(ModuleContext& ctx) override {
    path_ = ctx.config().data_dir + "/hook-events.xml";
    // Log stage: an observer, after any module that might act on the event.
    ctx.on<RoomMessageForAbsentMember>(Stage::Log, [this](RoomMessageForAbsentMember& ev) {
      xml::Element e("event", kHookNs);
      e.set_attr("type", "RoomMessageForAbsentMember");
      e.set_attr("host", ev.host.domain());
      e.set_attr("room", ev.room.str());
      e.set_attr("member", ev.member.str());
      e.add_child(ev.message);
      record(e);
      return Flow::Continue;
    });
  }

 private:
  void record(const xml::Element& e) {
    const std::string line = xml::serialize(e) + "\n";
    // One file for every host's instance of the module, written from any
    // thread: a line must not interleave with another.
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    std::ofstream(path_, std::ios::app) << line << std::flush;
  }

  std::string path_;
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::HookRecorderModule)

#pragma once
// The module contract. A module is compiled in, self-registers by name with
// PARLEY_REGISTER_MODULE, declares its options, and in start() registers what
// it does through its ModuleContext, the whole API a module sees. The context
// records every registration and removes them all when the module stops, so a
// module has no teardown code.
#include <spdlog/logger.h>

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "xmpp/config.hpp"
#include "xmpp/core.hpp"
#include "xmpp/disco.hpp"
#include "xmpp/group_commit.hpp"
#include "xmpp/hooks.hpp"
#include "xmpp/host.hpp"
#include "xmpp/iq.hpp"
#include "xmpp/router.hpp"

namespace parley {
namespace storage {
class Storage;
struct ArchiveAppend;
}  // namespace storage

// Appends to message archives (1:1 and rooms), group-committed.
using ArchiveWriter = GroupCommit<storage::ArchiveAppend>;

struct ModuleInfo {
  std::string name;
  std::string description;
  std::vector<std::string> specs;  // "XEP-0199" ..., for docs/xep-support.md and disco
  bool enabled_by_default = true;
};

class ModuleContext;

class Module {
 public:
  virtual ~Module() = default;
  virtual void start(ModuleContext& ctx) = 0;
  virtual void stop() {}
};

struct ModuleFactory {
  ModuleInfo info;
  std::function<void(config::OptionSchema&)> declare_options;
  std::function<std::unique_ptr<Module>()> create;
};

class ModuleRegistry {
 public:
  static ModuleRegistry& instance();
  bool add(ModuleFactory factory);
  const std::map<std::string, ModuleFactory>& all() const { return factories_; }
  std::map<std::string, config::OptionSchema> schemas() const;
  std::vector<std::string> enabled_by_default() const;

 private:
  std::map<std::string, ModuleFactory> factories_;
};

// A module type provides: static ModuleInfo info(); static void
// declare_options(config::OptionSchema&); and a default constructor.
template <class M>
ModuleFactory make_module_factory() {
  return ModuleFactory{M::info(), [](config::OptionSchema& s) { M::declare_options(s); },
                       [] { return std::make_unique<M>(); }};
}

#define PARLEY_REGISTER_MODULE(Type)                                                   \
  namespace {                                                                          \
  [[maybe_unused]] const bool parley_module_registered_ =                              \
      ::parley::ModuleRegistry::instance().add(::parley::make_module_factory<Type>()); \
  }

class ModuleContext {
 public:
  ModuleContext(Host& host, std::string name, const config::OptionValues& options,
                storage::Storage& storage, ArchiveWriter& archive_writer);
  ~ModuleContext();
  ModuleContext(const ModuleContext&) = delete;
  ModuleContext& operator=(const ModuleContext&) = delete;

  // Hooks
  template <class Event, class F>
  void on(Stage stage, int tiebreak, F&& handler) {
    hooks_.push_back(host_.hooks().on<Event>(std::function<Flow(Event&)>(std::forward<F>(handler)),
                                             stage, tiebreak));
  }
  template <class Event, class F>
  void on(Stage stage, F&& handler) {
    on<Event>(stage, 0, std::forward<F>(handler));
  }

  // IQ handlers; a duplicate key throws (a start-up error).
  void on_iq(IqType type, IqScope scopes, std::string element, std::string xmlns,
             IqHandler handler);

  // A service domain (conference.<host>) routed to this module; released when
  // the module stops. Throws std::logic_error if the domain is a host or taken.
  void claim_service(const std::string& domain, Router::ServiceHandler handler);

  // A route of the built-in HTTP listener (exact path, or with prefix = true
  // every path under a prefix ending in '/'); released when the module stops.
  // Throws std::logic_error if the path is taken (a start-up error).
  void on_http(std::string path, std::vector<std::string> methods, HttpHandler handler,
               bool prefix = false);

  // Disco items (feed the entity-caps hash).
  void add_feature(std::string var);
  void add_identity(DiscoIdentity identity);

  const std::string& name() const { return name_; }
  Host& host() { return host_; }
  const std::string& domain() const { return host_.domain(); }
  ServerCore& core() { return host_.core(); }
  Router& router() { return host_.core().router(); }
  BlockingPool& pool() { return host_.core().pool(); }
  storage::Storage& storage() { return storage_; }
  // Appends to message archives, group-committed: co_await write(...).
  ArchiveWriter& archive_writer() { return archive_writer_; }
  const config::OptionValues& options() const { return options_; }
  const config::Config& config() const { return host_.core().config(); }
  spdlog::logger& log() { return *logger_; }
  // A further logger for this module's parts ("mod_mam_expiry@host"),
  // following the server's log level like log() does.
  static std::shared_ptr<spdlog::logger> make_logger(const std::string& name);
  boost::asio::any_io_executor executor() { return host_.core().service_executor(); }

 private:
  struct IqKey {
    IqType type;
    IqScope scopes;
    std::string element, xmlns;
  };
  Host& host_;
  std::string name_;
  const config::OptionValues& options_;
  storage::Storage& storage_;
  ArchiveWriter& archive_writer_;
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<HookId> hooks_;
  std::vector<IqKey> iqs_;
  std::vector<std::string> features_;
  std::vector<DiscoIdentity> identities_;
  std::vector<std::string> services_;
  std::vector<HttpRoutes::RouteId> http_routes_;
};

}  // namespace parley

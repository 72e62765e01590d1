#pragma once
// parleyd: owns the configuration, the store, the I/O threads (one io_context
// per thread, sessions pinned to one), the hosts with their modules, the
// listeners and the admin socket.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/stats.hpp"
#include "storage/store.hpp"
#include "xmpp/config.hpp"
#include "xmpp/core.hpp"
#include "xmpp/module.hpp"
#include "xmpp/router.hpp"
#include "xmpp/stream/auth_throttle.hpp"
#include "xmpp/stream/connection_admission.hpp"
#include "xmpp/stream/stream_management.hpp"
#include "xmpp/stream/tls.hpp"

namespace parley {

class AdminServer;
class HttpServer;

class Server final : public ServerCore {
 public:
  explicit Server(config::Config config);
  ~Server() override;

  // Binds the listeners, starts the threads and blocks until stop().
  int run();
  // Graceful: every client gets <system-shutdown/>, storage is flushed.
  void stop();
  // What a reload did: settings applied, changed settings that take effect
  // only after a restart, and the errors of a configuration that did not load
  // (then nothing but the certificates was reloaded).
  struct ReloadReport {
    std::vector<std::string> applied, restart_needed, errors;
  };
  // SIGHUP and `parleyctl reload`, on the service thread: reads the
  // configuration file again, applies the log level and the TLS certificates
  // (re-read from disk even when their paths did not change), and reports the
  // rest.
  ReloadReport reload();

  // ServerCore
  Router& router() override { return router_; }
  DeliveryTracker& deliveries() override { return deliveries_; }
  Host* host(std::string_view domain) override;
  std::vector<Host*> hosts() override;
  BlockingPool& pool() override { return *pool_; }
  const config::Config& config() const override { return config_; }
  AccountDirectory& accounts() override { return *accounts_; }
  boost::asio::any_io_executor service_executor() override { return ios_.front()->get_executor(); }
  metrics::Metrics& metrics() override { return metrics_; }
  HttpRoutes& http_routes() override { return http_routes_; }
  std::chrono::steady_clock::time_point started() const override { return started_; }
  bool stopping() const override { return stopping_.load(); }

  storage::Storage& storage() { return *storage_; }
  ArchiveWriter& archive_writer() { return *archive_writer_; }
  // Uptime, memory, sessions: the figures of /metrics read when asked.
  ProcessFigures process_figures() const;
  std::vector<std::string> enabled_modules(const std::string& host) const;
  // Bound listener ports (after run() started), "kind" -> port; the HTTP
  // listener is "http".
  std::vector<std::pair<std::string, uint16_t>> bound_ports() const;

 private:
  void start_modules();
  void start_listeners();
  void accept_loop(std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor, bool direct_tls);
  void start_http(std::ostream& ports);
  // At stop(): waits until the sessions are closed and the work in flight is
  // done (or the deadline passed), then stops the I/O contexts.
  boost::asio::awaitable<void> quiesce(std::shared_ptr<const std::atomic<size_t>> unclosed);
  // What keeps quiesce() waiting; empty when nothing does.
  std::vector<std::string> busy(size_t unclosed) const;
  boost::asio::awaitable<HttpResponse> serve_metrics(const HttpRequest& request);

  config::Config config_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  // Before the pool and the I/O contexts: what they still touch while they
  // wind down outlives them.
  metrics::Metrics metrics_;
  HttpRoutes http_routes_;
  DeliveryTracker deliveries_;  // its tickets die with the handlers of the I/O contexts
  std::unique_ptr<storage::Storage> storage_;
  std::unique_ptr<AccountDirectory> accounts_;
  std::unique_ptr<BlockingPool> pool_;
  std::vector<std::unique_ptr<boost::asio::io_context>> ios_;
  std::vector<std::thread> threads_;
  // Every module's archive appends (1:1 and rooms) share one group commit.
  // After the I/O contexts: its waiters resume on them.
  std::unique_ptr<ArchiveWriter> archive_writer_;
  std::map<std::string, std::unique_ptr<Host>, std::less<>> hosts_;
  struct LoadedModule {
    std::string host;
    std::unique_ptr<Module> module;
    std::unique_ptr<ModuleContext> context;
  };
  std::vector<LoadedModule> modules_;
  Router router_{*this};
  std::unique_ptr<tls::TlsContexts> tls_;
  std::unique_ptr<AuthThrottle> throttle_;
  std::shared_ptr<ConnectionAdmission> admission_;
  SmRegistry resumable_;  // XEP-0198 sessions that may be resumed
  std::vector<std::pair<std::string, std::shared_ptr<boost::asio::ip::tcp::acceptor>>> acceptors_;
  std::unique_ptr<boost::asio::signal_set> signals_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<HttpServer> http_;
  HttpRoutes::RouteId metrics_route_ = 0;
  std::atomic<size_t> next_io_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace parley

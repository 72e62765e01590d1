#include "server/server.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <fstream>

#include "server/account_directory.hpp"
#include "server/admin.hpp"
#include "server/http_server.hpp"
#include "server/logging.hpp"
#include "server/stats.hpp"
#include "xmpp/stream/c2s_session.hpp"

namespace parley {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// A graceful stop waits for the work in flight (messages on their way to a
// recipient or to storage, storage jobs, archive commits) at most this long,
// so that a stuck disk cannot hang it...
constexpr auto kShutdownDeadline = std::chrono::seconds(5);
// ...and at least this long, for the sessions to write their stream errors.
constexpr auto kShutdownGrace = std::chrono::milliseconds(300);
// How often it looks.
constexpr auto kShutdownPoll = std::chrono::milliseconds(10);

}  // namespace

Server::Server(config::Config config) : config_(std::move(config)) {
  std::filesystem::create_directories(config_.data_dir);
  storage_ = storage::open_storage(config_.storage);
  accounts_ = std::make_unique<StoreAccountDirectory>(*storage_);
  const size_t db_threads =
      config_.storage.backend == "sqlite" ? 2 : std::max(2, config_.storage.pool_size);
  pool_ = std::make_unique<BlockingPool>(db_threads);
  pool_->observe(&metrics_.storage_latency);
  size_t threads = config_.threads > 0 ? static_cast<size_t>(config_.threads)
                                       : std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < threads; ++i) ios_.push_back(std::make_unique<asio::io_context>(1));
  archive_writer_ = std::make_unique<ArchiveWriter>(
      *pool_, ios_.front()->get_executor(),
      [&archive = storage_->archive()](std::span<const storage::ArchiveAppend> batch) {
        archive.append_batch(batch);
      });
  for (const auto& domain : config_.hosts)
    hosts_.emplace(domain, std::make_unique<Host>(domain, *this));
  tls_ = std::make_unique<tls::TlsContexts>(config_.tls, config_.hosts, config_.data_dir);
  throttle_ = std::make_unique<AuthThrottle>(
      static_cast<size_t>(config_.limits.auth_failures_per_address_per_minute));
  admission_ = ConnectionAdmission::create(
      {static_cast<size_t>(config_.limits.max_connections_per_address),
       static_cast<double>(config_.limits.new_connections_per_address_per_second),
       static_cast<double>(config_.limits.new_connections_per_address_burst)});
  start_modules();
}

Server::~Server() {
  modules_.clear();
  if (metrics_route_) http_routes_.remove(metrics_route_);
  for (auto& io : ios_) io->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

Host* Server::host(std::string_view domain) {
  auto it = hosts_.find(domain);
  return it == hosts_.end() ? nullptr : it->second.get();
}

std::vector<Host*> Server::hosts() {
  std::vector<Host*> out;
  for (auto& [d, h] : hosts_) out.push_back(h.get());
  return out;
}

std::vector<std::string> Server::enabled_modules(const std::string& host) const {
  std::vector<std::string> out;
  for (const auto& m : modules_)
    if (m.host == host) out.push_back(m.context->name());
  return out;
}

void Server::start_modules() {
  const auto& registry = ModuleRegistry::instance().all();
  for (auto& [domain, host] : hosts_) {
    for (const auto& [name, mc] : config_.modules) {
      if (!mc.enabled) continue;
      auto it = registry.find(name);
      if (it == registry.end()) continue;
      LoadedModule loaded{
          domain, it->second.create(),
          std::make_unique<ModuleContext>(*host, name, mc.options, *storage_, *archive_writer_)};
      loaded.module->start(*loaded.context);
      modules_.push_back(std::move(loaded));
    }
  }
}

void Server::start_listeners() {
  std::ofstream ports(std::filesystem::path(config_.data_dir) / "ports", std::ios::trunc);
  for (const auto& l : config_.listeners) {
    auto acceptor = std::make_shared<tcp::acceptor>(*ios_.front());
    tcp::endpoint ep(asio::ip::make_address(l.bind), l.port);
    acceptor->open(ep.protocol());
    acceptor->set_option(tcp::acceptor::reuse_address(true));
    acceptor->bind(ep);
    acceptor->listen(asio::socket_base::max_listen_connections);
    const uint16_t port = acceptor->local_endpoint().port();
    spdlog::info("listening for {} on {}:{}", l.kind, l.bind, port);
    ports << l.kind << ' ' << l.bind << ' ' << port << '\n';
    acceptors_.emplace_back(l.kind, acceptor);
    accept_loop(acceptor, l.kind == "c2s_direct_tls");
  }
  start_http(ports);
}

void Server::start_http(std::ostream& ports) {
  const auto& h = config_.http;
  if (!h.enabled) return;
  if (h.metrics)
    metrics_route_ = http_routes_.add(
        {"/metrics", false, {"GET"}, [this](const HttpRequest& r) { return serve_metrics(r); }});
  http_ = std::make_unique<HttpServer>(h, http_routes_, metrics_, [this]() -> asio::io_context& {
    return *ios_[next_io_++ % ios_.size()];
  });
  const uint16_t port = http_->listen(*ios_.front());
  spdlog::info("listening for http on {}:{}", h.bind, port);
  ports << "http " << h.bind << ' ' << port << '\n';
}

namespace {

// The address as metrics_allow lists it: an IPv4-mapped IPv6 address as IPv4.
bool metrics_allowed(const std::vector<std::string>& allow, const std::string& remote) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(remote, ec);
  if (ec) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  for (const auto& a : allow) {
    auto allowed = asio::ip::make_address(a, ec);
    if (!ec && allowed == address) return true;
  }
  return false;
}

}  // namespace

ProcessFigures Server::process_figures() const {
  ProcessFigures figures;
  figures.uptime_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  read_process_memory(figures);
  figures.sessions = router_.session_count();
  figures.http_connections = http_ ? http_->open_connections() : 0;
  return figures;
}

asio::awaitable<HttpResponse> Server::serve_metrics(const HttpRequest& request) {
  if (!metrics_allowed(config_.http.metrics_allow, request.remote_address))
    co_return HttpResponse::text(403, "forbidden\n");
  HttpResponse response;
  response.content_type = std::string(kOpenMetricsContentType);
  response.body = render_openmetrics(metrics_, process_figures());
  response.headers.emplace_back("Cache-Control", "no-store");
  co_return response;
}

std::vector<std::pair<std::string, uint16_t>> Server::bound_ports() const {
  std::vector<std::pair<std::string, uint16_t>> out;
  for (const auto& [kind, a] : acceptors_) {
    boost::system::error_code ec;
    auto ep = a->local_endpoint(ec);
    if (!ec) out.emplace_back(kind, ep.port());
  }
  if (http_) out.emplace_back("http", http_->port());
  return out;
}

void Server::accept_loop(std::shared_ptr<tcp::acceptor> acceptor, bool direct_tls) {
  asio::co_spawn(
      *ios_.front(),
      [this, acceptor, direct_tls]() -> asio::awaitable<void> {
        for (;;) {
          auto& target = *ios_[next_io_++ % ios_.size()];
          tcp::socket socket(target);
          boost::system::error_code ec;
          co_await acceptor->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
          if (ec) {
            if (ec == asio::error::operation_aborted || stopping_) co_return;
            spdlog::warn("accept failed: {}", ec.message());
            // Out of descriptors and the like: back off instead of spinning.
            asio::steady_timer t(co_await asio::this_coro::executor,
                                 std::chrono::milliseconds(100));
            co_await t.async_wait(asio::use_awaitable);
            continue;
          }
          boost::system::error_code peer_ec;
          const auto peer = socket.remote_endpoint(peer_ec);
          auto ticket = admission_->admit(peer_ec ? "unknown" : peer.address().to_string());
          if (!ticket) {
            // XEP-0205: refused at the TCP level, before any TLS or XML work.
            metrics_.connections_refused.inc();
            spdlog::debug("refused a connection from {}: over the per-address limits",
                          peer_ec ? "unknown" : peer.address().to_string());
            socket.close(peer_ec);
            continue;
          }
          C2SOptions options{direct_tls, tls_->default_context_ptr(), throttle_.get(), &resumable_,
                             std::move(ticket)};
          std::make_shared<C2SSession>(std::move(socket), *this, std::move(options))->start();
        }
      },
      asio::detached);
}

int Server::run() {
  start_listeners();
  std::string socket_path =
      config_.admin_socket.empty()
          ? (std::filesystem::path(config_.data_dir) / "parleyctl.sock").string()
          : config_.admin_socket;
  admin_ = std::make_unique<AdminServer>(*this, socket_path);
  admin_->start();

  signals_ = std::make_unique<asio::signal_set>(*ios_.front(), SIGTERM, SIGINT, SIGHUP);
  std::function<void(boost::system::error_code, int)> on_signal;
  on_signal = [this, &on_signal](boost::system::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading");
      reload();
      signals_->async_wait(on_signal);
    } else {
      spdlog::info("signal {}: shutting down", sig);
      stop();
    }
  };
  signals_->async_wait(on_signal);

  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& io : ios_) guards.push_back(asio::make_work_guard(*io));
  for (size_t i = 1; i < ios_.size(); ++i)
    threads_.emplace_back([io = ios_[i].get()] { io->run(); });
  spdlog::info("parleyd {} started for {} host(s) with {} I/O thread(s), storage {}",
               PARLEY_VERSION, hosts_.size(), ios_.size(), storage_->backend_name());
  ios_.front()->run();
  guards.clear();
  for (auto& io : ios_) io->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  // The I/O threads are gone, so no new job comes. stop() waited for the
  // work in flight, so normally nothing is left; after its deadline, let the
  // queued jobs run (their continuations land on the stopped I/O contexts and
  // are dropped with them), then commit what still waited for the archive.
  pool_->drain();
  archive_writer_->commit_remaining();
  storage_->flush();
  spdlog::info("parleyd stopped");
  return 0;
}

void Server::stop() {
  if (stopping_.exchange(true)) return;
  asio::post(*ios_.front(), [this] {
    for (auto& [kind, a] : acceptors_) {
      boost::system::error_code ec;
      a->close(ec);
    }
    if (admin_) admin_->stop();
    if (http_) http_->stop();
    if (signals_) signals_->cancel();
    // Each session closes on its own thread. A closed session reads nothing
    // more, and what it took is on its way under a hold that counts in
    // deliveries_ (a message for a closing session goes to offline storage).
    const std::vector<RouteEntry> sessions = router_.all_sessions();
    auto unclosed = std::make_shared<std::atomic<size_t>>(sessions.size());
    for (const auto& entry : sessions)
      asio::post(entry.session->executor(), [session = entry.session, unclosed] {
        session->close(StreamErrorCondition::SystemShutdown, "the server is shutting down");
        unclosed->fetch_sub(1);
      });
    asio::co_spawn(*ios_.front(), quiesce(std::move(unclosed)), asio::detached);
  });
}

asio::awaitable<void> Server::quiesce(std::shared_ptr<const std::atomic<size_t>> unclosed) {
  const auto started = std::chrono::steady_clock::now();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    const auto waited = std::chrono::steady_clock::now() - started;
    const std::vector<std::string> waiting_for = busy(unclosed->load());
    if (waiting_for.empty() && waited >= kShutdownGrace) break;
    if (waited >= kShutdownDeadline) {
      spdlog::warn("shutdown: stopping after {} s though work is still in flight: {}",
                   std::chrono::duration_cast<std::chrono::seconds>(kShutdownDeadline).count(),
                   fmt::join(waiting_for, ", "));
      break;
    }
    timer.expires_after(kShutdownPoll);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  for (auto& io : ios_) io->stop();
}

std::vector<std::string> Server::busy(size_t unclosed) const {
  // In this order: once every session is closed no message comes in, and one
  // on its way holds a ticket until it is routed, so none is missed between
  // the reads.
  std::vector<std::string> out;
  if (unclosed) out.push_back(fmt::format("{} session(s) not closed", unclosed));
  if (size_t n = deliveries_.in_flight())
    out.push_back(fmt::format("{} message(s) on their way", n));
  if (size_t n = pool_->in_flight()) out.push_back(fmt::format("{} storage job(s)", n));
  if (!archive_writer_->idle()) out.emplace_back("archive writes");
  return out;
}

namespace {

// The settings of `now` that differ from `before` and that a running server
// cannot take over: listeners are bound, hosts and modules started, the store
// open, and sessions read limits without a lock.
std::vector<std::string> needing_restart(const config::Config& before, const config::Config& now) {
  std::vector<std::string> out;
  auto check = [&](bool same, const char* name) {
    if (!same) out.emplace_back(name);
  };
  check(before.hosts == now.hosts, "hosts");
  check(before.data_dir == now.data_dir, "server.data_dir");
  check(before.threads == now.threads, "server.threads");
  check(before.admin_socket == now.admin_socket, "server.admin_socket");
  check(before.scram_iterations == now.scram_iterations, "sasl.scram_iterations");
  check(before.sasl_mechanisms == now.sasl_mechanisms, "sasl.mechanisms");
  check(before.listeners == now.listeners, "listeners");
  check(before.tls.require_starttls == now.tls.require_starttls, "tls.require_starttls");
  check(before.storage == now.storage, "storage");
  check(before.limits == now.limits, "limits");
  check(before.http == now.http, "http");
  check(before.log.format == now.log.format && before.log.file == now.log.file,
        "log.format/log.file");
  for (const auto& [name, module] : now.modules) {
    auto it = before.modules.find(name);
    if (it == before.modules.end() || !(it->second == module)) out.push_back("modules." + name);
  }
  return out;
}

}  // namespace

Server::ReloadReport Server::reload() {
  ReloadReport report;
  std::optional<config::Config> fresh;
  if (!config_.path.empty()) {
    auto& modules = ModuleRegistry::instance();
    auto loaded = config::load_file(config_.path, modules.schemas(), modules.enabled_by_default());
    if (loaded.config) {
      fresh = std::move(loaded.config);
    } else {
      report.errors = std::move(loaded.errors);
      for (const auto& e : report.errors) spdlog::error("reload: {}", e);
      spdlog::error("reload: {} did not load; the running configuration stays", config_.path);
    }
  }
  if (fresh) {
    // The level first, so that this reload's own messages follow it.
    apply_log_level(fresh->log.level);
    report.applied.push_back("log.level (" + fresh->log.level + ")");
  }
  try {
    if (fresh)
      tls_->reload(fresh->tls);
    else
      tls_->reload();
    report.applied.emplace_back("tls certificates");
  } catch (const std::exception& e) {
    report.errors.push_back(std::string("certificates: ") + e.what());
    spdlog::error("reload: keeping the old certificates: {}", e.what());
  }
  if (fresh) report.restart_needed = needing_restart(config_, *fresh);
  for (const auto& r : report.restart_needed)
    spdlog::warn("reload: {} changed; it takes effect after a restart", r);
  spdlog::info("reloaded: {}", fmt::join(report.applied, ", "));
  return report;
}

}  // namespace parley

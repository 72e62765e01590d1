#include "runner.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace parley::bench {

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument: " + a);
    a = a.substr(2);
    const auto eq = a.find('=');
    if (eq != std::string::npos) {
      values_[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      values_[a] = argv[++i];
    } else {
      values_[a] = "";
    }
  }
}

std::string Args::str(const std::string& key, const std::string& fallback) const {
  auto it = values_.find(key);
  used_[key] = true;
  return it == values_.end() ? fallback : it->second;
}

int64_t Args::integer(const std::string& key, int64_t fallback) const {
  auto it = values_.find(key);
  used_[key] = true;
  if (it == values_.end()) return fallback;
  size_t pos = 0;
  const int64_t v = std::stoll(it->second, &pos);
  if (pos != it->second.size()) throw std::invalid_argument("--" + key + " wants an integer");
  return v;
}

double Args::number(const std::string& key, double fallback) const {
  auto it = values_.find(key);
  used_[key] = true;
  if (it == values_.end()) return fallback;
  size_t pos = 0;
  const double v = std::stod(it->second, &pos);
  if (pos != it->second.size()) throw std::invalid_argument("--" + key + " wants a number");
  return v;
}

bool Args::flag(const std::string& key) const {
  auto it = values_.find(key);
  used_[key] = true;
  if (it == values_.end()) return false;
  return it->second.empty() || it->second == "1" || it->second == "true" || it->second == "yes";
}

std::vector<std::string> Args::unused() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : values_)
    if (!used_.count(k)) out.push_back(k);
  return out;
}

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double ServerProbe::cpu_seconds() const {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  // Fields after the command name (which may contain spaces), from field 3 on.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stod(f);
    if (i == 15) stime = std::stod(f);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double ServerProbe::rss_bytes() const {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;
  }
  return 0;
}

Runner::Runner(const Args& args) {
  auto& o = ctx_.options;
  o.host = args.str("host", "127.0.0.1");
  o.port = static_cast<uint16_t>(args.integer("port", 5222));
  o.domain = args.str("domain", "localhost");
  const std::string tls = args.str("tls", "starttls");
  if (tls == "starttls")
    o.tls = TlsMode::StartTls;
  else if (tls == "direct")
    o.tls = TlsMode::Direct;
  else if (tls == "none")
    o.tls = TlsMode::None;
  else
    throw std::invalid_argument("--tls must be starttls, direct or none");
  o.mechanism = args.str("mech", "auto");
  if (o.mechanism != "auto" && o.mechanism != "PLAIN" && o.mechanism != "SCRAM-SHA-1" &&
      o.mechanism != "SCRAM-SHA-256")
    throw std::invalid_argument("--mech must be auto, PLAIN, SCRAM-SHA-1 or SCRAM-SHA-256");
  std::stringstream sources(args.str("source-addrs", ""));
  for (std::string a; std::getline(sources, a, ',');)
    if (!a.empty()) o.source_addrs.push_back(a);
  o.sm = args.flag("sm");
  o.login_end = args.str("login-end", "ping");
  if (o.login_end != "ping" && o.login_end != "echo" && o.login_end != "sent")
    throw std::invalid_argument("--login-end must be ping, echo or sent");
  o.resource = args.str("resource", "loadgen");
  o.timeout = std::chrono::milliseconds(args.integer("timeout-ms", 30000));
  threads_ = static_cast<int>(args.integer("threads", 1));
  if (threads_ < 1) throw std::invalid_argument("--threads must be at least 1");
  concurrency_ = static_cast<size_t>(args.integer("concurrency", 50));
  if (concurrency_ < 1) throw std::invalid_argument("--concurrency must be at least 1");
  prefix_ = args.str("user-prefix", "bench");
  password_ = args.str("password", "benchpass");
  first_ = static_cast<size_t>(args.integer("first", 0));
  server_.pid = static_cast<int>(args.integer("server-pid", 0));
  cache_path_ = args.str("scram-cache", "");
  if (!cache_path_.empty()) ctx_.scram_cache.load(cache_path_);
  ctx_.tls.set_verify_mode(asio::ssl::verify_none);  // self-signed certificates
  resume_ = args.flag("resume");
  if (resume_) ctx_.tls_sessions.attach(ctx_.tls.native_handle());
}

void Runner::save_cache() {
  if (!cache_path_.empty()) ctx_.scram_cache.save(cache_path_);
}

void Runner::describe(Json& j) const {
  const auto& o = ctx_.options;
  j.str("server", o.host + ":" + std::to_string(o.port));
  j.str("domain", o.domain);
  j.str("tls", o.tls == TlsMode::StartTls ? "starttls"
               : o.tls == TlsMode::Direct ? "direct"
                                          : "none");
  j.str("mechanism", ctx_.mechanism_used.empty() ? o.mechanism : ctx_.mechanism_used);
  j.boolean("sm", o.sm);
  j.boolean("tls_resume", resume_);
  j.str("login_end", o.login_end);
  j.num("threads", threads_);
}

void Runner::run(std::function<asio::awaitable<void>()> main) {
  std::exception_ptr failure;
  asio::co_spawn(asio::make_strand(ioc_), main(), [&](std::exception_ptr e) {
    failure = e;
    ioc_.stop();
  });
  std::vector<std::thread> extra;
  for (int i = 1; i < threads_; ++i) extra.emplace_back([this] { ioc_.run(); });
  ioc_.run();
  for (auto& t : extra) t.join();
  if (failure) std::rethrow_exception(failure);
}

asio::awaitable<void> Runner::sleep(std::chrono::nanoseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(asio::use_awaitable);
}

struct Runner::Pool {
  enum class Kind { Login, Register } kind;
  size_t offset = 0, count = 0;
  bool keep = false, presence = true;
  Connection::Handler reader;
  std::atomic<size_t> next{0};
  std::atomic<size_t> workers_left{0};
  std::mutex mutex;
  PoolResult result;
};

namespace {

asio::awaitable<void> timed_login(std::shared_ptr<Connection> c, std::string user,
                                  std::string password, bool presence,
                                  std::chrono::milliseconds timeout) {
  c->arm_deadline(timeout);
  try {
    co_await c->login(std::move(user), std::move(password), presence);
  } catch (...) {
    c->abort();
    throw;
  }
  c->disarm_deadline();
}

asio::awaitable<bool> timed_register(std::shared_ptr<Connection> c, std::string user,
                                     std::string password, std::chrono::milliseconds timeout) {
  c->arm_deadline(timeout);
  bool created = false;
  try {
    created = co_await c->register_account(std::move(user), std::move(password));
  } catch (...) {
    c->abort();
    throw;
  }
  c->disarm_deadline();
  c->close();
  co_return created;
}

}  // namespace

asio::awaitable<void> Runner::pool_worker(std::shared_ptr<Pool> pool) {
  for (;;) {
    const size_t i = pool->next++;
    if (i >= pool->count) break;
    auto c = std::make_shared<Connection>(asio::make_strand(ioc_), ctx_, pool->offset + i);
    const int64_t t0 = now_ns();
    try {
      bool existed = false;
      if (pool->kind == Pool::Kind::Login) {
        co_await asio::co_spawn(
            c->executor(),
            timed_login(c, user(pool->offset + i), password_, pool->presence, ctx_.options.timeout),
            asio::use_awaitable);
      } else {
        existed = !co_await asio::co_spawn(
            c->executor(),
            timed_register(c, user(pool->offset + i), password_, ctx_.options.timeout),
            asio::use_awaitable);
      }
      const int64_t dt = now_ns() - t0;
      std::lock_guard lock(pool->mutex);
      pool->result.latencies.push_back(dt);
      ++pool->result.ok;
      if (existed) ++pool->result.existed;
      if (pool->kind == Pool::Kind::Login) {
        if (pool->keep) {
          pool->result.conns[i] = c;
          if (pool->reader)
            asio::post(c->executor(), [c, h = pool->reader] { c->start_reader(h); });
        } else
          asio::post(c->executor(), [c] { c->close(); });
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(pool->mutex);
      ++pool->result.failed;
      if (pool->result.first_error.empty()) pool->result.first_error = e.what();
    }
  }
  --pool->workers_left;
}

asio::awaitable<PoolResult> Runner::run_pool(std::shared_ptr<Pool> pool) {
  pool->result.conns.resize(pool->count);
  const size_t workers = std::min(concurrency_, std::max<size_t>(pool->count, 1));
  pool->workers_left = workers;
  const int64_t t0 = now_ns();
  const double cpu0 = server_.cpu_seconds();
  for (size_t w = 0; w < workers; ++w)
    asio::co_spawn(asio::make_strand(ioc_), pool_worker(pool), asio::detached);
  while (pool->workers_left > 0) co_await sleep(std::chrono::milliseconds(2));
  std::lock_guard lock(pool->mutex);
  pool->result.elapsed_s = static_cast<double>(now_ns() - t0) / 1e9;
  pool->result.server_cpu_s = server_.cpu_seconds() - cpu0;
  co_return std::move(pool->result);
}

asio::awaitable<PoolResult> Runner::login_many(size_t offset, size_t count, bool keep,
                                               bool presence, Connection::Handler reader) {
  auto pool = std::make_shared<Pool>();
  pool->kind = Pool::Kind::Login;
  pool->offset = offset;
  pool->count = count;
  pool->keep = keep;
  pool->presence = presence;
  pool->reader = std::move(reader);
  co_return co_await run_pool(pool);
}

asio::awaitable<PoolResult> Runner::register_many(size_t offset, size_t count) {
  auto pool = std::make_shared<Pool>();
  pool->kind = Pool::Kind::Register;
  pool->offset = offset;
  pool->count = count;
  co_return co_await run_pool(pool);
}

asio::awaitable<void> Runner::close_all(std::vector<std::shared_ptr<Connection>>& conns) {
  for (auto& c : conns)
    if (c) asio::post(c->executor(), [c] { c->close(); });
  co_await sleep(std::chrono::milliseconds(300));
  for (auto& c : conns)
    if (c) asio::post(c->executor(), [c] { c->abort(); });
  co_await sleep(std::chrono::milliseconds(50));
  conns.clear();
}

}  // namespace parley::bench

#pragma once
// The run-wide state of parley-loadgen: command-line options, the io_context
// and its threads, account naming, and the pool that logs many clients in with
// bounded concurrency.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "connection.hpp"
#include "report.hpp"

namespace parley::bench {

class Args {
 public:
  Args(int argc, char** argv, int first);
  bool has(const std::string& key) const { return values_.count(key) > 0; }
  std::string str(const std::string& key, const std::string& fallback) const;
  int64_t integer(const std::string& key, int64_t fallback) const;
  double number(const std::string& key, double fallback) const;
  bool flag(const std::string& key) const;
  // Keys given on the command line that no scenario read (typos).
  std::vector<std::string> unused() const;

 private:
  std::map<std::string, std::string> values_;
  mutable std::map<std::string, bool> used_;
};

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// CPU seconds (user + system) used by this process so far.
double process_cpu_seconds();

// The server under test, watched through /proc (--server-pid): its CPU time
// around each measured phase gives the CPU cost per unit of work.
struct ServerProbe {
  int pid = 0;
  bool enabled() const { return pid > 0; }
  double cpu_seconds() const;  // utime + stime; 0 when disabled or unreadable
  double rss_bytes() const;    // VmRSS
};

struct PoolResult {
  std::vector<std::shared_ptr<Connection>> conns;  // index i = account i (null if failed/closed)
  std::vector<int64_t> latencies;                  // ns, successful operations
  size_t ok = 0, failed = 0, existed = 0;
  std::string first_error;
  double elapsed_s = 0;
  double server_cpu_s = 0;  // server CPU during the pool (with --server-pid)
};

class Runner {
 public:
  explicit Runner(const Args& args);

  ClientContext& ctx() { return ctx_; }
  asio::io_context& ioc() { return ioc_; }
  std::string user(size_t i) const { return prefix_ + std::to_string(first_ + i); }
  const std::string& password() const { return password_; }
  std::string bare(size_t i) const { return user(i) + "@" + ctx_.options.domain; }
  size_t concurrency() const { return concurrency_; }
  const ServerProbe& server() const { return server_; }
  bool resume() const { return resume_; }  // --resume: TLS sessions are resumed

  // Runs `main` on the io_context (with the configured threads) until it ends.
  void run(std::function<asio::awaitable<void>()> main);

  // Logs in accounts [offset, offset + count) with at most `concurrency`
  // logins in flight. Kept connections are returned in `conns`.
  // With `reader`, each kept connection starts reading with it right after its login.
  asio::awaitable<PoolResult> login_many(size_t offset, size_t count, bool keep, bool presence,
                                         Connection::Handler reader = {});
  // Registers accounts [offset, offset + count) with XEP-0077.
  asio::awaitable<PoolResult> register_many(size_t offset, size_t count);
  // Closes every connection (ends the streams) and waits a moment for the writes.
  asio::awaitable<void> close_all(std::vector<std::shared_ptr<Connection>>& conns);
  // Sleeps on the calling coroutine's executor.
  asio::awaitable<void> sleep(std::chrono::nanoseconds d);

  // Common fields of every report line.
  void describe(Json& j) const;
  void save_cache();

 private:
  struct Pool;
  asio::awaitable<void> pool_worker(std::shared_ptr<Pool> pool);
  asio::awaitable<PoolResult> run_pool(std::shared_ptr<Pool> pool);

  asio::io_context ioc_;
  ClientContext ctx_;
  int threads_ = 1;
  size_t concurrency_ = 50;
  std::string prefix_, password_, cache_path_;
  size_t first_ = 0;
  bool resume_ = false;
  ServerProbe server_;
};

}  // namespace parley::bench

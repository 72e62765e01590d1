#pragma once
// A storage chore that runs on the blocking pool at start and then every
// `interval` until stopped (retention expiry of offline messages, archives).
// The state is shared with the coroutine, so stopping or destroying the owner
// never leaves the coroutine pointing at freed memory.
#include <spdlog/logger.h>

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "xmpp/blocking_pool.hpp"

namespace parley {

class PeriodicTask {
 public:
  // `job` runs on the pool, never on an I/O thread; an exception it throws is
  // logged as "<what> failed: ..." and the next run happens as planned.
  PeriodicTask(boost::asio::any_io_executor executor, BlockingPool& pool,
               std::chrono::steady_clock::duration interval, std::function<void()> job,
               std::shared_ptr<spdlog::logger> log, std::string what);
  ~PeriodicTask() { stop(); }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void start();
  // Idempotent; a run in progress finishes, no new one starts.
  void stop();

 private:
  struct State;
  static boost::asio::awaitable<void> loop(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
  bool started_ = false;
};

}  // namespace parley

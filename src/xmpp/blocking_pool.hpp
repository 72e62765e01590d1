#pragma once
// Runs blocking work (storage calls) off the I/O threads and resumes the
// awaiting coroutine on its own executor. run_ordered() serialises the jobs of
// one key (e.g. one recipient) so that their effects keep arrival order.
// run() and run_ordered() are storage calls: with observe() set, the time from
// submission to result goes into that histogram. compute() is for CPU work
// that is not storage (PBKDF2) and is not observed. in_flight() counts the
// jobs whose awaiting coroutine has not resumed yet (graceful shutdown waits
// for none).
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <string_view>
#include <type_traits>
#include <vector>

#include "xmpp/in_flight.hpp"
#include "xmpp/metrics.hpp"

namespace parley {

// Capture by reference in the lambdas given to run()/run_ordered(): the
// awaiting coroutine's frame keeps the referents alive, and GCC 12 destroys a
// closure temporary inside a co_await expression twice, which is harmless only
// when the closure owns nothing.
class BlockingPool {
 public:
  explicit BlockingPool(size_t threads, size_t ordered_lanes = 64) : pool_(threads ? threads : 1) {
    lanes_.reserve(ordered_lanes);
    for (size_t i = 0; i < ordered_lanes; ++i) lanes_.push_back(boost::asio::make_strand(pool_));
  }
  ~BlockingPool() { stop(); }

  // Set before the pool is used.
  void observe(metrics::Histogram* latency) { latency_ = latency; }

  template <class F>
  auto run(F f) -> boost::asio::awaitable<std::invoke_result_t<F>> {
    return run_on(pool_.get_executor(), std::move(f), latency_, in_flight_);
  }

  template <class F>
  auto run_ordered(std::string_view key, F f) -> boost::asio::awaitable<std::invoke_result_t<F>> {
    return run_on(lanes_[std::hash<std::string_view>{}(key) % lanes_.size()], std::move(f),
                  latency_, in_flight_);
  }

  template <class F>
  auto compute(F f) -> boost::asio::awaitable<std::invoke_result_t<F>> {
    return run_on(pool_.get_executor(), std::move(f), nullptr, in_flight_);
  }

  // Jobs submitted whose awaiting coroutine has not resumed yet, on its own
  // executor, with the result. What that coroutine does next is not counted.
  size_t in_flight() const { return in_flight_.load(); }

  void stop() {
    pool_.stop();
    pool_.join();
  }

  // Runs every job already submitted, then returns (at shutdown, once no new
  // job can come). Unlike stop(), no queued job is dropped: a dropped job's
  // coroutine would be destroyed with the pool, posting to executors that no
  // longer run, and its write (an acknowledged message) would be lost.
  void drain() { pool_.join(); }

 private:
  using Clock = std::chrono::steady_clock;

  // Observes the time since submission when the job ends, result or exception.
  struct Observe {
    metrics::Histogram* latency;
    Clock::time_point submitted;
    ~Observe() {
      if (latency) latency->observe(Clock::now() - submitted);
    }
  };

  template <class R, class F>
  static boost::asio::awaitable<R> invoke(F f, metrics::Histogram* latency,
                                          Clock::time_point submitted) {
    Observe observe{latency, submitted};
    co_return f();
  }

  // A named coroutine function, not a lambda: GCC 12 mis-copies lambda
  // coroutines that own their callable.
  template <class Executor, class F>
  static auto run_on(Executor ex, F f, metrics::Histogram* latency, std::atomic<size_t>& in_flight)
      -> boost::asio::awaitable<std::invoke_result_t<F>> {
    using R = std::invoke_result_t<F>;
    // Counts the job from submission until its awaiting coroutine has resumed.
    InFlight counted(in_flight);
    co_return co_await boost::asio::co_spawn(ex, invoke<R>(std::move(f), latency, Clock::now()),
                                             boost::asio::use_awaitable);
  }

  boost::asio::thread_pool pool_;
  metrics::Histogram* latency_ = nullptr;
  std::atomic<size_t> in_flight_{0};
  std::vector<boost::asio::strand<boost::asio::thread_pool::executor_type>> lanes_;
};

}  // namespace parley

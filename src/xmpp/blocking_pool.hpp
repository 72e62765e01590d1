#pragma once
// Runs blocking work (storage calls) off the I/O threads and resumes the
// awaiting coroutine on its own executor. run_ordered() serialises the jobs of
// one key (e.g. one recipient) so that their effects keep arrival order.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string_view>
#include <type_traits>
#include <vector>

namespace parley {

// Capture by reference in the lambdas given to run()/run_ordered(): the
// awaiting coroutine's frame keeps the referents alive, and GCC 12 destroys a
// closure temporary inside a co_await expression twice, which is harmless only
// when the closure owns nothing.
class BlockingPool {
 public:
  explicit BlockingPool(size_t threads, size_t ordered_lanes = 64)
      : pool_(threads ? threads : 1) {
    lanes_.reserve(ordered_lanes);
    for (size_t i = 0; i < ordered_lanes; ++i) lanes_.push_back(boost::asio::make_strand(pool_));
  }
  ~BlockingPool() { stop(); }

  template <class F>
  auto run(F f) -> boost::asio::awaitable<std::invoke_result_t<F>> {
    return run_on(pool_.get_executor(), std::move(f));
  }

  template <class F>
  auto run_ordered(std::string_view key, F f) -> boost::asio::awaitable<std::invoke_result_t<F>> {
    return run_on(lanes_[std::hash<std::string_view>{}(key) % lanes_.size()], std::move(f));
  }

  void stop() {
    pool_.stop();
    pool_.join();
  }

 private:
  template <class R, class F>
  static boost::asio::awaitable<R> invoke(F f) {
    co_return f();
  }

  // A named coroutine function, not a lambda: GCC 12 mis-copies lambda
  // coroutines that own their callable.
  template <class Executor, class F>
  static auto run_on(Executor ex, F f) -> boost::asio::awaitable<std::invoke_result_t<F>> {
    using R = std::invoke_result_t<F>;
    co_return co_await boost::asio::co_spawn(ex, invoke<R>(std::move(f)), boost::asio::use_awaitable);
  }

  boost::asio::thread_pool pool_;
  std::vector<boost::asio::strand<boost::asio::thread_pool::executor_type>> lanes_;
};

}  // namespace parley

#include "xmpp/periodic_task.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace parley {

namespace asio = boost::asio;

struct PeriodicTask::State {
  State(asio::any_io_executor ex, BlockingPool& p, std::chrono::steady_clock::duration i,
        std::function<void()> j, std::shared_ptr<spdlog::logger> l, std::string w)
      : timer(std::move(ex)),
        pool(p),
        interval(i),
        job(std::move(j)),
        log(std::move(l)),
        what(std::move(w)) {}
  asio::steady_timer timer;
  BlockingPool& pool;
  std::chrono::steady_clock::duration interval;
  std::function<void()> job;
  std::shared_ptr<spdlog::logger> log;
  std::string what;
  std::atomic<bool> stopped{false};
};

PeriodicTask::PeriodicTask(asio::any_io_executor executor, BlockingPool& pool,
                           std::chrono::steady_clock::duration interval, std::function<void()> job,
                           std::shared_ptr<spdlog::logger> log, std::string what)
    : state_(std::make_shared<State>(std::move(executor), pool, interval, std::move(job),
                                     std::move(log), std::move(what))) {}

void PeriodicTask::start() {
  if (started_ || state_->stopped) return;
  started_ = true;
  asio::co_spawn(state_->timer.get_executor(), loop(state_), asio::detached);
}

void PeriodicTask::stop() {
  if (state_->stopped.exchange(true)) return;
  // The timer belongs to its executor's thread: cancel it there.
  asio::post(state_->timer.get_executor(), [s = state_] { s->timer.cancel(); });
}

asio::awaitable<void> PeriodicTask::loop(std::shared_ptr<State> s) {
  while (!s->stopped) {
    try {
      State* self = s.get();
      co_await s->pool.run([self] { self->job(); });
    } catch (const std::exception& e) {
      s->log->warn("{} failed: {}", s->what, e.what());
    }
    if (s->stopped) co_return;
    s->timer.expires_after(s->interval);
    boost::system::error_code ec;
    co_await s->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

}  // namespace parley

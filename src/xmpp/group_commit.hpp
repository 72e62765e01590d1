#pragma once
// Group commit: writes that arrive while a transaction is being committed
// wait and go together into the next one, so a burst of N small writes costs
// one commit (one fsync) instead of N. There is no timer: a lone write on an
// idle writer is committed at once, and batches grow only under load, for as
// long as a commit takes. Batches are committed one at a time, in arrival
// order, on the blocking pool; each writer resumes, on its own executor, once
// its batch is durable. Writers never take a lock: they push onto a lock-free
// stack that the single drain coroutine takes whole, so the archived-message
// path has no server-wide lock (only the commit itself is serialized).
#include <algorithm>
#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <deque>
#include <exception>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "xmpp/blocking_pool.hpp"
#include "xmpp/in_flight.hpp"

namespace parley {

template <class Item>
class GroupCommit {
 public:
  // Commits a batch in one transaction, all or none; called on the blocking
  // pool, never concurrently with itself. Throws to fail the batch.
  using Commit = std::function<void(std::span<const Item>)>;

  GroupCommit(BlockingPool& pool, boost::asio::any_io_executor executor, Commit commit,
              size_t max_batch = 256)
      : pool_(pool),
        executor_(std::move(executor)),
        commit_(std::move(commit)),
        max_batch_(std::max<size_t>(1, max_batch)) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Completes once the item is committed, or with the exception of its
  // commit. With use_awaitable, co_await rethrows that exception. Takes an
  // rvalue: in a coroutine, pass a named item (std::move), not a temporary
  // built in the co_await expression, which GCC 12 destroys twice.
  template <class Token>
  auto write(Item&& item, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::exception_ptr)>(
        [this](auto handler, Item item) {
          // Where the writer resumes: its own executor (a coroutine's), else ours.
          boost::asio::any_io_executor resume_on =
              boost::asio::get_associated_executor(handler, executor_);
          enqueue(std::move(item), Handler(std::move(handler)), std::move(resume_on));
        },
        token, std::move(item));
  }

  // Completes once every write accepted before it is committed (or failed):
  // for work that must see them, such as a retraction of a message whose
  // append may still be waiting.
  template <class Token>
  auto after_pending(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::exception_ptr)>(
        [this](auto handler) {
          boost::asio::any_io_executor resume_on =
              boost::asio::get_associated_executor(handler, executor_);
          enqueue(std::nullopt, Handler(std::move(handler)), std::move(resume_on));
        },
        token);
  }

  // At shutdown, once the pool has been stopped and joined: commits on the
  // calling thread whatever is still waiting, so that no accepted write is
  // lost. The waiters are not resumed (their I/O threads are gone).
  void commit_remaining() {
    take_arrivals();
    std::vector<Item> items;
    if (!inflight_committed_.load()) {
      for (auto& item : inflight_) items.push_back(std::move(item));
    }
    inflight_.clear();
    for (auto& p : pending_)
      if (p.item) items.push_back(std::move(*p.item));
    pending_.clear();
    if (!items.empty()) commit_(items);
  }

  // Nothing waits: every write (and after_pending) accepted so far is
  // committed or failed, and its writer has resumed on its executor.
  bool idle() const { return unresumed_.load() == 0; }

  ~GroupCommit() { delete arrivals_.exchange(nullptr); }

 private:
  using Handler = boost::asio::any_completion_handler<void(std::exception_ptr)>;
  struct Waiter {
    Handler handler;
    boost::asio::any_io_executor resume_on;
    InFlight unresumed;  // until the handler has run (idle())
  };
  struct Pending {
    std::optional<Item> item;  // nullopt: after_pending()
    Waiter waiter;
  };
  // A write not yet seen by the drain coroutine, on the lock-free stack.
  struct Arrival {
    Pending pending;
    Arrival* next = nullptr;
    ~Arrival() {
      // Iteratively, so a long list cannot overflow the stack.
      while (Arrival* n = next) {
        next = n->next;
        n->next = nullptr;
        delete n;
      }
    }
  };

  void enqueue(std::optional<Item> item, Handler handler, boost::asio::any_io_executor resume_on) {
    auto* arrival = new Arrival{
        {std::move(item), {std::move(handler), std::move(resume_on), InFlight(unresumed_)}},
        nullptr};
    arrival->next = arrivals_.load(std::memory_order_relaxed);
    while (!arrivals_.compare_exchange_weak(arrival->next, arrival, std::memory_order_seq_cst,
                                            std::memory_order_relaxed)) {
    }
    if (!draining_.exchange(true)) boost::asio::co_spawn(executor_, drain(), boost::asio::detached);
  }

  // Only the drain coroutine (or commit_remaining, once it cannot run) calls
  // this: moves every arrival, oldest first, to the end of pending_.
  void take_arrivals() {
    Arrival* list = arrivals_.exchange(nullptr, std::memory_order_acquire);
    Arrival* oldest_first = nullptr;
    while (list) {  // the stack is newest first
      Arrival* next = list->next;
      list->next = oldest_first;
      oldest_first = list;
      list = next;
    }
    for (Arrival* a = oldest_first; a; a = a->next) pending_.push_back(std::move(a->pending));
    delete oldest_first;
  }

  boost::asio::awaitable<void> drain() {
    for (;;) {
      take_arrivals();
      if (pending_.empty()) {
        draining_.store(false);
        // A writer that pushed after take_arrivals() but saw draining_ still
        // set has not started a drain: go on for it, unless another did.
        if (arrivals_.load() == nullptr || draining_.exchange(true)) co_return;
        continue;
      }
      std::vector<Waiter> waiters;
      std::vector<size_t> slots;  // each waiter's item in inflight_, or npos
      const size_t n = std::min(max_batch_, pending_.size());
      inflight_.clear();
      inflight_committed_.store(false);
      for (size_t i = 0; i < n; ++i) {
        Pending& p = pending_.front();
        slots.push_back(p.item ? inflight_.size() : std::string::npos);
        if (p.item) inflight_.push_back(std::move(*p.item));
        waiters.push_back(std::move(p.waiter));
        pending_.pop_front();
      }
      std::vector<std::exception_ptr> errors(inflight_.size());
      if (!inflight_.empty()) {
        try {
          errors = co_await pool_.run([this] { return commit_inflight(); });
        } catch (...) {
          errors.assign(inflight_.size(), std::current_exception());
        }
      }
      for (size_t i = 0; i < waiters.size(); ++i)
        complete(std::move(waiters[i]), slots[i] == std::string::npos ? nullptr : errors[slots[i]]);
    }
  }

  // On the pool. When a batch of several fails, each item is committed on its
  // own, so that one bad write fails only itself.
  std::vector<std::exception_ptr> commit_inflight() {
    std::vector<std::exception_ptr> errors(inflight_.size());
    try {
      commit_(inflight_);
    } catch (...) {
      if (inflight_.size() == 1) throw;
      for (size_t i = 0; i < inflight_.size(); ++i) {
        try {
          commit_(std::span(&inflight_[i], 1));
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    }
    inflight_committed_.store(true);
    return errors;
  }

  void complete(Waiter waiter, std::exception_ptr error) {
    auto resume_on = waiter.resume_on;
    boost::asio::post(resume_on, [waiter = std::move(waiter), error]() mutable {
      std::move(waiter.handler)(error);
    });
  }

  BlockingPool& pool_;
  boost::asio::any_io_executor executor_;
  Commit commit_;
  const size_t max_batch_;
  std::atomic<Arrival*> arrivals_{nullptr};  // newest first
  std::atomic<bool> draining_{false};        // a drain coroutine runs or is spawned
  std::atomic<size_t> unresumed_{0};         // writers not resumed yet (idle())
  // Owned by the drain coroutine:
  std::deque<Pending> pending_;
  std::vector<Item> inflight_;  // the batch being committed
  std::atomic<bool> inflight_committed_{true};
};

}  // namespace parley

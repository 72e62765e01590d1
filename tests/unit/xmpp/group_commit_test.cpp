#include "xmpp/group_commit.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

namespace parley {
namespace {

namespace asio = boost::asio;

// An I/O thread, a one-thread blocking pool and a commit function that
// records every batch; the first commit can be held open to let writes pile up.
class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    io_thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    work_.reset();
    io_thread_.join();
    pool_.stop();
  }

  GroupCommit<int>::Commit recorder() {
    return [this](std::span<const int> batch) {
      if (batch.size() == 1 && batch[0] == hold_item_) {
        started_.set_value();
        release_.get_future().wait();
      }
      for (int item : batch) {
        if (item < 0) throw std::runtime_error("bad item");
      }
      std::lock_guard lock(mutex_);
      batches_.emplace_back(batch.begin(), batch.end());
    };
  }

  // Writes `item`; the outcome lands in outcomes_ (nullptr = committed).
  void write(GroupCommit<int>& commit, int item) {
    commit.write(int{item}, [this, item](std::exception_ptr error) {
      std::lock_guard lock(mutex_);
      outcomes_.emplace_back(item, error);
      if (outcomes_.size() == expected_) all_done_.set_value();
    });
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  std::thread io_thread_;
  BlockingPool pool_{1};
  int hold_item_ = 0;
  std::promise<void> started_, release_, all_done_;
  std::mutex mutex_;
  std::vector<std::vector<int>> batches_;
  std::vector<std::pair<int, std::exception_ptr>> outcomes_;
  size_t expected_ = 0;
};

TEST_F(GroupCommitTest, WritesArrivingDuringACommitShareTheNextOne) {
  GroupCommit<int> commit(pool_, io_.get_executor(), recorder());
  expected_ = 10;
  write(commit, 0);
  started_.get_future().wait();
  for (int i = 1; i < 10; ++i) write(commit, i);
  release_.set_value();
  all_done_.get_future().wait();

  ASSERT_EQ(batches_.size(), 2u);
  EXPECT_EQ(batches_[0], std::vector<int>{0});
  EXPECT_EQ(batches_[1], (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  for (size_t i = 0; i < outcomes_.size(); ++i) {
    EXPECT_EQ(outcomes_[i].first, static_cast<int>(i)) << "writers resume in arrival order";
    EXPECT_FALSE(outcomes_[i].second);
  }
}

TEST_F(GroupCommitTest, IdleOnlyOnceEveryWriterHasResumed) {
  // Graceful shutdown waits for idle() and pool.in_flight(): neither may say
  // "done" while a commit runs or before its writer has resumed.
  GroupCommit<int> commit(pool_, io_.get_executor(), recorder());
  EXPECT_TRUE(commit.idle());
  std::promise<std::pair<bool, size_t>> seen_by_writer;
  commit.write(int{0}, [&](std::exception_ptr) {
    seen_by_writer.set_value({commit.idle(), pool_.in_flight()});
  });
  started_.get_future().wait();
  EXPECT_FALSE(commit.idle());
  EXPECT_EQ(pool_.in_flight(), 1u) << "the commit runs on the pool";
  release_.set_value();
  const auto [idle, jobs] = seen_by_writer.get_future().get();
  EXPECT_FALSE(idle) << "idle before the writer's continuation had run";
  EXPECT_EQ(jobs, 0u) << "the drain resumed before it completed the writer";
  // Once the I/O thread has run everything queued before this, it is idle.
  std::promise<void> barrier;
  asio::post(io_, [&] { barrier.set_value(); });
  barrier.get_future().wait();
  EXPECT_TRUE(commit.idle());
  EXPECT_EQ(pool_.in_flight(), 0u);
}

TEST_F(GroupCommitTest, BatchesNeverExceedTheirMaximum) {
  GroupCommit<int> commit(pool_, io_.get_executor(), recorder(), /*max_batch=*/4);
  expected_ = 11;
  write(commit, 0);
  started_.get_future().wait();
  for (int i = 1; i < 11; ++i) write(commit, i);
  release_.set_value();
  all_done_.get_future().wait();

  ASSERT_EQ(batches_.size(), 4u);
  EXPECT_EQ(batches_[1], (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(batches_[2], (std::vector<int>{5, 6, 7, 8}));
  EXPECT_EQ(batches_[3], (std::vector<int>{9, 10}));
}

TEST_F(GroupCommitTest, OneBadWriteFailsOnlyItself) {
  GroupCommit<int> commit(pool_, io_.get_executor(), recorder());
  expected_ = 4;
  write(commit, 0);
  started_.get_future().wait();
  write(commit, 1);
  write(commit, -2);
  write(commit, 3);
  release_.set_value();
  all_done_.get_future().wait();

  // The batch {1, -2, 3} failed as a whole, then each item went on its own.
  ASSERT_EQ(batches_.size(), 3u);
  EXPECT_EQ(batches_[1], std::vector<int>{1});
  EXPECT_EQ(batches_[2], std::vector<int>{3});
  ASSERT_EQ(outcomes_.size(), 4u);
  for (const auto& [item, error] : outcomes_) {
    if (item == -2) {
      ASSERT_TRUE(error);
      EXPECT_THROW(std::rethrow_exception(error), std::runtime_error);
    } else {
      EXPECT_FALSE(error) << item;
    }
  }
}

TEST_F(GroupCommitTest, AfterPendingCompletesOnceEarlierWritesAreCommitted) {
  GroupCommit<int> commit(pool_, io_.get_executor(), recorder());
  expected_ = 3;
  write(commit, 0);
  started_.get_future().wait();
  write(commit, 1);
  std::promise<size_t> batches_seen;
  commit.after_pending([&](std::exception_ptr error) {
    EXPECT_FALSE(error);
    std::lock_guard lock(mutex_);
    batches_seen.set_value(batches_.size());
  });
  write(commit, 2);
  release_.set_value();
  all_done_.get_future().wait();
  // Resumed with the batch that held 1 (and 2, which arrived after it but
  // shares the batch): by then that batch was committed.
  EXPECT_EQ(batches_seen.get_future().get(), 2u);
  ASSERT_EQ(batches_.size(), 2u);
  EXPECT_EQ(batches_[1], (std::vector<int>{1, 2})) << "a barrier adds no item";
}

TEST(GroupCommit, AfterPendingOnAnIdleWriterCompletesAtOnce) {
  asio::io_context io;
  BlockingPool pool(1);
  int commits = 0;
  GroupCommit<int> commit(pool, io.get_executor(), [&](std::span<const int>) { ++commits; });
  bool done = false;
  commit.after_pending([&](std::exception_ptr error) { done = !error; });
  io.run();
  EXPECT_TRUE(done);
  EXPECT_EQ(commits, 0) << "nothing to commit, no transaction";
  pool.stop();
}

TEST(GroupCommit, WritesStillWaitingAtShutdownAreCommitted) {
  // No I/O thread ever runs: the writes are accepted but never drained, as
  // when the server stops right after they arrived.
  asio::io_context io;
  BlockingPool pool(1);
  std::vector<int> committed;
  GroupCommit<int> commit(pool, io.get_executor(), [&](std::span<const int> batch) {
    committed.insert(committed.end(), batch.begin(), batch.end());
  });
  bool resumed = false;
  for (int i = 0; i < 3; ++i) commit.write(int{i}, [&](std::exception_ptr) { resumed = true; });
  pool.stop();
  commit.commit_remaining();
  EXPECT_EQ(committed, (std::vector<int>{0, 1, 2}));
  EXPECT_FALSE(resumed);
}

TEST(GroupCommit, ConcurrentWritersLoseNothingAndKeepTheirOwnOrder) {
  // Writers on several threads at once, drained by an I/O context of two
  // threads: every item is committed exactly once, commits never overlap,
  // and each writer's items stay in the order it wrote them.
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 3000;
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  BlockingPool pool(2);
  std::atomic<bool> committing{false};
  std::atomic<int> overlaps{0};
  std::vector<int> committed;  // only the commit touches it, never concurrently
  GroupCommit<int> commit(pool, io.get_executor(), [&](std::span<const int> batch) {
    if (committing.exchange(true)) ++overlaps;
    committed.insert(committed.end(), batch.begin(), batch.end());
    committing.store(false);
  });
  std::atomic<int> completed{0}, failed{0};
  std::promise<void> all_done;
  std::vector<std::thread> io_threads;
  for (int i = 0; i < 2; ++i) io_threads.emplace_back([&] { io.run(); });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        commit.write(w * kPerWriter + i, [&](std::exception_ptr error) {
          if (error) ++failed;
          if (++completed == kWriters * kPerWriter) all_done.set_value();
        });
      }
    });
  }
  for (auto& t : writers) t.join();
  all_done.get_future().wait();
  work.reset();
  for (auto& t : io_threads) t.join();
  pool.stop();

  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  ASSERT_EQ(committed.size(), size_t{kWriters * kPerWriter});
  std::vector<int> last(kWriters, -1);
  std::vector<int> seen(kWriters * kPerWriter, 0);
  for (int item : committed) {
    ++seen[item];
    const int writer = item / kPerWriter;
    EXPECT_GT(item, last[writer]) << "writer " << writer << " out of order";
    last[writer] = item;
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), kWriters * kPerWriter);
}

}  // namespace
}  // namespace parley

#pragma once
// Counts one piece of work as in flight for as long as the guard lives: the
// counter goes up when it is made and down when it (or whatever it was moved
// into last) is destroyed. A graceful shutdown waits for such counters to
// reach zero. One atomic, no lock.
#include <atomic>
#include <cstddef>
#include <utility>

namespace parley {

class InFlight {
 public:
  explicit InFlight(std::atomic<size_t>& count) : count_(&count) { count_->fetch_add(1); }
  InFlight(InFlight&& other) noexcept : count_(std::exchange(other.count_, nullptr)) {}
  InFlight& operator=(InFlight&& other) noexcept {
    if (this != &other) {
      release();
      count_ = std::exchange(other.count_, nullptr);
    }
    return *this;
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  ~InFlight() { release(); }

 private:
  void release() {
    if (count_) count_->fetch_sub(1);
    count_ = nullptr;
  }
  std::atomic<size_t>* count_;
};

}  // namespace parley

#pragma once
// Per-address authentication failure throttle (XEP-0205: by address, never a
// lockout of the account). Not on the message path; a mutex is fine here.
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace parley {

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AuthThrottle(size_t max_failures_per_minute) : max_(max_failures_per_minute) {}

  bool allowed(const std::string& address) {
    std::lock_guard lock(mutex_);
    auto it = failures_.find(address);
    if (it == failures_.end()) return true;
    prune(it->second, Clock::now());
    if (it->second.empty()) {
      failures_.erase(it);
      return true;
    }
    return it->second.size() < max_;
  }

  void record_failure(const std::string& address) {
    std::lock_guard lock(mutex_);
    auto& q = failures_[address];
    prune(q, Clock::now());
    q.push_back(Clock::now());
    if (q.size() > max_ + 1) q.pop_front();
    // Bound the table itself: drop idle entries when it grows.
    if (failures_.size() > 100000) {
      for (auto i = failures_.begin(); i != failures_.end();) {
        prune(i->second, Clock::now());
        i = i->second.empty() ? failures_.erase(i) : std::next(i);
      }
    }
  }

 private:
  static void prune(std::deque<Clock::time_point>& q, Clock::time_point now) {
    while (!q.empty() && now - q.front() > std::chrono::minutes(1)) q.pop_front();
  }
  size_t max_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<Clock::time_point>> failures_;
};

}  // namespace parley

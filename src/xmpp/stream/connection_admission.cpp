#include "xmpp/stream/connection_admission.hpp"

#include <algorithm>

namespace parley {

namespace {
// Entries of addresses with no open connection carry only a bucket level;
// they are dropped once the table grows past this (a full bucket is the
// state a fresh entry starts in, so forgetting one refilled bucket is exact).
constexpr size_t kPruneAbove = 10000;
}  // namespace

ConnectionAdmission::Ticket& ConnectionAdmission::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::move(other.owner_);
    address_ = std::move(other.address_);
    other.owner_ = nullptr;
  }
  return *this;
}

void ConnectionAdmission::Ticket::release() {
  if (!owner_) return;
  owner_->release(address_);
  owner_.reset();
}

ConnectionAdmission::Ticket ConnectionAdmission::admit(const std::string& address,
                                                       Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (entries_.size() > kPruneAbove) prune(now);
  auto [it, fresh] = entries_.try_emplace(address);
  Entry& e = it->second;
  if (fresh) {
    e.tokens = limits_.burst;
  } else {
    const double elapsed = std::chrono::duration<double>(now - e.refilled).count();
    e.tokens = std::min(limits_.burst, e.tokens + std::max(0.0, elapsed) * limits_.new_per_second);
  }
  e.refilled = now;
  if (e.open >= limits_.max_per_address || e.tokens < 1.0) return {};
  e.tokens -= 1.0;
  ++e.open;
  // Tickets share ownership, so one outliving the server's reference still
  // releases into live memory.
  return Ticket(shared_from_this(), address);
}

size_t ConnectionAdmission::open_from(const std::string& address) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(address);
  return it == entries_.end() ? 0 : it->second.open;
}

void ConnectionAdmission::release(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(address);
  if (it != entries_.end() && it->second.open > 0) --it->second.open;
}

void ConnectionAdmission::prune(Clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    const double elapsed = std::chrono::duration<double>(now - e.refilled).count();
    const bool refilled = e.tokens + elapsed * limits_.new_per_second >= limits_.burst;
    it = e.open == 0 && refilled ? entries_.erase(it) : std::next(it);
  }
}

}  // namespace parley

#include "xmpp/metrics.hpp"

#include <algorithm>
#include <stdexcept>

namespace parley::metrics {

namespace {
std::atomic<size_t> next_shard{0};
}  // namespace

size_t shard_index() {
  thread_local const size_t index = next_shard.fetch_add(1, std::memory_order_relaxed) % kShards;
  return index;
}

uint64_t Counter::value() const {
  uint64_t n = 0;
  for (const auto& c : cells_) n += c.v.load(std::memory_order_relaxed);
  return n;
}

int64_t Gauge::value() const {
  int64_t n = 0;
  for (const auto& c : cells_) n += c.v.load(std::memory_order_relaxed);
  return n;
}

Histogram::Histogram(std::vector<std::chrono::nanoseconds> bounds) : bounds_(std::move(bounds)) {
  if (bounds_.size() > kMaxBounds) throw std::logic_error("histogram: too many buckets");
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
    throw std::logic_error("histogram: bounds must be strictly ascending");
}

void Histogram::observe(std::chrono::nanoseconds d) {
  if (d.count() < 0) d = std::chrono::nanoseconds(0);
  size_t i = 0;
  while (i < bounds_.size() && d > bounds_[i]) ++i;
  Cell& cell = cells_[shard_index()];
  cell.buckets[i].fetch_add(1, std::memory_order_relaxed);
  cell.sum_ns.fetch_add(static_cast<uint64_t>(d.count()), std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::vector<uint64_t> per_bucket(bounds_.size() + 1, 0);
  uint64_t sum_ns = 0;
  for (const auto& cell : cells_) {
    for (size_t i = 0; i < per_bucket.size(); ++i)
      per_bucket[i] += cell.buckets[i].load(std::memory_order_relaxed);
    sum_ns += cell.sum_ns.load(std::memory_order_relaxed);
  }
  uint64_t running = 0;
  for (size_t i = 0; i < per_bucket.size(); ++i) {
    running += per_bucket[i];
    s.cumulative.push_back(running);
  }
  for (auto b : bounds_) s.bounds.push_back(std::chrono::duration<double>(b).count());
  s.count = running;
  s.sum = static_cast<double>(sum_ns) / 1e9;
  return s;
}

size_t mechanism_index(std::string_view mechanism) {
  for (size_t i = 0; i + 1 < kMechanisms.size(); ++i)
    if (kMechanisms[i] == mechanism) return i;
  return kMechanisms.size() - 1;
}

std::vector<std::chrono::nanoseconds> routing_buckets() {
  using std::chrono::microseconds;
  return {microseconds(10),     microseconds(25),     microseconds(50),     microseconds(100),
          microseconds(250),    microseconds(500),    microseconds(1000),   microseconds(2500),
          microseconds(5000),   microseconds(10000),  microseconds(25000),  microseconds(50000),
          microseconds(100000), microseconds(250000), microseconds(1000000)};
}

std::vector<std::chrono::nanoseconds> storage_buckets() {
  using std::chrono::microseconds;
  return {microseconds(100),     microseconds(250),     microseconds(500),     microseconds(1000),
          microseconds(2500),    microseconds(5000),    microseconds(10000),   microseconds(25000),
          microseconds(50000),   microseconds(100000),  microseconds(250000),  microseconds(500000),
          microseconds(1000000), microseconds(2500000), microseconds(10000000)};
}

}  // namespace parley::metrics

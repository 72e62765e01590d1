#pragma once
// The server's own figures, for GET /metrics and `parleyctl stats`: counters,
// gauges and histograms that the message path updates without a lock. Every
// metric is split into cache-line-sized shards; a thread adds to its own shard
// with a relaxed atomic and a scrape sums the shards, so two I/O threads never
// fight over one cache line and nothing on the path waits.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace parley::metrics {

inline constexpr size_t kShards = 16;

// This thread's shard, assigned round-robin when the thread first asks.
size_t shard_index();

class Counter {
 public:
  void inc(uint64_t n = 1) { cells_[shard_index()].v.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const;

 private:
  struct alignas(64) Cell {
    std::atomic<uint64_t> v{0};
  };
  std::array<Cell, kShards> cells_;
};

// Goes up and down; one shard may be negative, the sum is not.
class Gauge {
 public:
  void add(int64_t n) { cells_[shard_index()].v.fetch_add(n, std::memory_order_relaxed); }
  void inc() { add(1); }
  void dec() { add(-1); }
  int64_t value() const;

 private:
  struct alignas(64) Cell {
    std::atomic<int64_t> v{0};
  };
  std::array<Cell, kShards> cells_;
};

// Durations in fixed buckets (upper bounds, ascending, plus +Inf).
class Histogram {
 public:
  static constexpr size_t kMaxBounds = 24;
  explicit Histogram(std::vector<std::chrono::nanoseconds> bounds);
  void observe(std::chrono::nanoseconds d);

  struct Snapshot {
    std::vector<double> bounds;        // seconds
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (= count)
    uint64_t count = 0;
    double sum = 0;  // seconds
  };
  // Consistent in itself: count is the +Inf bucket.
  Snapshot snapshot() const;

 private:
  struct alignas(64) Cell {
    std::array<std::atomic<uint64_t>, kMaxBounds + 1> buckets{};
    std::atomic<uint64_t> sum_ns{0};
  };
  std::vector<std::chrono::nanoseconds> bounds_;
  std::array<Cell, kShards> cells_;
};

// Observes the time from construction to destruction (or to stop()).
class Timer {
 public:
  explicit Timer(Histogram& h) : h_(&h), start_(std::chrono::steady_clock::now()) {}
  ~Timer() { stop(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  void stop() {
    if (!h_) return;
    h_->observe(std::chrono::steady_clock::now() - start_);
    h_ = nullptr;
  }

 private:
  Histogram* h_;
  std::chrono::steady_clock::time_point start_;
};

// Stanza kinds counted (StanzaKind without Other, which never gets routed).
inline constexpr std::array<std::string_view, 3> kStanzaKinds{"message", "presence", "iq"};
// SASL mechanisms counted; anything else (unknown, none named) is "other".
inline constexpr std::array<std::string_view, 6> kMechanisms{
    "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "other"};
size_t mechanism_index(std::string_view mechanism);
// Client listener kinds with their own authenticated-connection gauge.
inline constexpr std::array<std::string_view, 2> kListeners{"c2s", "c2s_direct_tls"};

// Bucket bounds: 10 µs to 1 s for routing, 100 µs to 10 s for storage.
std::vector<std::chrono::nanoseconds> routing_buckets();
std::vector<std::chrono::nanoseconds> storage_buckets();

// Everything the server counts. One instance per server.
struct Metrics {
  std::array<Counter, kStanzaKinds.size()> stanzas_in, stanzas_out;
  std::array<Counter, kMechanisms.size()> auth_successes, auth_failures;
  Counter connections_accepted;
  Counter connections_refused;  // over the per-address limits
  std::array<Gauge, kListeners.size()> authenticated_connections;
  Counter http_requests;
  Counter http_rejected;  // refused or answered with a 4xx before any handler ran
  // From the moment a session takes a parsed stanza until the router handed
  // it on (to the recipient sessions' queues, a module, storage or a bounce).
  Histogram routing_latency{routing_buckets()};
  // A storage call on the blocking pool, from submission (queueing included)
  // to its result.
  Histogram storage_latency{storage_buckets()};

  template <class Array>
  static uint64_t total(const Array& counters) {
    uint64_t n = 0;
    for (const auto& c : counters) n += c.value();
    return n;
  }
};

}  // namespace parley::metrics

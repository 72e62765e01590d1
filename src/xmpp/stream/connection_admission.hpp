#pragma once
// Per-address connection admission (XEP-0205 §4.1–4.2): at most N open
// connections and a token-bucket rate of new ones per client IP address,
// checked right after accept() and before TLS, so a flood from one address
// costs a closed socket and no handshake. Only the accept path and session
// teardown touch it, never the message path: a mutex is fine.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace parley {

class ConnectionAdmission : public std::enable_shared_from_this<ConnectionAdmission> {
 public:
  using Clock = std::chrono::steady_clock;
  struct Limits {
    size_t max_per_address = 100;
    double new_per_second = 20;
    double burst = 50;
  };

  // Held by a connection while it is open; releases its slot when destroyed.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept : owner_(other.owner_), address_(std::move(other.address_)) {
      other.owner_ = nullptr;
    }
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { release(); }
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    friend class ConnectionAdmission;
    Ticket(std::shared_ptr<ConnectionAdmission> owner, std::string address)
        : owner_(std::move(owner)), address_(std::move(address)) {}
    void release();
    std::shared_ptr<ConnectionAdmission> owner_;
    std::string address_;
  };

  static std::shared_ptr<ConnectionAdmission> create(Limits limits) {
    return std::shared_ptr<ConnectionAdmission>(new ConnectionAdmission(limits));
  }

  // A ticket, or an empty one when `address` is over either limit.
  Ticket admit(const std::string& address, Clock::time_point now = Clock::now());
  size_t open_from(const std::string& address) const;

 private:
  explicit ConnectionAdmission(Limits limits) : limits_(limits) {}
  struct Entry {
    size_t open = 0;
    double tokens = 0;
    Clock::time_point refilled{};
  };
  void release(const std::string& address);
  void prune(Clock::time_point now);

  Limits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace parley

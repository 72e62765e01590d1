#pragma once
// The services shared by every host and session: the router, the hosts, the
// blocking pool, counters. It knows no database: account existence is asked
// through AccountDirectory, which the server wires to the store.
#include <boost/asio/any_io_executor.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "xmpp/blocking_pool.hpp"
#include "xmpp/config.hpp"
#include "xmpp/host.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley {

class Router;

class AccountDirectory {
 public:
  virtual ~AccountDirectory() = default;
  // Blocking; call on the blocking pool.
  virtual bool exists(const Jid& bare) = 0;
  // SCRAM credentials of an account (one per hash); nullopt if no account.
  virtual std::optional<std::vector<sasl::ScramCredential>> credentials(const Jid& bare) = 0;
};

// Process-wide counters for `parleyctl stats` and /metrics.
struct Counters {
  std::atomic<uint64_t> stanzas_in{0};
  std::atomic<uint64_t> stanzas_out{0};
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> auth_successes{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_refused{0};  // over the per-address limits
};

class ServerCore {
 public:
  virtual ~ServerCore() = default;
  virtual Router& router() = 0;
  virtual Host* host(std::string_view domain) = 0;
  virtual std::vector<Host*> hosts() = 0;
  virtual BlockingPool& pool() = 0;
  virtual const config::Config& config() const = 0;
  virtual AccountDirectory& accounts() = 0;
  // An executor for server-side work not tied to a session (timers, bounces).
  virtual boost::asio::any_io_executor service_executor() = 0;
  virtual Counters& counters() = 0;
  virtual std::chrono::steady_clock::time_point started() const = 0;
};

}  // namespace parley

#pragma once
// The services shared by every host and session: the router, the hosts, the
// blocking pool, metrics, HTTP routes. It knows no database: account existence is asked
// through AccountDirectory, which the server wires to the store.
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "xmpp/blocking_pool.hpp"
#include "xmpp/config.hpp"
#include "xmpp/host.hpp"
#include "xmpp/http_routes.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/metrics.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley {

class Router;
class DeliveryTracker;

class AccountDirectory {
 public:
  virtual ~AccountDirectory() = default;
  // Blocking; call on the blocking pool.
  virtual bool exists(const Jid& bare) = 0;
  // SCRAM credentials of an account (one per hash); nullopt if no account.
  virtual std::optional<std::vector<sasl::ScramCredential>> credentials(const Jid& bare) = 0;
};

class ServerCore {
 public:
  virtual ~ServerCore() = default;
  virtual Router& router() = 0;
  // The messages on their way (graceful shutdown waits for them).
  virtual DeliveryTracker& deliveries() = 0;
  virtual Host* host(std::string_view domain) = 0;
  virtual std::vector<Host*> hosts() = 0;
  virtual BlockingPool& pool() = 0;
  virtual const config::Config& config() const = 0;
  virtual AccountDirectory& accounts() = 0;
  // An executor for server-side work not tied to a session (timers, bounces).
  virtual boost::asio::any_io_executor service_executor() = 0;
  // The server's own figures (/metrics, `parleyctl stats`).
  virtual metrics::Metrics& metrics() = 0;
  // The routes of the built-in HTTP listener.
  virtual HttpRoutes& http_routes() = 0;
  virtual std::chrono::steady_clock::time_point started() const = 0;
  // True once a graceful shutdown has begun (set before stop() takes its
  // snapshot of the bound sessions to close).
  virtual bool stopping() const = 0;
};

}  // namespace parley

#pragma once
// The routes of the built-in HTTP listener (metrics now; upload, WebSocket and
// BOSH later). A route is a path (exact, or a prefix ending in '/') with the
// methods it answers; its handler is a coroutine that gets the whole request
// (headers and body read and size-checked by the listener) and returns the
// response. Modules register routes through ModuleContext::on_http(), which
// releases them when the module stops; the registry itself knows nothing of
// sockets or of HTTP parsing.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley {

struct HttpRequest {
  std::string method;  // "GET"
  std::string target;  // as sent: "/metrics?x=1"
  std::string path;    // "/metrics"
  std::string query;   // "x=1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;
  // First header of that name (case-insensitive), or null.
  const std::string* header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static HttpResponse text(int status, std::string body);
};

using HttpHandler = std::function<boost::asio::awaitable<HttpResponse>(const HttpRequest&)>;

class HttpRoutes {
 public:
  struct Route {
    std::string path;  // "/metrics", or a prefix "/upload/"
    bool prefix = false;
    std::vector<std::string> methods;  // "GET", "PUT", ...; HEAD is implied by GET
    HttpHandler handler;
  };
  using RouteId = uint64_t;

  // Throws std::logic_error for a path that does not start with '/', a prefix
  // that does not end with '/', no methods, or a path already registered.
  RouteId add(Route route);
  void remove(RouteId id);

  enum class Outcome { Found, NotFound, MethodNotAllowed };
  struct Match {
    Outcome outcome = Outcome::NotFound;
    std::shared_ptr<const Route> route;  // set when found or method not allowed
  };
  // Exact path first, then the longest prefix. A path with "." or ".."
  // segments, a backslash or a NUL never matches.
  Match find(std::string_view path, std::string_view method) const;
  size_t size() const;

 private:
  mutable std::shared_mutex mutex_;
  RouteId next_id_ = 1;
  std::map<RouteId, std::shared_ptr<const Route>> routes_;
};

}  // namespace parley

#pragma once
// The built-in HTTP/1.1 listener ([http]): Boost.Beast, one coroutine per
// connection on one of the server's I/O threads, keep-alive, and the routes of
// HttpRoutes. It guards itself against hostile clients: a cap on open
// connections, limits on the header and body sizes (431, 413), a deadline for
// each whole request (slow senders are cut off) and for the wait between
// requests; a malformed request gets 400 and the connection is closed.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstdint>
#include <functional>
#include <memory>

#include "xmpp/config.hpp"
#include "xmpp/http_routes.hpp"
#include "xmpp/metrics.hpp"

namespace parley {

class HttpServer {
 public:
  // `next_io` picks the I/O context of each new connection.
  HttpServer(const config::HttpConfig& config, HttpRoutes& routes, metrics::Metrics& metrics,
             std::function<boost::asio::io_context&()> next_io);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting on `io`; returns the bound port. Throws on failure.
  uint16_t listen(boost::asio::io_context& io);
  // Stops accepting; open connections end with their I/O contexts.
  void stop();
  // The bound port (0 before listen()).
  uint16_t port() const;
  // Connections open now.
  int64_t open_connections() const;

 private:
  struct State;
  boost::asio::awaitable<void> accept_loop();
  static boost::asio::awaitable<void> serve(std::shared_ptr<State> state,
                                            boost::asio::ip::tcp::socket socket);
  static boost::asio::awaitable<void> linger(boost::beast::tcp_stream& stream);

  std::shared_ptr<State> state_;
  std::function<boost::asio::io_context&()> next_io_;
  std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
};

}  // namespace parley

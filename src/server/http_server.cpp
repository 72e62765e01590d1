#include "server/http_server.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "xmpp/detached.hpp"

namespace parley {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

struct HttpServer::State {
  State(const config::HttpConfig& c, HttpRoutes& r, metrics::Metrics& m)
      : config(c), routes(r), metrics(m) {}
  config::HttpConfig config;
  HttpRoutes& routes;
  metrics::Metrics& metrics;
  std::atomic<int64_t> open{0};
};

namespace {

// Frees the connection's place under max_connections when it ends.
struct Slot {
  std::atomic<int64_t>& open;
  ~Slot() { open.fetch_sub(1, std::memory_order_relaxed); }
};

// The answer to a request the parser refused, or 0 when there is nothing to
// answer (the peer left, or was too slow and the socket is closed).
int refusal_status(const boost::system::error_code& ec) {
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return 0;
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) return 431;
  if (ec == http::error::body_limit) return 413;
  // Any other complaint of the parser: a malformed request line or header.
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) return 400;
  return 0;
}

const char* reason_text(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 403:
      return "forbidden";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 413:
      return "request body too large";
    case 431:
      return "request header fields too large";
    default:
      return "internal server error";
  }
}

HttpRequest to_request(http::request<http::string_body>&& req, const std::string& remote) {
  HttpRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  const size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  for (const auto& field : req)
    r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  r.body = std::move(req.body());
  r.remote_address = remote;
  return r;
}

std::string allowed_methods(const HttpRoutes::Route& route) {
  std::string out;
  for (const auto& m : route.methods) {
    if (!out.empty()) out += ", ";
    out += m;
    if (m == "GET") out += ", HEAD";
  }
  return out;
}

}  // namespace

HttpServer::HttpServer(const config::HttpConfig& config, HttpRoutes& routes,
                       metrics::Metrics& metrics, std::function<asio::io_context&()> next_io)
    : state_(std::make_shared<State>(config, routes, metrics)), next_io_(std::move(next_io)) {}

HttpServer::~HttpServer() {
  stop();
}

uint16_t HttpServer::listen(asio::io_context& io) {
  acceptor_ = std::make_shared<tcp::acceptor>(io);
  tcp::endpoint ep(asio::ip::make_address(state_->config.bind), state_->config.port);
  acceptor_->open(ep.protocol());
  acceptor_->set_option(tcp::acceptor::reuse_address(true));
  acceptor_->bind(ep);
  acceptor_->listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(io, accept_loop(), log_exceptions("http accept"));
  return acceptor_->local_endpoint().port();
}

void HttpServer::stop() {
  if (!acceptor_) return;
  boost::system::error_code ec;
  acceptor_->close(ec);
}

uint16_t HttpServer::port() const {
  boost::system::error_code ec;
  if (!acceptor_) return 0;
  const auto ep = acceptor_->local_endpoint(ec);
  return ec ? 0 : ep.port();
}

int64_t HttpServer::open_connections() const {
  return state_->open.load(std::memory_order_relaxed);
}

asio::awaitable<void> HttpServer::accept_loop() {
  // Owned by the coroutine, so that stop() and the destructor may run first.
  auto acceptor = acceptor_;
  auto state = state_;
  for (;;) {
    tcp::socket socket(next_io_());
    boost::system::error_code ec;
    co_await acceptor->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      spdlog::warn("http accept failed: {}", ec.message());
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (state->open.load(std::memory_order_relaxed) >= state->config.max_connections) {
      state->metrics.http_rejected.inc();
      spdlog::debug("http: refused a connection, {} open", state->config.max_connections);
      socket.close(ec);
      continue;
    }
    state->open.fetch_add(1, std::memory_order_relaxed);
    auto executor = socket.get_executor();
    asio::co_spawn(executor, serve(state, std::move(socket)), log_exceptions("http connection"));
  }
}

asio::awaitable<void> HttpServer::serve(std::shared_ptr<State> state, tcp::socket socket) {
  Slot slot{state->open};
  const config::HttpConfig& cfg = state->config;
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  const std::string remote = ec ? "unknown" : peer.address().to_string();
  beast::tcp_stream stream(std::move(socket));
  // Room for the largest header plus one read; a body goes on into the parser.
  beast::flat_buffer buffer(static_cast<size_t>(cfg.max_header_bytes) + 64 * 1024);

  for (;;) {
    if (buffer.size() == 0) {
      // Between requests: the idle deadline, until the first byte arrives.
      stream.expires_after(std::chrono::seconds(cfg.idle_timeout_seconds));
      const size_t n = co_await stream.async_read_some(
          buffer.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      buffer.commit(n);
    }
    // The whole request (headers and body) within one deadline.
    stream.expires_after(std::chrono::seconds(cfg.request_timeout_seconds));
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(cfg.max_header_bytes));
    parser.body_limit(static_cast<std::uint64_t>(cfg.max_body_bytes));
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));

    http::response<http::string_body> out;
    bool keep_alive = false;
    bool refused = false;
    if (ec) {
      const int status = refusal_status(ec);
      if (status == 0) co_return;
      state->metrics.http_rejected.inc();
      refused = true;
      spdlog::debug("http {}: {} ({})", remote, status, ec.message());
      out.version(11);
      out.result(static_cast<unsigned>(status));
      out.set(http::field::content_type, "text/plain; charset=utf-8");
      out.body() = std::string(reason_text(status)) + "\n";
    } else {
      state->metrics.http_requests.inc();
      auto req = parser.release();
      keep_alive = req.keep_alive();
      const bool head = req.method() == http::verb::head;
      out.version(req.version());
      HttpRequest request = to_request(std::move(req), remote);
      HttpResponse response;
      auto match = state->routes.find(request.path, request.method);
      if (match.outcome == HttpRoutes::Outcome::NotFound) {
        response = HttpResponse::text(404, "not found\n");
      } else if (match.outcome == HttpRoutes::Outcome::MethodNotAllowed) {
        response = HttpResponse::text(405, "method not allowed\n");
        response.headers.emplace_back("Allow", allowed_methods(*match.route));
      } else {
        try {
          response = co_await match.route->handler(request);
        } catch (const std::exception& e) {
          spdlog::error("http {} {}: {}", request.method, request.path, e.what());
          response = HttpResponse::text(500, "internal server error\n");
        }
      }
      out.result(static_cast<unsigned>(response.status));
      out.set(http::field::content_type, response.content_type);
      for (const auto& [name, value] : response.headers) out.set(name, value);
      out.body() = std::move(response.body);
      if (head) {
        out.content_length(out.body().size());
        out.body().clear();
      }
    }
    out.keep_alive(keep_alive);
    if (!out.has_content_length()) out.prepare_payload();
    // A client that does not read its answer is cut off like a slow sender.
    stream.expires_after(std::chrono::seconds(cfg.request_timeout_seconds));
    co_await http::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    if (refused) {
      co_await linger(stream);
      co_return;
    }
    if (!keep_alive) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream.close();
}

asio::awaitable<void> HttpServer::linger(beast::tcp_stream& stream) {
  // Closing a socket with unread input sends a reset, which may destroy our
  // answer in the client's buffers before it reads it. So: end our side, then
  // read and drop what the client still sends, for a moment, before closing.
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(2));
  std::array<char, 4096> discard;
  size_t total = 0;
  while (!ec && total < 1024 * 1024)
    total += co_await stream.async_read_some(asio::buffer(discard),
                                             asio::redirect_error(asio::use_awaitable, ec));
  stream.close();
}

}  // namespace parley

#pragma once
// One XMPP client connection of the load generator: TCP, STARTTLS or direct
// TLS (certificates are not verified), SASL SCRAM-SHA-1/-256 or PLAIN, resource
// binding, initial presence and optionally stream management (XEP-0198).
// Every connection lives on its own strand; all of its member functions must
// run there (post to executor() from elsewhere).
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "arrival_socket.hpp"
#include "scram_client.hpp"
#include "xmpp/xml/element.hpp"
#include "xmpp/xml/stream_parser.hpp"

namespace parley::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

enum class TlsMode { None, StartTls, Direct };

struct ClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5222;
  std::string domain = "localhost";
  TlsMode tls = TlsMode::StartTls;
  std::string mechanism = "auto";         // auto | PLAIN | SCRAM-SHA-1 | SCRAM-SHA-256
  std::vector<std::string> source_addrs;  // local addresses to connect from, round-robin
  bool sm = false;                        // enable XEP-0198 after binding
  // When a login ends: "ping" = the reply to an XEP-0199 ping sent right after
  // the initial presence (the server has processed the presence), "echo" = our
  // own presence came back, "sent" = the presence is written.
  std::string login_end = "ping";
  std::string resource = "loadgen";
  std::chrono::milliseconds timeout{30000};  // for each login / registration
};

// The TLS sessions (TLS 1.3 tickets or 1.2 session ids) the server gave each
// account, so that its next login resumes instead of a full handshake
// (--resume). Shared by the connections of a run, which may be on several threads.
class TlsSessionCache {
 public:
  TlsSessionCache() = default;
  TlsSessionCache(const TlsSessionCache&) = delete;
  TlsSessionCache& operator=(const TlsSessionCache&) = delete;
  ~TlsSessionCache();

  // Makes `ctx` hand every new session of a connection to this cache.
  void attach(SSL_CTX* ctx);
  // Before a handshake: offer the account's last session, if any.
  void offer(SSL* ssl, size_t account) const;
  // After a handshake: counts it as full or resumed.
  void count(SSL* ssl);

  uint64_t full() const { return full_.load(); }
  uint64_t resumed() const { return resumed_.load(); }

 private:
  static int on_new_session(SSL* ssl, SSL_SESSION* session);

  mutable std::mutex mutex_;
  std::unordered_map<size_t, SSL_SESSION*> by_account_;  // owned references
  std::atomic<uint64_t> full_{0}, resumed_{0};
};

// Shared by all connections of a run.
struct ClientContext {
  ClientOptions options;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  TlsSessionCache tls_sessions;  // attached to `tls` only with --resume
  SaltedPasswordCache scram_cache;
  std::string mechanism_used;  // the last mechanism chosen (for the report)
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Handler = std::function<void(Connection&, xml::Element&)>;

  Connection(asio::any_io_executor strand, ClientContext& ctx, size_t index);
  ~Connection();

  const asio::any_io_executor& executor() const { return strand_; }
  size_t index() const { return index_; }
  const std::string& jid() const { return jid_; }
  const std::string& bare_jid() const { return bare_jid_; }
  bool alive() const { return !closed_; }
  void set_resource(std::string r) { resource_ = std::move(r); }  // instead of --resource

  // Connect + TLS + SASL + bind (+ SM) (+ presence). Throws on failure.
  asio::awaitable<void> login(std::string user, std::string password, bool presence);
  // Connect + TLS + XEP-0077 registration. Returns false if the account existed.
  asio::awaitable<bool> register_account(std::string user, std::string password);
  // Sends `iq` (its id must be set) and returns the reply, skipping other stanzas.
  asio::awaitable<xml::Element> request(xml::Element iq);
  // Waits for the first stanza matching `pred`; messages and presence skipped
  // meanwhile are kept for the reader.
  asio::awaitable<xml::Element> wait_for(std::function<bool(const xml::Element&)> pred);
  // The next stanza that the connection does not answer itself (pings, SM).
  asio::awaitable<xml::Element> next_stanza();
  // The next depth-1 element of the stream. Throws on stream errors or close.
  asio::awaitable<xml::Element> next();
  // When the last stanza handed out (by next() or to the reader's handler)
  // reached this host, on the steady clock in ns (ArrivalStampedSocket).
  int64_t arrival_ns() const { return arrival_ns_; }

  // After login: reads forever, answering pings and SM requests itself and
  // passing every other stanza to `handler`.
  void start_reader(Handler handler);

  void send(const xml::Element& stanza);
  void send_raw(std::string_view data);
  // Ends the stream, and closes the socket once the server has ended its own.
  void close();
  // Closes at once.
  void abort();

  // Watchdog for the login phase: aborts the connection unless disarmed.
  void arm_deadline(std::chrono::milliseconds d);
  void disarm_deadline();

 private:
  asio::awaitable<void> connect_socket();
  asio::awaitable<void> handshake();            // TLS client handshake, resuming when it can
  asio::awaitable<xml::Element> open_stream();  // returns <stream:features/>
  asio::awaitable<xml::Element> secure(xml::Element features);
  asio::awaitable<void> authenticate(const xml::Element& features, const std::string& user,
                                     const std::string& password);
  asio::awaitable<size_t> read_some();
  asio::awaitable<void> writer(std::shared_ptr<Connection> self);
  void await_stream_end();  // after our </stream:stream> is written
  asio::awaitable<void> reader(std::shared_ptr<Connection> self, Handler handler);
  void reset_parser();
  void handle_internal(xml::Element& el, bool* consumed);

  asio::any_io_executor strand_;
  ClientContext& ctx_;
  size_t index_;
  struct Received {
    xml::Element element;
    int64_t arrival_ns;
  };

  asio::ssl::stream<ArrivalStampedSocket> sock_;
  asio::steady_timer deadline_;
  bool tls_ = false;
  bool closed_ = false;
  bool writing_ = false;
  bool reading_ = false;  // the reader coroutine runs
  bool close_after_write_ = false;
  bool stream_open_ = false;
  bool stream_closed_ = false;
  bool sm_enabled_ = false;
  uint32_t sm_inbound_ = 0;
  std::unique_ptr<xml::StreamParser> parser_;
  std::deque<Received> inbox_;
  std::deque<Received> stash_;   // stanzas wait_for() skipped, for the reader
  int64_t read_arrival_ns_ = 0;  // of the bytes the last read returned
  int64_t arrival_ns_ = 0;       // of the stanza last handed out
  std::vector<char> rbuf_;
  std::string out_, inflight_;
  std::string jid_, bare_jid_, resource_;
  uint64_t next_id_ = 0;
};

std::string make_id(std::string_view prefix, uint64_t n);

}  // namespace parley::bench

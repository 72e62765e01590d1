#include "support/test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <map>
#include <mutex>
#include <stdexcept>

#include "xmpp/sasl/scram.hpp"
#include "xmpp/xml/serializer.hpp"
#include "xmpp/xml/stream_parser.hpp"

namespace parley::test {

namespace {

std::once_flag strophe_once;

void strophe_init() {
  std::call_once(strophe_once, [] {
    xmpp_initialize();
    // libstrophe writes with send(2) without MSG_NOSIGNAL: a connection that
    // a test dropped must not kill the test process.
    std::signal(SIGPIPE, SIG_IGN);
  });
}

}  // namespace

std::optional<xml::Element> parse_xml(const std::string& text) {
  std::optional<xml::Element> result;
  xml::ParserLimits limits;
  limits.max_stanza_bytes = 16 * 1024 * 1024;
  limits.max_depth = 1000;
  limits.max_attributes = 1000;
  xml::StreamParser parser(limits, {[](const xml::StreamHeader&) {},
                                    [&](xml::Element&& el) {
                                      if (!result) result = std::move(el);
                                    },
                                    [] {}});
  auto r = parser.feed(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" +
      text + "</stream:stream>");
  if (r.error != xml::ParseError::None) return std::nullopt;
  return result;
}

std::string to_xml(const xml::Element& el) {
  return xml::serialize(el, "jabber:client");
}

Predicate is_message_from(const std::string& from_prefix) {
  return [from_prefix](const xml::Element& el) {
    return el.name() == "message" && el.attr_or("from").rfind(from_prefix, 0) == 0;
  };
}

Predicate is_presence_from(const std::string& from_prefix, const std::string& type) {
  return [from_prefix, type](const xml::Element& el) {
    return el.name() == "presence" && el.attr_or("from").rfind(from_prefix, 0) == 0 &&
           el.attr_or("type") == type;
  };
}

Predicate is_iq_id(const std::string& id) {
  return [id](const xml::Element& el) { return el.name() == "iq" && el.attr_or("id") == id; };
}

Predicate has_body(const std::string& body) {
  return [body](const xml::Element& el) { return el.child_text("body") == body; };
}

XmppClient::XmppClient(const TestServer& server, std::string jid, std::string password)
    : XmppClient(server, std::move(jid), std::move(password), Options{}) {}

XmppClient::XmppClient(const TestServer& server, std::string jid, std::string password,
                       Options options)
    : server_(server), jid_(std::move(jid)), password_(std::move(password)), options_(options) {
  strophe_init();
  ctx_ = xmpp_ctx_new(nullptr, nullptr);
  conn_ = xmpp_conn_new(ctx_);
  long flags = XMPP_CONN_FLAG_TRUST_TLS;
  if (!options_.stream_management) flags |= XMPP_CONN_FLAG_DISABLE_SM;
  if (options_.direct_tls) flags |= XMPP_CONN_FLAG_LEGACY_SSL;
  if (options_.disable_tls)
    flags |= XMPP_CONN_FLAG_DISABLE_TLS;
  else if (!options_.direct_tls)
    flags |= XMPP_CONN_FLAG_MANDATORY_TLS;
  xmpp_conn_set_flags(conn_, flags);
  std::string full = jid_;
  if (!options_.resource.empty()) full += "/" + options_.resource;
  xmpp_conn_set_jid(conn_, full.c_str());
  xmpp_conn_set_pass(conn_, password_.c_str());
}

namespace {
// libstrophe tells the socket only to its sockopt callback.
std::mutex socket_mutex;
std::map<xmpp_conn_t*, int> sockets;
int remember_socket(xmpp_conn_t* conn, void* sock) {
  std::lock_guard lock(socket_mutex);
  sockets[conn] = *static_cast<int*>(sock);
  return 0;
}
}  // namespace

void XmppClient::drop_connection() {
  int fd = -1;
  {
    std::lock_guard lock(socket_mutex);
    if (auto it = sockets.find(conn_); it != sockets.end()) fd = it->second;
  }
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!finished_ && std::chrono::steady_clock::now() < deadline) xmpp_run_once(ctx_, 20);
  connected_ = false;
}

bool XmppClient::reconnect(std::chrono::milliseconds timeout) {
  // libstrophe keeps the stream-management state on the connection object and
  // sends <resume/> when the same connection object connects again.
  if (!wait_disconnected(timeout)) {
    error_ = "still-connected";
    return false;
  }
  connected_ = false;
  finished_ = false;
  error_.clear();
  return start_and_wait(timeout);
}

XmppClient::~XmppClient() {
  if (connected_) disconnect(1s);
  {
    std::lock_guard lock(socket_mutex);
    sockets.erase(conn_);
  }
  xmpp_conn_release(conn_);
  xmpp_ctx_free(ctx_);
}

void XmppClient::on_conn(xmpp_conn_t*, xmpp_conn_event_t event, int,
                         xmpp_stream_error_t* stream_error, void* userdata) {
  auto* self = static_cast<XmppClient*>(userdata);
  if (event == XMPP_CONN_CONNECT) {
    self->connected_ = true;
    return;
  }
  if (event == XMPP_CONN_DISCONNECT || event == XMPP_CONN_FAIL) {
    if (stream_error && stream_error->stanza) {
      // The condition is the first child in the streams-error namespace.
      for (xmpp_stanza_t* c = xmpp_stanza_get_children(stream_error->stanza); c;
           c = xmpp_stanza_get_next(c)) {
        const char* name = xmpp_stanza_get_name(c);
        if (name && std::string(name) != "text") {
          self->error_ = name;
          break;
        }
      }
    }
    if (self->error_.empty() && event == XMPP_CONN_FAIL) self->error_ = "connection-failed";
    self->connected_ = false;
    self->finished_ = true;
  }
}

int XmppClient::on_stanza(xmpp_conn_t*, xmpp_stanza_t* stanza, void* userdata) {
  auto* self = static_cast<XmppClient*>(userdata);
  char* buf = nullptr;
  size_t len = 0;
  if (xmpp_stanza_to_text(stanza, &buf, &len) == 0) {
    if (auto el = parse_xml(std::string(buf, len))) self->inbox_.push_back(std::move(*el));
    xmpp_free(self->ctx_, buf);
  }
  return 1;  // keep the handler
}

bool XmppClient::start_and_wait(std::chrono::milliseconds timeout) {
  uint16_t port = options_.direct_tls ? server_.direct_tls_port() : server_.c2s_port();
  if (xmpp_connect_client(conn_, "127.0.0.1", port, &XmppClient::on_conn, this) != XMPP_EOK) {
    error_ = "connect-failed";
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!connected_ && !finished_ && std::chrono::steady_clock::now() < deadline)
    xmpp_run_once(ctx_, 20);
  if (!connected_ && error_.empty()) error_ = finished_ ? "disconnected" : "timeout";
  return connected_;
}

bool XmppClient::connect(std::chrono::milliseconds timeout) {
  xmpp_handler_add(conn_, &XmppClient::on_stanza, nullptr, nullptr, nullptr, this);
  xmpp_conn_set_sockopt_callback(conn_, &remember_socket);
  return start_and_wait(timeout);
}

void XmppClient::disconnect(std::chrono::milliseconds timeout) {
  if (!connected_) return;
  xmpp_disconnect(conn_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!finished_ && std::chrono::steady_clock::now() < deadline) xmpp_run_once(ctx_, 20);
  connected_ = false;
}

bool XmppClient::wait_disconnected(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!finished_ && std::chrono::steady_clock::now() < deadline) xmpp_run_once(ctx_, 20);
  return finished_;
}

std::string XmppClient::bound_jid() const {
  const char* j = xmpp_conn_get_bound_jid(conn_);
  return j ? j : "";
}

void XmppClient::send(const std::string& xml) {
  xmpp_stanza_t* stanza = nullptr;
  if (options_.stream_management) stanza = xmpp_stanza_new_from_string(ctx_, xml.c_str());
  if (stanza) {
    // Counted by libstrophe's stream management, unlike raw data.
    xmpp_send(conn_, stanza);
    xmpp_stanza_release(stanza);
  } else {
    xmpp_send_raw(conn_, xml.data(), xml.size());
  }
  // libstrophe writes from its event loop: flush now, so that a test which
  // next waits on another client does not leave this one's data queued.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (xmpp_conn_send_queue_len(conn_) > 0 && !finished_ &&
         std::chrono::steady_clock::now() < deadline)
    xmpp_run_once(ctx_, 1);
}

void XmppClient::send(const xml::Element& el) {
  send(to_xml(el));
}

void XmppClient::available(const std::string& extra) {
  send("<presence>" + extra + "</presence>");
  pump(100ms);
}

void XmppClient::pump(std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < deadline && !finished_) xmpp_run_once(ctx_, 10);
}

std::optional<xml::Element> XmppClient::expect(const Predicate& pred,
                                               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (auto it = inbox_.begin(); it != inbox_.end(); ++it) {
      if (pred(*it)) {
        xml::Element el = std::move(*it);
        inbox_.erase(it);
        return el;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline || finished_) return std::nullopt;
    xmpp_run_once(ctx_, 10);
  }
}

std::optional<xml::Element> XmppClient::iq(const std::string& xml,
                                           std::chrono::milliseconds timeout) {
  auto el = parse_xml(xml);
  if (!el || !el->has_attr("id"))
    throw std::invalid_argument("iq() needs a well-formed iq with an id");
  send(xml);
  const std::string id = el->attr_or("id");
  return expect(
      [&](const xml::Element& e) {
        return e.name() == "iq" && e.attr_or("id") == id &&
               (e.attr_or("type") == "result" || e.attr_or("type") == "error");
      },
      timeout);
}

std::vector<xml::Element> XmppClient::drain(std::chrono::milliseconds window) {
  pump(window);
  std::vector<xml::Element> out(std::make_move_iterator(inbox_.begin()),
                                std::make_move_iterator(inbox_.end()));
  inbox_.clear();
  return out;
}

bool XmppClient::nothing(const Predicate& pred, std::chrono::milliseconds window) {
  return !expect(pred, window).has_value();
}

std::string XmppClient::next_id() {
  return "t" + std::to_string(++id_counter_);
}

// ---------------------------------------------------------------- RawClient

RawClient::RawClient(uint16_t port, bool direct_tls) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (direct_tls && !start_tls()) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawClient::~RawClient() {
  if (resume_session_) SSL_SESSION_free(static_cast<SSL_SESSION*>(resume_session_));
  if (ssl_) {
    SSL_free(static_cast<SSL*>(ssl_));
  }
  if (ssl_ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
  if (fd_ >= 0) ::close(fd_);
}

bool RawClient::start_tls() {
  auto* ctx = SSL_CTX_new(TLS_client_method());
  ssl_ctx_ = ctx;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  auto* ssl = SSL_new(ctx);
  ssl_ = ssl;
  SSL_set_fd(ssl, fd_);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (resume_session_) SSL_set_session(ssl, static_cast<SSL_SESSION*>(resume_session_));
  return SSL_connect(ssl) == 1;
}

void RawClient::resume_from(const RawClient& other) {
  if (resume_session_) SSL_SESSION_free(static_cast<SSL_SESSION*>(resume_session_));
  resume_session_ = other.ssl_ ? SSL_get1_session(static_cast<SSL*>(other.ssl_)) : nullptr;
}

bool RawClient::tls_resumed() const {
  return ssl_ && SSL_session_reused(static_cast<SSL*>(ssl_)) == 1;
}

void RawClient::tls_shutdown() {
  if (ssl_) SSL_shutdown(static_cast<SSL*>(ssl_));
}

std::string RawClient::tls_exporter() const {
  if (!ssl_) return {};
  std::string data(32, '\0');
  static constexpr char label[] = "EXPORTER-Channel-Binding";
  SSL_export_keying_material(static_cast<SSL*>(ssl_), reinterpret_cast<unsigned char*>(data.data()),
                             data.size(), label, sizeof label - 1, nullptr, 0, 0);
  return data;
}

void RawClient::send(const std::string& data) {
  if (fd_ < 0) return;
  if (ssl_) {
    SSL_write(static_cast<SSL*>(ssl_), data.data(), static_cast<int>(data.size()));
  } else {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
}

ssize_t RawClient::read_some(std::chrono::milliseconds timeout) {
  if (fd_ < 0 || closed_) return -1;
  char buf[16384];
  if (!(ssl_ && SSL_pending(static_cast<SSL*>(ssl_)) > 0)) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r <= 0) return 0;
  }
  ssize_t n =
      ssl_ ? SSL_read(static_cast<SSL*>(ssl_), buf, sizeof buf) : ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    if (ssl_ && SSL_get_error(static_cast<SSL*>(ssl_), static_cast<int>(n)) == SSL_ERROR_WANT_READ)
      return 0;
    closed_ = true;
    return -1;
  }
  in_.append(buf, static_cast<size_t>(n));
  return n;
}

bool RawClient::read_until(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (in_.find(needle) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (read_some(left) < 0) return in_.find(needle) != std::string::npos;
  }
  return true;
}

bool RawClient::read_until_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    read_some(left);
  }
  return true;
}

std::string RawClient::stream_open(const std::string& host) {
  return "<?xml version='1.0'?><stream:stream to='" + host +
         "' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
}

bool raw_login(RawClient& c, const std::string& user, const std::string& password,
               const std::string& host) {
  if (!c.ok()) return false;
  c.clear();
  c.send(RawClient::stream_open(host));
  if (!c.read_until("</stream:features>")) return false;
  if (c.received().find("<starttls") != std::string::npos) {
    c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    if (!c.read_until("<proceed") || !c.start_tls()) return false;
    c.clear();
    c.send(RawClient::stream_open(host));
    if (!c.read_until("</stream:features>")) return false;
  }
  c.clear();
  const std::string plain = std::string(1, '\0') + user + std::string(1, '\0') + password;
  c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
         sasl::base64_encode(plain) + "</auth>");
  if (!c.read_until("<success")) return false;
  c.clear();
  c.send(RawClient::stream_open(host));
  if (!c.read_until("</stream:features>")) return false;
  return true;
}

std::string raw_bind(RawClient& c, const std::string& resource) {
  c.clear();
  c.send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" +
         resource + "</resource></bind></iq>");
  if (!c.read_until("</jid>")) return {};
  const std::string& in = c.received();
  const size_t start = in.find("<jid>");
  const size_t end = in.find("</jid>");
  if (start == std::string::npos || end < start) return {};
  return in.substr(start + 5, end - start - 5);
}

std::set<std::string> disco_features(const xml::Element& iq) {
  std::set<std::string> out;
  if (const xml::Element* q = iq.child("query", "http://jabber.org/protocol/disco#info"))
    for (const xml::Element* f : q->children("feature", "http://jabber.org/protocol/disco#info"))
      out.insert(f->attr_or("var"));
  return out;
}

std::set<std::string> disco_features(XmppClient& c, const std::string& to) {
  auto r = c.iq("<iq type='get' id='" + c.next_id() + "' to='" + to +
                "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  if (!r || r->attr_or("type") != "result") return {};
  return disco_features(*r);
}

bool server_has_feature(XmppClient& c, std::string_view var) {
  std::string domain = c.bound_jid();
  if (auto at = domain.find('@'); at != std::string::npos) domain.erase(0, at + 1);
  if (auto slash = domain.find('/'); slash != std::string::npos) domain.erase(slash);
  return disco_features(c, domain).count(std::string(var)) > 0;
}

std::string error_condition(const xml::Element& stanza) {
  const xml::Element* error = stanza.child("error");
  if (!error) return {};
  for (const xml::Element* c : error->element_children())
    if (c->xmlns() == "urn:ietf:params:xml:ns:xmpp-stanzas" && c->name() != "text")
      return c->name();
  return {};
}

}  // namespace parley::test

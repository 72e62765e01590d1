#pragma once
// Test clients. XmppClient is a real XMPP client (libstrophe) with blocking
// helpers: connect, send, and expect a stanza matching a predicate within a
// timeout. RawClient speaks bytes over TCP (optionally TLS) for protocol-level
// and hostile tests that a well-behaved client library cannot produce.
#include <strophe.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "support/test_server.hpp"
#include "xmpp/xml/element.hpp"

namespace parley::test {

using namespace std::chrono_literals;
using Predicate = std::function<bool(const xml::Element&)>;

// Parses one serialized element (test-side; uses the server's restricted parser).
std::optional<xml::Element> parse_xml(const std::string& text);
std::string to_xml(const xml::Element& el);

// Common predicates.
Predicate is_message_from(const std::string& from_prefix);
Predicate is_presence_from(const std::string& from_prefix, const std::string& type = "");
Predicate is_iq_id(const std::string& id);
Predicate has_body(const std::string& body);

class XmppClient {
 public:
  struct Options {
    bool direct_tls = false;         // XEP-0368 port
    bool disable_tls = false;        // plaintext (server must not require STARTTLS)
    std::string resource;            // empty: server-generated
    bool stream_management = false;  // libstrophe enables XEP-0198 with resumption
  };
  XmppClient(const TestServer& server, std::string jid, std::string password);
  XmppClient(const TestServer& server, std::string jid, std::string password, Options options);
  ~XmppClient();
  XmppClient(const XmppClient&) = delete;
  XmppClient& operator=(const XmppClient&) = delete;

  // Connects, authenticates and binds. False on failure (see error()).
  bool connect(std::chrono::milliseconds timeout = 10s);
  void disconnect(std::chrono::milliseconds timeout = 5s);
  bool connected() const { return connected_; }
  // The TCP connection dies under the client (no closing handshake), as when
  // a phone loses its network. Returns once libstrophe noticed.
  void drop_connection();
  // After drop_connection(): connects again; with stream management on,
  // libstrophe resumes the XEP-0198 session instead of binding a new one.
  bool reconnect(std::chrono::milliseconds timeout = 10s);
  // Waits until the server closes the stream; true if it did within the timeout.
  bool wait_disconnected(std::chrono::milliseconds timeout = 5s);
  const std::string& error() const { return error_; }  // stream error condition, if any
  std::string bound_jid() const;

  void send(const std::string& xml);
  void send(const xml::Element& el);
  // Sends an initial presence and waits briefly for the server to process it.
  void available(const std::string& extra = "");

  std::optional<xml::Element> expect(const Predicate& pred, std::chrono::milliseconds timeout = 5s);
  // Sends an iq (must carry an id) and waits for its result or error.
  std::optional<xml::Element> iq(const std::string& xml, std::chrono::milliseconds timeout = 5s);
  // Everything received within `window`.
  std::vector<xml::Element> drain(std::chrono::milliseconds window = 300ms);
  // True if nothing matching arrives within `window`.
  bool nothing(const Predicate& pred, std::chrono::milliseconds window = 500ms);
  std::string next_id();

 private:
  // Opens the connection and runs the event loop until it is up or failed.
  bool start_and_wait(std::chrono::milliseconds timeout);
  static int on_stanza(xmpp_conn_t* conn, xmpp_stanza_t* stanza, void* self);
  void pump(std::chrono::milliseconds budget);

  const TestServer& server_;
  std::string jid_, password_;
  Options options_;
  xmpp_ctx_t* ctx_ = nullptr;
  xmpp_conn_t* conn_ = nullptr;
  std::deque<xml::Element> inbox_;
  bool connected_ = false, finished_ = false;
  std::string error_;
  int id_counter_ = 0;
  static void on_conn(xmpp_conn_t* conn, xmpp_conn_event_t event, int error,
                      xmpp_stream_error_t* stream_error, void* self);
};

class RawClient {
 public:
  explicit RawClient(uint16_t port, bool direct_tls = false);
  ~RawClient();
  bool ok() const { return fd_ >= 0; }
  void send(const std::string& data);
  // Reads until `needle` appears in the accumulated input or the timeout.
  bool read_until(const std::string& needle, std::chrono::milliseconds timeout = 5s);
  // Reads until the peer closes (true) or the timeout (false).
  bool read_until_closed(std::chrono::milliseconds timeout = 5s);
  // Upgrades the connection to TLS (after <proceed/>), offering the TLS
  // session of resume_from(), if any.
  bool start_tls();
  // Offers `other`'s last TLS session at this client's handshake.
  void resume_from(const RawClient& other);
  // Whether this client's handshake resumed a session.
  bool tls_resumed() const;
  // Sends a TLS close_notify, as a client ending its stream cleanly does.
  void tls_shutdown();
  const std::string& received() const { return in_; }
  // RFC 9266 tls-exporter channel-binding data of this TLS connection.
  std::string tls_exporter() const;
  void clear() { in_.clear(); }
  // The opening of a c2s stream to `host`.
  static std::string stream_open(const std::string& host = "localhost");

 private:
  ssize_t read_some(std::chrono::milliseconds timeout);
  int fd_ = -1;
  void* ssl_ctx_ = nullptr;
  void* ssl_ = nullptr;
  void* resume_session_ = nullptr;  // SSL_SESSION* to offer, owned
  std::string in_;
  bool closed_ = false;
};

// Negotiates STARTTLS (unless the client connected with direct TLS) and SASL
// PLAIN, then opens the authenticated stream and reads its features.
bool raw_login(RawClient& c, const std::string& user, const std::string& password,
               const std::string& host = "localhost");
// Binds `resource` on an authenticated RawClient; returns the full JID or "".
std::string raw_bind(RawClient& c, const std::string& resource);

// The features (<feature var/>) of a disco#info result.
std::set<std::string> disco_features(const xml::Element& iq);
// Asks `to` for its disco#info (XEP-0030) and returns its features; empty if
// the query failed.
std::set<std::string> disco_features(XmppClient& c, const std::string& to);
// Whether the client's own server (the domain of its bound JID) advertises
// `var` in its disco#info.
bool server_has_feature(XmppClient& c, std::string_view var);

// The RFC 6120 §8.3.3 defined condition of an error stanza (e.g.
// "item-not-found"), or "" when it carries none.
std::string error_condition(const xml::Element& stanza);

}  // namespace parley::test

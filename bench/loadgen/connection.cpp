#include "connection.hpp"

#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

#include "xmpp/namespaces.hpp"
#include "xmpp/sasl/scram.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley::bench {

namespace {

constexpr std::string_view kRegisterNs = "jabber:iq:register";
constexpr std::string_view kPingNs = "urn:xmpp:ping";

std::string condition_of(const xml::Element& el) {
  for (const auto* c : el.element_children())
    if (c->name() != "text") return c->name();
  return "unknown";
}

[[noreturn]] void fail(std::string what) {
  throw std::runtime_error(std::move(what));
}

}  // namespace

std::string make_id(std::string_view prefix, uint64_t n) {
  std::string id(prefix);
  id += std::to_string(n);
  return id;
}

namespace {

// Asio keeps its own pointers in the SSL and SSL_CTX app data (its verify
// callback), so the cache and the connection go into indices of their own.
int cache_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int connection_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

TlsSessionCache::~TlsSessionCache() {
  for (auto& [account, session] : by_account_) SSL_SESSION_free(session);
}

void TlsSessionCache::attach(SSL_CTX* ctx) {
  SSL_CTX_set_ex_data(ctx, cache_index(), this);
  // The client cache is ours (keyed by account), not OpenSSL's internal one.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &TlsSessionCache::on_new_session);
}

int TlsSessionCache::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* self =
      static_cast<TlsSessionCache*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), cache_index()));
  const auto* conn = static_cast<const Connection*>(SSL_get_ex_data(ssl, connection_index()));
  if (!self || !conn) return 0;
  std::lock_guard lock(self->mutex_);
  SSL_SESSION*& slot = self->by_account_[conn->index()];
  if (slot) SSL_SESSION_free(slot);
  slot = session;
  return 1;  // the cache keeps the reference
}

void TlsSessionCache::offer(SSL* ssl, size_t account) const {
  std::lock_guard lock(mutex_);
  auto it = by_account_.find(account);
  if (it != by_account_.end()) SSL_set_session(ssl, it->second);
}

void TlsSessionCache::count(SSL* ssl) {
  ++(SSL_session_reused(ssl) ? resumed_ : full_);
}

Connection::Connection(asio::any_io_executor strand, ClientContext& ctx, size_t index)
    : strand_(std::move(strand)),
      ctx_(ctx),
      index_(index),
      sock_(strand_, ctx.tls),
      deadline_(strand_),
      rbuf_(16384) {}

Connection::~Connection() = default;

void Connection::reset_parser() {
  xml::ParserLimits limits;
  limits.max_stanza_bytes = 16 * 1024 * 1024;
  limits.max_depth = 256;
  limits.max_attributes = 256;
  stream_open_ = false;
  parser_ = std::make_unique<xml::StreamParser>(
      limits, xml::StreamParser::Handler{[this](const xml::StreamHeader&) { stream_open_ = true; },
                                         [this](xml::Element&& el) {
                                           inbox_.push_back({std::move(el), read_arrival_ns_});
                                         },
                                         [this]() { stream_closed_ = true; }});
}

asio::awaitable<size_t> Connection::read_some() {
  const size_t n =
      tls_ ? co_await sock_.async_read_some(asio::buffer(rbuf_), asio::use_awaitable)
           : co_await sock_.next_layer().async_read_some(asio::buffer(rbuf_), asio::use_awaitable);
  // TLS may hand out bytes it read earlier: they arrived with that read.
  read_arrival_ns_ = sock_.next_layer().last_arrival_ns();
  co_return n;
}

asio::awaitable<xml::Element> Connection::next() {
  while (inbox_.empty()) {
    if (stream_closed_) fail("stream closed by the server");
    if (closed_) fail("connection closed");
    const size_t n = co_await read_some();
    const auto r = parser_->feed(std::string_view(rbuf_.data(), n));
    if (r.error != xml::ParseError::None) fail("XML from the server is not acceptable");
  }
  xml::Element el = std::move(inbox_.front().element);
  arrival_ns_ = inbox_.front().arrival_ns;
  inbox_.pop_front();
  if (el.is("error", ns::streams)) fail("stream error: " + condition_of(el));
  co_return el;
}

void Connection::send_raw(std::string_view data) {
  if (closed_) return;
  out_.append(data);
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(strand_, writer(shared_from_this()), asio::detached);
  }
}

void Connection::send(const xml::Element& stanza) {
  if (closed_) return;
  xml::serialize_to(out_, stanza, ns::client);
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(strand_, writer(shared_from_this()), asio::detached);
  }
}

asio::awaitable<void> Connection::writer(std::shared_ptr<Connection> /*keep_alive*/) {
  try {
    while (!out_.empty() && !closed_) {
      inflight_.swap(out_);
      out_.clear();
      if (tls_)
        co_await asio::async_write(sock_, asio::buffer(inflight_), asio::use_awaitable);
      else
        co_await asio::async_write(sock_.next_layer(), asio::buffer(inflight_),
                                   asio::use_awaitable);
      inflight_.clear();
    }
  } catch (const std::exception&) {
    abort();
  }
  writing_ = false;
  if (close_after_write_) await_stream_end();
}

void Connection::close() {
  if (closed_) return;
  send_raw("</stream:stream>");
  close_after_write_ = true;
  if (!writing_) abort();
}

void Connection::await_stream_end() {
  if (closed_) return;
  // Like a real client, wait for the server's </stream:stream> (and its TLS
  // close_notify) rather than reset the connection under it: a TLS session
  // that ends with an error is not resumable.
  arm_deadline(std::chrono::seconds(2));
  if (reading_) return;  // the reader ends at the server's end of stream
  asio::co_spawn(
      strand_,
      [self = shared_from_this()]() -> asio::awaitable<void> {
        try {
          for (;;) co_await self->next();
        } catch (const std::exception&) {
        }
        self->abort();
      },
      asio::detached);
}

void Connection::abort() {
  if (closed_) return;
  closed_ = true;
  // After the server's </stream:stream> the TLS session ended well: without
  // this mark (a quiet shutdown), OpenSSL makes it non-resumable at SSL_free.
  if (tls_ && stream_closed_)
    SSL_set_shutdown(sock_.native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  boost::system::error_code ec;
  deadline_.cancel();
  sock_.lowest_layer().shutdown(tcp::socket::shutdown_both, ec);
  sock_.lowest_layer().close(ec);
}

void Connection::arm_deadline(std::chrono::milliseconds d) {
  deadline_.expires_after(d);
  deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->abort();
  });
}

void Connection::disarm_deadline() {
  deadline_.cancel();
}

asio::awaitable<void> Connection::connect_socket() {
  const auto& o = ctx_.options;
  tcp::endpoint remote(asio::ip::make_address(o.host), o.port);
  auto& s = sock_.lowest_layer();
  s.open(remote.protocol());
  if (!o.source_addrs.empty()) {
    const auto& local = o.source_addrs[index_ % o.source_addrs.size()];
    s.bind(tcp::endpoint(asio::ip::make_address(local), 0));
  }
  co_await s.async_connect(remote, asio::use_awaitable);
  s.set_option(tcp::no_delay(true));
  sock_.next_layer().enable_stamps();
  if (o.tls == TlsMode::Direct) co_await handshake();
}

asio::awaitable<void> Connection::handshake() {
  SSL* ssl = sock_.native_handle();
  SSL_set_tlsext_host_name(ssl, ctx_.options.domain.c_str());
  SSL_set_ex_data(ssl, connection_index(), this);
  ctx_.tls_sessions.offer(ssl, index_);
  co_await sock_.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  ctx_.tls_sessions.count(ssl);
  tls_ = true;
}

asio::awaitable<xml::Element> Connection::open_stream() {
  reset_parser();
  std::string header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' ";
  header += "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='";
  header += xml::escape(ctx_.options.domain);
  header += "'>";
  send_raw(header);
  xml::Element features = co_await next();
  if (!features.is("features", ns::streams))
    fail("expected <stream:features/>, got " + features.name());
  co_return features;
}

asio::awaitable<xml::Element> Connection::secure(xml::Element features) {
  if (ctx_.options.tls != TlsMode::StartTls) co_return features;
  if (!features.child("starttls", ns::tls)) fail("the server offers no STARTTLS");
  send(xml::Element("starttls", std::string(ns::tls)));
  xml::Element reply = co_await next();
  if (!reply.is("proceed", ns::tls)) fail("STARTTLS refused");
  co_await handshake();
  co_return co_await open_stream();
}

asio::awaitable<void> Connection::authenticate(const xml::Element& features,
                                               const std::string& user,
                                               const std::string& password) {
  std::vector<std::string> offered;
  if (const auto* mechs = features.child("mechanisms", ns::sasl))
    for (const auto* m : mechs->children("mechanism")) offered.push_back(m->text());
  auto has = [&](std::string_view m) {
    for (const auto& o : offered)
      if (o == m) return true;
    return false;
  };
  std::string mech = ctx_.options.mechanism;
  if (mech == "auto") {
    mech.clear();
    for (const char* m : {"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"})
      if (has(m)) {
        mech = m;
        break;
      }
    if (mech.empty()) fail("no supported SASL mechanism offered");
  } else if (!has(mech)) {
    fail("the server does not offer " + mech);
  }
  ctx_.mechanism_used = mech;

  xml::Element auth("auth", std::string(ns::sasl));
  auth.set_attr("mechanism", mech);
  if (mech == "PLAIN") {
    std::string msg;
    msg += '\0';
    msg += user;
    msg += '\0';
    msg += password;
    auth.add_text(sasl::base64_encode(msg));
    send(auth);
    xml::Element reply = co_await next();
    if (!reply.is("success", ns::sasl)) fail("SASL PLAIN: " + condition_of(reply));
    co_return;
  }

  ScramClient scram(mech == "SCRAM-SHA-1" ? sasl::Hash::Sha1 : sasl::Hash::Sha256, user, password,
                    &ctx_.scram_cache);
  auth.add_text(sasl::base64_encode(scram.client_first()));
  send(auth);
  xml::Element challenge = co_await next();
  if (!challenge.is("challenge", ns::sasl)) fail("SASL " + mech + ": " + condition_of(challenge));
  auto server_first = sasl::base64_decode(challenge.text());
  if (!server_first) fail("SASL: bad base64 in the challenge");
  auto final_msg = scram.client_final(*server_first);
  if (!final_msg) fail("SASL: malformed server-first-message");
  xml::Element response("response", std::string(ns::sasl));
  response.add_text(sasl::base64_encode(*final_msg));
  send(response);
  xml::Element outcome = co_await next();
  if (outcome.is("challenge", ns::sasl)) {  // RFC 3920 style: v= in a challenge
    auto v = sasl::base64_decode(outcome.text());
    if (!v || !scram.verify_server_final(*v)) fail("SASL: bad server signature");
    send(xml::Element("response", std::string(ns::sasl)));
    outcome = co_await next();
    if (!outcome.is("success", ns::sasl)) fail("SASL " + mech + ": " + condition_of(outcome));
    co_return;
  }
  if (!outcome.is("success", ns::sasl)) fail("SASL " + mech + ": " + condition_of(outcome));
  auto v = sasl::base64_decode(outcome.text());
  if (!v || !scram.verify_server_final(*v)) fail("SASL: bad server signature");
}

asio::awaitable<xml::Element> Connection::wait_for(std::function<bool(const xml::Element&)> pred) {
  for (;;) {
    xml::Element el = co_await next();
    bool consumed = false;
    handle_internal(el, &consumed);
    if (consumed) continue;
    if (pred(el)) co_return el;
    // Messages and presence that arrive meanwhile go to the reader later.
    if (el.name() == "message" || el.name() == "presence")
      stash_.push_back({std::move(el), arrival_ns_});
  }
}

asio::awaitable<xml::Element> Connection::next_stanza() {
  for (;;) {
    xml::Element el = co_await next();
    bool consumed = false;
    handle_internal(el, &consumed);
    if (!consumed) co_return el;
  }
}

asio::awaitable<xml::Element> Connection::request(xml::Element iq) {
  const std::string id = iq.attr_or("id");
  send(iq);
  co_return co_await wait_for([&id](const xml::Element& el) {
    return el.name() == "iq" && el.attr_or("id") == id &&
           (el.attr_or("type") == "result" || el.attr_or("type") == "error");
  });
}

asio::awaitable<void> Connection::login(std::string user, std::string password, bool presence) {
  co_await connect_socket();
  xml::Element features = co_await secure(co_await open_stream());
  co_await authenticate(features, user, password);
  features = co_await open_stream();

  xml::Element bind_iq("iq", std::string(ns::client));
  bind_iq.set_attr("type", "set");
  bind_iq.set_attr("id", "bind1");
  bind_iq.add_child("bind", std::string(ns::bind))
      .add_child("resource", std::string(ns::bind))
      .add_text(resource_.empty() ? ctx_.options.resource : resource_);
  xml::Element bound = co_await request(std::move(bind_iq));
  if (bound.attr_or("type") != "result") fail("resource binding failed: " + condition_of(bound));
  const xml::Element* b = bound.child("bind", ns::bind);
  jid_ = b ? b->child_text("jid", ns::bind) : std::string();
  if (jid_.empty()) fail("resource binding returned no JID");
  bare_jid_ = jid_.substr(0, jid_.find('/'));

  const xml::Element* session = features.child("session", ns::session);
  if (session && !session->child("optional", ns::session)) {
    xml::Element s("iq", std::string(ns::client));
    s.set_attr("type", "set");
    s.set_attr("id", "sess1");
    s.add_child("session", std::string(ns::session));
    xml::Element r = co_await request(std::move(s));
    if (r.attr_or("type") != "result") fail("session establishment failed");
  }

  if (ctx_.options.sm && features.child("sm", ns::sm)) {
    send(xml::Element("enable", std::string(ns::sm)));
    xml::Element r = co_await wait_for([](const xml::Element& el) {
      return el.xmlns() == ns::sm && (el.name() == "enabled" || el.name() == "failed");
    });
    if (r.name() != "enabled") fail("stream management refused");
    sm_enabled_ = true;
  }

  if (presence) {
    send(xml::Element("presence", std::string(ns::client)));
    if (ctx_.options.login_end == "echo") {
      co_await wait_for([this](const xml::Element& el) {
        return el.name() == "presence" && el.attr_or("from") == jid_;
      });
    } else if (ctx_.options.login_end == "ping") {
      xml::Element ping("iq", std::string(ns::client));
      ping.set_attr("type", "get");
      ping.set_attr("id", "ping1");
      ping.set_attr("to", ctx_.options.domain);
      ping.add_child("ping", std::string(kPingNs));
      co_await request(std::move(ping));
    }
  }
}

asio::awaitable<bool> Connection::register_account(std::string user, std::string password) {
  co_await connect_socket();
  co_await secure(co_await open_stream());
  xml::Element iq("iq", std::string(ns::client));
  iq.set_attr("type", "set");
  iq.set_attr("id", "reg1");
  auto& q = iq.add_child("query", std::string(kRegisterNs));
  q.add_child("username", std::string(kRegisterNs)).add_text(user);
  q.add_child("password", std::string(kRegisterNs)).add_text(password);
  xml::Element reply = co_await request(std::move(iq));
  if (reply.attr_or("type") == "result") co_return true;
  const xml::Element* error = reply.child("error");
  if (error && error->child("conflict")) co_return false;
  fail("registration failed: " + (error ? condition_of(*error) : std::string("?")));
}

// Things every connection answers itself: XEP-0198 <r/>, pings and other
// requests from the server. Counts inbound stanzas for XEP-0198.
void Connection::handle_internal(xml::Element& el, bool* consumed) {
  *consumed = false;
  const std::string& name = el.name();
  if (el.xmlns() == ns::sm) {
    *consumed = true;
    if (name == "r") {
      xml::Element a("a", std::string(ns::sm));
      a.set_attr("h", std::to_string(sm_inbound_));
      send(a);
    }
    return;
  }
  if (name != "message" && name != "presence" && name != "iq") return;
  if (sm_enabled_) ++sm_inbound_;
  if (name == "iq") {
    const std::string type = el.attr_or("type");
    if (type != "get" && type != "set") return;
    *consumed = true;
    xml::Element reply("iq", std::string(ns::client));
    reply.set_attr("id", el.attr_or("id"));
    if (const auto* from = el.attr("from")) reply.set_attr("to", *from);
    if (el.child("ping", kPingNs)) {
      reply.set_attr("type", "result");
    } else {
      reply.set_attr("type", "error");
      auto& error = reply.add_child("error", std::string(ns::client));
      error.set_attr("type", "cancel");
      error.add_child("service-unavailable", std::string(ns::stanza_errors));
    }
    send(reply);
  }
}

void Connection::start_reader(Handler handler) {
  asio::co_spawn(strand_, reader(shared_from_this(), std::move(handler)), asio::detached);
}

asio::awaitable<void> Connection::reader(std::shared_ptr<Connection> /*keep_alive*/,
                                         Handler handler) {
  reading_ = true;
  try {
    while (!stash_.empty()) {
      xml::Element el = std::move(stash_.front().element);
      arrival_ns_ = stash_.front().arrival_ns;
      stash_.pop_front();
      if (handler) handler(*this, el);
    }
    for (;;) {
      xml::Element el = co_await next();
      bool consumed = false;
      handle_internal(el, &consumed);
      if (!consumed && handler) handler(*this, el);
    }
  } catch (const std::exception&) {
  }
  abort();
}

}  // namespace parley::bench

#include "xmpp/stream/c2s_session.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "xmpp/detached.hpp"
#include "xmpp/events.hpp"
#include "xmpp/host.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/router.hpp"
#include "xmpp/stanza.hpp"
#include "xmpp/stream/tls.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley {

namespace asio = boost::asio;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

std::atomic<uint64_t> next_session_id{1};

StreamErrorCondition condition_for(xml::ParseError e) {
  switch (e) {
    case xml::ParseError::RestrictedXml:
      return StreamErrorCondition::RestrictedXml;
    case xml::ParseError::PolicyViolation:
    case xml::ParseError::StanzaTooBig:
      return StreamErrorCondition::PolicyViolation;
    case xml::ParseError::InvalidNamespace:
      return StreamErrorCondition::InvalidNamespace;
    case xml::ParseError::BadFormat:
      return StreamErrorCondition::BadFormat;
    default:
      return StreamErrorCondition::NotWellFormed;
  }
}

// The stream header is the one piece of output that is an open tag, so it
// cannot come from the element serializer; every value is escaped.
std::string stream_header(std::string_view from, std::string_view id) {
  std::string out =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='en'";
  if (!from.empty()) {
    out += " from='";
    xml::escape_to(out, from);
    out += "'";
  }
  out += " id='";
  xml::escape_to(out, id);
  out += "'>";
  return out;
}

xml::Element sasl_element(std::string name, std::string_view data) {
  xml::Element el(std::move(name), std::string(ns::sasl));
  if (!data.empty()) el.add_text(sasl::base64_encode(data));
  return el;
}

}  // namespace

C2SSession::C2SSession(tcp::socket socket, ServerCore& core, C2SOptions options)
    : core_(core),
      options_(std::move(options)),
      executor_(socket.get_executor()),
      transport_(std::move(socket)),
      deadline_(executor_),
      idle_timer_(executor_),
      hibernation_timer_(executor_) {
  id_ = next_session_id++;
  boost::system::error_code ec;
  auto ep = transport_.socket().remote_endpoint(ec);
  remote_address_ = ec ? "unknown" : ep.address().to_string();
  transport_.socket().set_option(tcp::no_delay(true), ec);
}

C2SSession::~C2SSession() = default;

xml::ParserLimits C2SSession::current_limits() const {
  const auto& l = core_.config().limits;
  xml::ParserLimits limits;
  limits.max_depth = static_cast<size_t>(l.max_depth);
  limits.max_attributes = static_cast<size_t>(l.max_attributes);
  if (authenticated_) {
    limits.max_stanza_bytes = static_cast<size_t>(l.max_stanza_bytes);
    limits.max_stanza_elements = 0;
  } else {
    limits.max_stanza_bytes = static_cast<size_t>(l.preauth_max_stanza_bytes);
    limits.max_stanza_elements = static_cast<size_t>(l.preauth_max_stanza_elements);
  }
  return limits;
}

void C2SSession::new_parser(bool continue_stream) {
  parser_ = std::make_unique<xml::StreamParser>(
      current_limits(), xml::StreamParser::Handler{[this](const xml::StreamHeader& h) {
                                                     if (priming_) return;
                                                     events_.push_back(OpenEvent{h});
                                                   },
                                                   [this](xml::Element&& el) {
                                                     events_.push_back(std::move(el));
                                                     // Before authentication, stop after every
                                                     // element: SASL success and STARTTLS change
                                                     // how the following bytes must be read.
                                                     if (!authenticated_) parser_->stop();
                                                   },
                                                   [this] { events_.push_back(CloseEvent{}); }});
  if (continue_stream) {
    // A stopped parser cannot resume; its successor continues the same
    // stream, so it is primed with the stream's opening (never sent to us
    // twice, and never reported as a new stream).
    priming_ = true;
    parser_->feed(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
    priming_ = false;
  } else {
    stream_open_ = false;
  }
}

void C2SSession::start() {
  auto self = std::static_pointer_cast<C2SSession>(shared_from_this());
  core_.metrics().connections_accepted.inc();
  deadline_.expires_after(
      std::chrono::seconds(core_.config().limits.unauthenticated_timeout_seconds));
  deadline_.async_wait([weak = std::weak_ptr<C2SSession>(self)](boost::system::error_code ec) {
    if (ec) return;
    if (auto s = weak.lock(); s && !s->authenticated_)
      s->close(StreamErrorCondition::ConnectionTimeout, "authentication took too long");
  });
  asio::co_spawn(
      executor_,
      [self]() -> asio::awaitable<void> {
        try {
          co_await self->read_loop();
        } catch (...) {
          // Whatever went wrong, the session must leave the router.
          self->closing_ = true;
          self->finish_close();
          throw;
        }
      },
      log_exceptions("c2s session"));
}

asio::awaitable<void> C2SSession::read_loop() {
  auto self = shared_from_this();
  boost::system::error_code ec;
  if (options_.direct_tls) {
    co_await transport_.handshake(*options_.tls, ec);
    if (ec) {
      spdlog::debug("c2s {} TLS handshake failed: {}", remote_address_, ec.message());
      cleanup();
      co_return;
    }
    tls_active_ = secure_ = true;
    channel_bindings_.reset();
  }
  new_parser();
  while (!closed_) {
    // Between reads the session holds no read buffer (see Transport).
    Transport::Chunk chunk = co_await transport_.read(ec);
    if (ec) break;
    last_read_ = std::chrono::steady_clock::now();
    idle_probe_sent_ = false;
    co_await shape_reading(chunk.data().size());
    if (closed_) break;
    std::string_view data = chunk.data();
    while (!data.empty() && !closing_) {
      auto result = parser_->feed(data);
      data.remove_prefix(std::min(result.consumed, data.size()));
      while (!events_.empty() && !closing_) {
        Event ev = std::move(events_.front());
        events_.pop_front();
        co_await process(std::move(ev));
      }
      if (closing_) break;
      if (result.error != xml::ParseError::None) {
        close(condition_for(result.error),
              result.error == xml::ParseError::StanzaTooBig ? "stanza too big" : "");
        break;
      }
      if (starttls_pending_) {
        // Anything pipelined after <starttls/> was sent in plaintext and is
        // discarded (STARTTLS command injection).
        starttls_pending_ = false;
        data = {};
        co_await transport_.handshake(*options_.tls, ec);
        if (ec) {
          closing_ = closed_ = true;
          break;
        }
        tls_active_ = secure_ = true;
        channel_bindings_.reset();
        new_parser();
      } else if (restart_pending_) {
        restart_pending_ = false;
        new_parser();  // the rest of `data` belongs to the new stream
      } else if (result.stopped) {
        new_parser(/*continue_stream=*/true);
      } else {
        break;
      }
    }
    // Everything in hand is processed: until the client speaks again the
    // stream keeps no parser buffers (pre-authentication parsers stop after
    // every element and are replaced anyway).
    if (authenticated_ && !closing_) parser_->release();
  }
  cleanup();
  transport_.close();
}

asio::awaitable<void> C2SSession::process(Event event) {
  if (auto* open = std::get_if<OpenEvent>(&event)) {
    co_await on_stream_open(open->header);
  } else if (auto* el = std::get_if<xml::Element>(&event)) {
    co_await on_element(std::move(*el));
  } else {
    // The client closed its stream: close ours (RFC 6120 §4.4).
    if (!closing_) {
      closing_ = true;
      write_raw("</stream:stream>");
    }
  }
}

asio::awaitable<void> C2SSession::on_stream_open(const xml::StreamHeader& header) {
  const std::string to = header.attributes.attr_or("to");
  const std::optional<std::string> domain = Jid::prep_domain(to);
  const bool known_host = domain && core_.host(*domain) != nullptr;
  if (!header_sent_) {
    write_raw(stream_header(known_host ? *domain : core_.config().hosts.front(), random_id(16)));
    header_sent_ = true;
  } else {
    write_raw(stream_header(known_host ? *domain : stream_host_, random_id(16)));
  }
  stream_open_ = true;
  if (header.default_ns != ns::client) {
    close(StreamErrorCondition::InvalidNamespace, "the default namespace must be jabber:client");
    co_return;
  }
  const std::string version = header.attributes.attr_or("version");
  if (version.empty() || version[0] < '1' || version.find('.') == std::string::npos) {
    close(StreamErrorCondition::UnsupportedVersion, "XMPP 1.0 is required");
    co_return;
  }
  if (!known_host) {
    close(StreamErrorCondition::HostUnknown);
    co_return;
  }
  if (!stream_host_.empty() && *domain != stream_host_) {
    // A restart may not move an authenticated stream to another host.
    close(StreamErrorCondition::NotAuthorized, "the stream host may not change");
    co_return;
  }
  stream_host_ = *domain;
  host_ = core_.host(stream_host_);
  send_features();
}

const std::vector<sasl::ChannelBinding>& C2SSession::channel_bindings() {
  if (!channel_bindings_)
    channel_bindings_ = tls_active_ ? tls::channel_bindings(transport_.native_handle())
                                    : std::vector<sasl::ChannelBinding>{};
  return *channel_bindings_;
}

bool C2SSession::mechanism_offered(const std::string& mechanism) {
  const auto& allowed = core_.config().sasl_mechanisms;
  if (std::find(allowed.begin(), allowed.end(), mechanism) == allowed.end()) return false;
  if (mechanism == "PLAIN") return tls_active_;
  if (mechanism.ends_with("-PLUS")) return tls_active_ && !channel_bindings().empty();
  return true;
}

void C2SSession::send_features() {
  xml::Element features("features", std::string(ns::streams));
  const bool tls_required = core_.config().tls.require_starttls;
  if (!tls_active_) {
    auto& starttls = features.add_child("starttls", std::string(ns::tls));
    if (tls_required) starttls.add_child("required", std::string(ns::tls));
  }
  if (!authenticated_ && (tls_active_ || !tls_required)) {
    auto& mechs = features.add_child("mechanisms", std::string(ns::sasl));
    for (const auto& m : core_.config().sasl_mechanisms)
      if (mechanism_offered(m)) mechs.add_child("mechanism", std::string(ns::sasl)).add_text(m);
    if (tls_active_) {
      auto& cb = features.add_child("sasl-channel-binding", std::string(ns::sasl_cb));
      for (const auto& b : channel_bindings())
        cb.add_child("channel-binding", std::string(ns::sasl_cb)).set_attr("type", b.type);
    }
    StreamFeaturesUnauthenticated event{*this, features};
    host_->hooks().run(event);
  }
  if (authenticated_) {
    features.add_child("bind", std::string(ns::bind));
    features.add_child("session", std::string(ns::session))
        .add_child("optional", std::string(ns::session));
    auto& limits = features.add_child("limits", std::string(ns::stream_limits));
    limits.add_child("max-bytes", std::string(ns::stream_limits))
        .add_text(std::to_string(core_.config().limits.max_stanza_bytes));
    // A client that sends something this often is never probed.
    limits.add_child("idle-seconds", std::string(ns::stream_limits))
        .add_text(std::to_string(core_.config().limits.client_idle_seconds));
    features.add_child("sm", std::string(ns::sm));
    StreamFeaturesAuthenticated event{*this, features};
    host_->hooks().run(event);
  }
  write_raw(xml::serialize(features, ns::client));
}

asio::awaitable<void> C2SSession::on_element(xml::Element el) {
  if (!stream_open_) co_return;
  const bool tls_required = core_.config().tls.require_starttls;
  if (el.is("starttls", ns::tls)) {
    if (tls_active_ || authenticated_) {
      write_raw(xml::serialize(xml::Element("failure", std::string(ns::tls))));
      close(StreamErrorCondition::PolicyViolation, "TLS is already active");
      co_return;
    }
    write_raw(xml::serialize(xml::Element("proceed", std::string(ns::tls))));
    starttls_pending_ = true;
    // The handshake must start only once <proceed/> is on the wire.
    while (writing_ || !out_.empty()) {
      asio::steady_timer t(executor_, std::chrono::milliseconds(1));
      co_await t.async_wait(use_awaitable);
      if (closed_) co_return;
    }
    co_return;
  }
  if (!tls_active_ && tls_required) {
    close(StreamErrorCondition::PolicyViolation, "STARTTLS is required");
    co_return;
  }
  if (el.xmlns() == ns::sasl) {
    co_await on_sasl(std::move(el));
    co_return;
  }
  if (!authenticated_ && host_ && el.name() == "iq" && el.xmlns() == ns::client &&
      el.element_count() == 1 && el.child("query", "jabber:iq:register")) {
    // In-band registration (XEP-0077) is the one exchange allowed before
    // authentication; TLS was enforced above. Unhandled: not-authorized below.
    el.remove_attr("from");  // no identity yet
    UnauthenticatedIq event{
        *this, stream_host_, el, executor_,
        [self = shared_from_this()](xml::Element reply) { self->send(std::move(reply)); }};
    host_->hooks().run(event);
    if (event.handled) co_return;
  }
  if (!authenticated_) {
    close(StreamErrorCondition::NotAuthorized);
    co_return;
  }
  if (el.xmlns() == ns::sm) {
    co_await on_sm(std::move(el));
    co_return;
  }
  if (stanza_kind(el) == StanzaKind::Other) {
    if (bound_) {
      StreamNonza event{*this, el};
      host_->hooks().run(event);
      if (event.handled) co_return;
    }
    close(StreamErrorCondition::UnsupportedStanzaType);
    co_return;
  }
  if (!bound_) {
    if (el.name() == "iq" && el.child("bind", ns::bind)) {
      on_bind(el);
    } else {
      close(StreamErrorCondition::NotAuthorized, "bind a resource first");
    }
    co_return;
  }
  on_stanza(std::move(el));
}

asio::awaitable<void> C2SSession::on_sasl(xml::Element el) {
  if (authenticated_) {
    close(StreamErrorCondition::PolicyViolation, "already authenticated");
    co_return;
  }
  if (el.name() == "abort") {
    scram_.reset();
    mechanism_.clear();
    sasl_failed(sasl::Failure::Aborted);
    co_return;
  }
  std::string text = el.text();
  std::optional<std::string> decoded;
  if (text.empty() || text == "=")
    decoded = std::string();
  else
    decoded = sasl::base64_decode(text);

  if (el.name() == "auth") {
    sasl_attempt_ = el.attr_or("mechanism");  // every outcome below is counted under it
    if (!mechanism_.empty()) {
      sasl_failed(sasl::Failure::MalformedRequest, "an exchange is already in progress");
      scram_.reset();
      mechanism_.clear();
      co_return;
    }
    if (options_.throttle && !options_.throttle->allowed(remote_address_)) {
      sasl_failed(sasl::Failure::TemporaryAuthFailure, "too many failed attempts, try later");
      co_return;
    }
    if (!decoded) {
      sasl_failed(sasl::Failure::IncorrectEncoding);
      co_return;
    }
    const std::string mech = el.attr_or("mechanism");
    if (!mechanism_offered(mech)) {
      sasl_failed(mech == "PLAIN" && !tls_active_ ? sasl::Failure::EncryptionRequired
                                                  : sasl::Failure::InvalidMechanism);
      co_return;
    }
    if (mech == "PLAIN") {
      auto creds = sasl::parse_plain(*decoded);
      std::optional<std::string> user = creds ? Jid::prep_local(creds->authcid) : std::nullopt;
      if (!creds || !user) {
        sasl_failed(creds ? sasl::Failure::NotAuthorized : sasl::Failure::MalformedRequest);
        co_return;
      }
      if (!creds->authzid.empty()) {
        auto authz = Jid::parse(creds->authzid);
        if (!authz || !authz->is_bare() || authz->local() != *user ||
            authz->domain() != stream_host_) {
          sasl_failed(sasl::Failure::InvalidAuthzid);
          co_return;
        }
      }
      Jid account = *Jid::make(*user, stream_host_);
      std::optional<std::vector<sasl::ScramCredential>> stored;
      try {
        stored = co_await core_.pool().run(
            [this, &account] { return core_.accounts().credentials(account); });
      } catch (const std::exception& e) {
        spdlog::warn("credential lookup failed: {}", e.what());
        sasl_failed(sasl::Failure::TemporaryAuthFailure);
        co_return;
      }
      if (closed_) co_return;
      std::string password = creds->password;
      bool ok = false;
      if (stored && !stored->empty()) {
        // PBKDF2 is deliberately slow: keep it off the I/O thread.
        ok = co_await core_.pool().compute([&stored, &password] {
          for (const auto& c : *stored)
            if (c.hash == sasl::Hash::Sha256) return sasl::verify_password(c, password);
          return sasl::verify_password(stored->front(), password);
        });
      }
      if (closed_) co_return;
      if (!ok) {
        sasl_failed(sasl::Failure::NotAuthorized);
        co_return;
      }
      username_ = *user;
      co_await sasl_succeeded({});
      co_return;
    }
    sasl::Hash hash;
    bool plus;
    if (mech == "SCRAM-SHA-256" || mech == "SCRAM-SHA-256-PLUS") {
      hash = sasl::Hash::Sha256;
      plus = mech.ends_with("-PLUS");
    } else if (mech == "SCRAM-SHA-1" || mech == "SCRAM-SHA-1-PLUS") {
      hash = sasl::Hash::Sha1;
      plus = mech.ends_with("-PLUS");
    } else {
      sasl_failed(sasl::Failure::InvalidMechanism);
      co_return;
    }
    if (plus && !tls_active_) {
      sasl_failed(sasl::Failure::InvalidMechanism);
      co_return;
    }
    const bool server_plus = !channel_bindings().empty();
    scram_.emplace(hash, plus, channel_bindings(), server_plus);
    mechanism_ = mech;
    auto first = scram_->client_first(*decoded);
    if (first.failure != sasl::Failure::None) {
      scram_.reset();
      mechanism_.clear();
      sasl_failed(first.failure);
      co_return;
    }
    std::optional<std::string> user = Jid::prep_local(first.data);
    std::optional<sasl::ScramCredential> credential;
    if (user) {
      Jid account = *Jid::make(*user, stream_host_);
      std::optional<std::vector<sasl::ScramCredential>> stored;
      try {
        stored = co_await core_.pool().run(
            [this, &account] { return core_.accounts().credentials(account); });
      } catch (const std::exception& e) {
        spdlog::warn("credential lookup failed: {}", e.what());
        scram_.reset();
        mechanism_.clear();
        sasl_failed(sasl::Failure::TemporaryAuthFailure);
        co_return;
      }
      if (closed_) co_return;
      if (stored)
        for (const auto& c : *stored)
          if (c.hash == hash) credential = c;
      username_ = *user;
    }
    std::string challenge = scram_->server_first(credential);
    write_raw(xml::serialize(sasl_element("challenge", challenge)));
    co_return;
  }
  if (el.name() == "response") {
    if (!scram_) {
      sasl_failed(sasl::Failure::MalformedRequest, "no exchange in progress");
      co_return;
    }
    if (!decoded) {
      scram_.reset();
      mechanism_.clear();
      sasl_failed(sasl::Failure::IncorrectEncoding);
      co_return;
    }
    auto final_result = scram_->client_final(*decoded);
    const std::string authzid = scram_->authzid();
    scram_.reset();
    mechanism_.clear();
    if (final_result.failure != sasl::Failure::None) {
      sasl_failed(final_result.failure);
      co_return;
    }
    if (!authzid.empty()) {
      auto authz = Jid::parse(authzid);
      if (!authz || !authz->is_bare() || authz->local() != username_ ||
          authz->domain() != stream_host_) {
        sasl_failed(sasl::Failure::InvalidAuthzid);
        co_return;
      }
    }
    co_await sasl_succeeded(final_result.data);
    co_return;
  }
  close(StreamErrorCondition::UnsupportedStanzaType);
}

void C2SSession::sasl_failed(sasl::Failure failure, std::string text) {
  if (failure != sasl::Failure::Aborted) {
    ++auth_failures_;
    core_.metrics().auth_failures[metrics::mechanism_index(sasl_attempt_)].inc();
    if (options_.throttle && failure == sasl::Failure::NotAuthorized)
      options_.throttle->record_failure(remote_address_);
  }
  xml::Element el("failure", std::string(ns::sasl));
  el.add_child(std::string(sasl::failure_condition(failure)), std::string(ns::sasl));
  if (!text.empty()) el.add_child("text", std::string(ns::sasl)).add_text(text);
  write_raw(xml::serialize(el));
  if (auth_failures_ >= core_.config().limits.max_auth_failures_per_stream)
    close(StreamErrorCondition::PolicyViolation, "too many failed authentication attempts");
}

asio::awaitable<void> C2SSession::sasl_succeeded(std::string additional_data) {
  authenticated_ = true;
  channel_bindings_.reset();
  core_.metrics().auth_successes[metrics::mechanism_index(sasl_attempt_)].inc();
  core_.metrics().authenticated_connections[listener_index()].inc();
  counted_authenticated_ = true;
  deadline_.cancel();
  last_read_ = std::chrono::steady_clock::now();
  watch_idle(last_read_ + std::chrono::seconds(core_.config().limits.client_idle_seconds));
  write_raw(xml::serialize(sasl_element("success", additional_data)));
  restart_pending_ = true;
  co_return;
}

void C2SSession::on_bind(const xml::Element& iq) {
  if (iq.attr_or("type") != "set") {
    enqueue(error_reply(iq, StanzaError::bad_request()));
    return;
  }
  const xml::Element* bind = iq.child("bind", ns::bind);
  std::string requested = bind->child_text("resource", ns::bind);
  std::optional<std::string> resource =
      requested.empty() ? std::optional<std::string>(random_id(12)) : Jid::prep_resource(requested);
  if (!resource) {
    enqueue(error_reply(iq, StanzaError::bad_request("invalid resource")));
    return;
  }
  jid_ = *Jid::make(username_, stream_host_, *resource);
  SessionPtr replaced;
  auto result = core_.router().bind(
      shared_from_this(), static_cast<size_t>(core_.config().limits.max_resources_per_account),
      replaced);
  if (result == Router::BindResult::TooManyResources) {
    jid_ = Jid();
    StanzaError err{ErrorType::Cancel, "resource-constraint", "too many resources", {}};
    enqueue(error_reply(iq, err));
    return;
  }
  if (replaced) replaced->close(StreamErrorCondition::Conflict, "replaced by a new connection");
  bound_ = true;
  parser_->set_limits(current_limits());
  xml::Element reply = iq_result(iq);
  reply.remove_attr("from");
  reply.set_attr("to", jid_.str());
  reply.add_child("bind", std::string(ns::bind))
      .add_child("jid", std::string(ns::bind))
      .add_text(jid_.str());
  enqueue(std::move(reply));
  SessionBound event{*this};
  host_->hooks().run(event);
  closed_for_shutdown();
}

void C2SSession::on_stanza(xml::Element stanza) {
  if (!sm_enabled_) {
    handle_stanza(std::move(stanza));
    return;
  }
  // Counted for XEP-0198 h; hold_delivery() ties the count to delivery.
  const uint64_t seq = sm_in_->received();
  sm_current_seq_ = seq;
  handle_stanza(std::move(stanza));
  sm_current_seq_ = 0;
  if (sm_in_->release(seq)) send_ack();
}

void C2SSession::handle_stanza(xml::Element stanza) {
  // Routing latency: from here (the stanza parsed) until the router handed it on.
  metrics::Timer routing(core_.metrics().routing_latency);
  const StanzaKind kind = stanza_kind(stanza);
  if (kind != StanzaKind::Other) core_.metrics().stanzas_in[static_cast<size_t>(kind)].inc();
  // `from` is always the session's full JID, whatever the client wrote.
  stanza.set_attr("from", jid_.str());
  const std::string type = stanza.attr_or("type");

  if (kind == StanzaKind::Iq) {
    if (!stanza.has_attr("id")) {
      enqueue(error_reply(stanza, StanzaError::bad_request("an iq needs an id")));
      return;
    }
    if (type != "get" && type != "set" && type != "result" && type != "error") {
      enqueue(error_reply(stanza, StanzaError::bad_request("invalid iq type")));
      return;
    }
    if ((type == "get" || type == "set") && stanza.element_count() != 1) {
      enqueue(
          error_reply(stanza, StanzaError::bad_request("an iq get or set has exactly one child")));
      return;
    }
  }
  std::optional<Jid> to;
  if (const std::string* to_attr = stanza.attr("to")) {
    to = Jid::parse(*to_attr);
    if (!to) {
      // Presence too (a client must learn its subscription request went
      // nowhere); errors and results never get an error back.
      if (type != "error" && type != "result") {
        xml::Element reply = error_reply(stanza, StanzaError::jid_malformed());
        reply.remove_attr("from");
        enqueue(std::move(reply));
      }
      return;
    }
    stanza.set_attr("to", to->str());
  }

  StanzaFromClient from_client{*this, stanza};
  if (host_->hooks().run(from_client) == Flow::Stop) return;

  if (kind == StanzaKind::Presence) {
    if (!to) {
      PresenceBroadcast event{*this, stanza};
      host_->hooks().run(event);
      return;
    }
    OutboundPresence event{*this, stanza, *to};
    if (host_->hooks().run(event) == Flow::Stop) return;
  } else if (!to) {
    // No 'to': addressed to the account itself (RFC 6120 §10.3).
    stanza.set_attr("to", jid_.bare_str());
  }
  core_.router().route(std::move(stanza), shared_from_this());
}

template <typename Work>
void C2SSession::on_own_thread(Work work) {
  const auto* io = executor_.target<asio::io_context::executor_type>();
  if (io && io->running_in_this_thread()) {
    work(*this);
    return;
  }
  asio::post(executor_, [self = std::static_pointer_cast<C2SSession>(shared_from_this()),
                         w = std::move(work)]() mutable { w(*self); });
}

void C2SSession::send(xml::Element stanza, DeliveryHold hold) {
  on_own_thread([s = std::move(stanza), h = std::move(hold)](C2SSession& self) mutable {
    self.enqueue(std::move(s), std::move(h));
  });
}

void C2SSession::send_shared(std::shared_ptr<const SharedStanza> stanza, DeliveryHold hold) {
  on_own_thread([s = std::move(stanza), h = std::move(hold)](C2SSession& self) mutable {
    self.enqueue_shared(std::move(s), std::move(h));
  });
}

// enqueue() for a fan-out's shared stanza: the hooks read the shared tree,
// and the bytes are the shared serialization with this session's address
// spliced in, so no occupant costs a copy or a serialization of the stanza.
void C2SSession::enqueue_shared(std::shared_ptr<const SharedStanza> stanza, DeliveryHold hold) {
  if (transplanted_ || resuming_ || closing_ || !bound_ || !host_) {
    // Rare states, each with its own handling of a tree.
    enqueue(stanza->addressed_to(jid_), std::move(hold));
    return;
  }
  StanzaToClient event{*this, stanza->element(), hold};
  if (host_->hooks().run(event) == Flow::Stop) return;
  std::string bytes = stanza->bytes_to(jid_.str());
  count_out(stanza->element());
  if (sm_enabled_) {
    sm_out_.push(std::move(stanza));
    if (sm_queue_full()) return;
  }
  write_raw(std::move(bytes));
  hold.routed();  // in this stream (or its XEP-0198 queue) now
  if (hold && !closed_) out_holds_.push_back(std::move(hold));
}

void C2SSession::enqueue(xml::Element stanza, DeliveryHold hold) {
  if (transplanted_) {
    // Arrived for the connection a resumed session replaced.
    if (successor_) successor_->send(std::move(stanza), std::move(hold));
    return;
  }
  if (resuming_) {
    held_while_resuming_.emplace_back(std::move(stanza), std::move(hold));
    return;
  }
  if (closing_) {
    // The session is going away: a message it can no longer take goes to the
    // account's other resources or offline storage rather than nowhere.
    if (bound_ && stanza.name() == "message")
      core_.router().redeliver(std::move(stanza), std::move(hold));
    return;
  }
  if (bound_ && host_) {
    StanzaToClient event{*this, stanza, hold};
    if (host_->hooks().run(event) == Flow::Stop) return;
  }
  std::string bytes;
  try {
    bytes = xml::serialize(stanza, ns::client);
  } catch (const std::invalid_argument& e) {
    // Parsed input always serializes (tests/fuzz checks it); should a module
    // ever build something that does not, the sender hears of it and this
    // session lives on.
    spdlog::warn("c2s {}: dropping a stanza that cannot be written: {}", jid_.str(), e.what());
    core_.router().bounce(
        stanza, {ErrorType::Modify, "not-acceptable", "the stanza cannot be delivered", {}});
    return;
  }
  count_out(stanza);
  if (sm_enabled_) {
    sm_out_.push(stanza);
    if (sm_queue_full()) return;
  }
  write_raw(std::move(bytes));
  hold.routed();  // in this stream (or its XEP-0198 queue) now
  if (hold && !closed_) out_holds_.push_back(std::move(hold));
}

void C2SSession::count_out(const xml::Element& stanza) {
  const StanzaKind kind = stanza_kind(stanza);
  if (kind != StanzaKind::Other) core_.metrics().stanzas_out[static_cast<size_t>(kind)].inc();
}

void C2SSession::write_raw(std::string_view data) {
  if (closed_) return;
  if (out_.size() + data.size() > static_cast<size_t>(core_.config().limits.send_buffer_bytes)) {
    // A client that does not read must not make the server buffer forever.
    spdlog::info("c2s {} {}: send buffer full, disconnecting", remote_address_, jid_.str());
    closing_ = true;
    // Nor will it read what is queued: close now instead of waiting for a
    // flush that cannot come (the holds are released, as for any drop).
    out_.clear();
    out_holds_.clear();
    finish_close();
    return;
  }
  out_.append(data);
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(
        executor_,
        [self = std::static_pointer_cast<C2SSession>(
             shared_from_this())]() -> asio::awaitable<void> { co_await self->write_loop(); },
        log_exceptions("c2s session"));
  }
}

asio::awaitable<void> C2SSession::write_loop() {
  boost::system::error_code ec;
  for (;;) {
    if (out_.empty() && !closed_ && !closing_ && sm_enabled_ && !sm_ack_requested_ &&
        !sm_out_.empty()) {
      // One ack request per burst of output keeps the unacked queue short.
      sm_ack_requested_ = true;
      out_ = "<r xmlns='urn:xmpp:sm:3'/>";
    }
    if (out_.empty() || closed_) break;
    std::string chunk;
    chunk.swap(out_);
    std::vector<DeliveryHold> holds;
    holds.swap(out_holds_);
    co_await transport_.write(chunk, ec);
    if (ec) {
      out_.clear();
      finish_close();
      break;
    }
  }
  writing_ = false;
  if (closing_) finish_close();
}

// A session that binds or resumes after stop() took its snapshot of the
// router is not in it, so it closes itself. It checks once the router has it:
// stop() sets the flag before its snapshot, so one of the two sees the other.
bool C2SSession::closed_for_shutdown() {
  if (!core_.stopping()) return false;
  close(StreamErrorCondition::SystemShutdown, "the server is shutting down");
  return true;
}

void C2SSession::close(StreamErrorCondition condition, std::string text) {
  close_with(condition, std::move(text), std::nullopt);
}

void C2SSession::close_with(StreamErrorCondition condition, std::string text,
                            std::optional<xml::Element> app_error) {
  if (!executor_.target<asio::io_context::executor_type>() ||
      !executor_.target<asio::io_context::executor_type>()->running_in_this_thread()) {
    asio::post(executor_,
               [self = std::static_pointer_cast<C2SSession>(shared_from_this()), condition,
                text = std::move(text), app = std::move(app_error)]() mutable {
                 self->close_with(condition, std::move(text), std::move(app));
               });
    return;
  }
  if (hibernated_ && !closing_) {
    // No connection to send the error on (kicked, replaced, shut down).
    closing_ = true;
    cleanup();
    return;
  }
  if (closing_ || closed_) return;
  if (!header_sent_) {
    write_raw(stream_header(core_.config().hosts.front(), random_id(16)));
    header_sent_ = true;
  }
  xml::Element error("error", std::string(ns::streams));
  error.add_child(std::string(to_string(condition)), std::string(ns::stream_errors));
  if (!text.empty()) error.add_child("text", std::string(ns::stream_errors)).add_text(text);
  if (condition == StreamErrorCondition::PolicyViolation &&
      text.find("too big") != std::string::npos)
    error.add_child("stanza-too-big", std::string(ns::xmpp_errors));
  if (app_error) error.add_child(std::move(*app_error));
  write_raw(xml::serialize(error, ns::client));
  write_raw("</stream:stream>");
  closing_ = true;
  cleanup();
  if (!writing_) finish_close();
}

void C2SSession::finish_close() {
  if (closed_) return;
  if (writing_ && !out_.empty()) return;  // the write loop calls us when flushed
  closed_ = true;
  deadline_.cancel();
  boost::system::error_code ec;
  transport_.socket().shutdown(tcp::socket::shutdown_both, ec);
  transport_.close();
  cleanup();
}

asio::awaitable<void> C2SSession::shape_reading(size_t bytes) {
  // A token bucket of bytes: a client over its rate waits before the next
  // read, so the kernel's buffers fill and TCP slows the sender down; nothing
  // is dropped and other sessions on this thread keep running.
  const auto& limits = core_.config().limits;
  const double rate = static_cast<double>(limits.client_bytes_per_second);
  const double burst = static_cast<double>(limits.client_burst_bytes);
  const auto now = std::chrono::steady_clock::now();
  if (read_tokens_refilled_ == std::chrono::steady_clock::time_point{}) {
    read_tokens_ = burst;
  } else {
    const double elapsed = std::chrono::duration<double>(now - read_tokens_refilled_).count();
    read_tokens_ = std::min(burst, read_tokens_ + elapsed * rate);
  }
  read_tokens_refilled_ = now;
  read_tokens_ -= static_cast<double>(bytes);
  if (read_tokens_ >= 0) co_return;
  asio::steady_timer pause(executor_);
  pause.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(-read_tokens_ / rate)));
  boost::system::error_code ec;
  co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
}

void C2SSession::watch_idle(std::chrono::steady_clock::time_point at) {
  idle_timer_.expires_at(at);
  idle_timer_.async_wait([weak = std::weak_ptr<C2SSession>(std::static_pointer_cast<C2SSession>(
                              shared_from_this()))](boost::system::error_code ec) {
    if (ec) return;
    if (auto s = weak.lock()) s->on_idle_timer();
  });
}

void C2SSession::on_idle_timer() {
  if (closed_ || closing_) return;
  const auto now = std::chrono::steady_clock::now();
  const auto idle = std::chrono::seconds(core_.config().limits.client_idle_seconds);
  if (now - last_read_ < idle) {
    watch_idle(last_read_ + idle);  // the client spoke since the timer was set
    return;
  }
  if (!idle_probe_sent_) {
    idle_probe_sent_ = true;
    if (sm_enabled_) {
      write_raw("<r xmlns='urn:xmpp:sm:3'/>");
    } else {
      xml::Element ping("iq", std::string(ns::client));
      ping.set_attr("type", "get");
      ping.set_attr("id", "idle-probe");
      ping.set_attr("from", stream_host_);
      ping.set_attr("to", jid_.str());
      ping.add_child("ping", "urn:xmpp:ping");
      write_raw(xml::serialize(ping, ns::client));
    }
    watch_idle(now + std::chrono::seconds(core_.config().limits.idle_ping_timeout_seconds));
    return;
  }
  // Silent through the probe: the connection is dead though TCP has not
  // said so. Dropped like any lost connection, so a resumable session
  // hibernates and keeps what the client has not acknowledged.
  spdlog::info("c2s {}: no answer to the idle probe, dropping the connection", jid_.str());
  boost::system::error_code ignored;
  transport_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  transport_.socket().cancel(ignored);
}

void C2SSession::cleanup() {
  options_.admission = {};  // the connection is over
  if (counted_authenticated_) {
    counted_authenticated_ = false;
    core_.metrics().authenticated_connections[listener_index()].dec();
  }
  idle_timer_.cancel();
  if (cleaned_up_ || transplanted_ || (hibernated_ && !closing_)) return;
  if (bound_ && sm_resumable_ && !closing_) {
    // The connection dropped without a closing handshake: keep the session
    // for XEP-0198 resumption.
    hibernate();
    return;
  }
  cleaned_up_ = true;
  hibernated_ = false;
  hibernation_timer_.cancel();
  if (!sm_id_.empty() && options_.resumable) options_.resumable->remove(sm_id_, this);
  if (bound_) {
    SessionClosed event{*this};
    host_->hooks().run(event);
    core_.router().unbind(*this);
    // What the client never acknowledged was not delivered (XEP-0198 §... the
    // server treats it as undelivered): other resources or offline storage.
    // Copies (carbons, archive results) were delivered elsewhere already.
    for (SentStanza& sent : sm_out_.take()) {
      if (sent.element().name() != "message") continue;
      xml::Element stanza = std::move(sent).tree(jid_);
      bool copy = false;
      for (const xml::Element* c : stanza.element_children())
        if (c->xmlns() == "urn:xmpp:carbons:2" || c->xmlns() == "urn:xmpp:mam:2") copy = true;
      if (!copy) core_.router().redeliver(std::move(stanza));
    }
  }
}

// --- Stream management (XEP-0198) ---

namespace {

xml::Element sm_failed(std::string condition, std::optional<uint64_t> h = std::nullopt) {
  xml::Element failed("failed", std::string(ns::sm));
  if (h) failed.set_attr("h", std::to_string(static_cast<uint32_t>(*h)));
  failed.add_child(std::move(condition), std::string(ns::stanza_errors));
  return failed;
}

std::optional<uint32_t> parse_h(const std::string& text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// Releases its hold on an inbound stanza from whatever thread drops it.
// Not copyable: a copy's destructor would release the hold early.
class InboundHold {
 public:
  InboundHold(std::shared_ptr<SmInbound> inbound, uint64_t seq, std::function<void()> caught_up)
      : inbound_(std::move(inbound)), seq_(seq), caught_up_(std::move(caught_up)) {}
  InboundHold(const InboundHold&) = delete;
  InboundHold& operator=(const InboundHold&) = delete;
  ~InboundHold() {
    if (inbound_->release(seq_)) caught_up_();
  }

 private:
  std::shared_ptr<SmInbound> inbound_;
  uint64_t seq_;
  std::function<void()> caught_up_;  // sends the owed <a/> on the session's thread
};

}  // namespace

DeliveryHold C2SSession::hold_delivery() {
  std::shared_ptr<void> ticket = core_.deliveries().ticket();
  if (!sm_enabled_ || sm_current_seq_ == 0) return DeliveryHold(nullptr, std::move(ticket));
  auto* io = executor_.target<asio::io_context::executor_type>();
  if (!io || !io->running_in_this_thread()) return DeliveryHold(nullptr, std::move(ticket));
  sm_in_->hold(sm_current_seq_);
  std::weak_ptr<C2SSession> weak = std::static_pointer_cast<C2SSession>(shared_from_this());
  return DeliveryHold(std::make_shared<InboundHold>(sm_in_, sm_current_seq_,
                                                    [weak, ex = executor_] {
                                                      if (auto s = weak.lock())
                                                        asio::post(ex, [s] { s->send_ack(); });
                                                    }),
                      std::move(ticket));
}

void C2SSession::send_ack() {
  if (!sm_enabled_ || closed_ || closing_) return;
  const uint64_t h = sm_in_->ack_value();
  write_raw("<a xmlns='urn:xmpp:sm:3' h='" + std::to_string(static_cast<uint32_t>(h)) + "'/>");
}

bool C2SSession::sm_queue_full() {
  if (sm_out_.size() <= static_cast<size_t>(core_.config().limits.sm_max_unacked_stanzas))
    return false;
  spdlog::info("c2s {}: {} stanzas unacknowledged, ending the session", jid_.str(), sm_out_.size());
  if (hibernated_)
    end_hibernation();
  else
    close(StreamErrorCondition::PolicyViolation, "too many unacknowledged stanzas");
  return true;
}

asio::awaitable<void> C2SSession::on_sm(xml::Element el) {
  const std::string& name = el.name();
  if (name == "enable") {
    sm_enable(el);
  } else if (name == "resume") {
    co_await sm_resume(el);
  } else if (name == "r") {
    if (sm_enabled_)
      send_ack();
    else
      write_raw(xml::serialize(sm_failed("unexpected-request")));
  } else if (name == "a") {
    if (!sm_enabled_) {
      write_raw(xml::serialize(sm_failed("unexpected-request")));
      co_return;
    }
    const std::optional<uint32_t> h = parse_h(el.attr_or("h"));
    if (!h) {
      close(StreamErrorCondition::UndefinedCondition, "h must be an unsigned 32-bit integer");
      co_return;
    }
    if (!sm_out_.acknowledge(*h)) {
      // XEP-0198 §4: acknowledging more than was sent ends the stream.
      xml::Element too_high("handled-count-too-high", std::string(ns::sm));
      too_high.set_attr("h", std::to_string(*h));
      too_high.set_attr("send-count", std::to_string(sm_out_.sent()));
      close_with(StreamErrorCondition::UndefinedCondition, "h is higher than the count sent",
                 std::move(too_high));
      co_return;
    }
    sm_ack_requested_ = false;
  } else {
    close(StreamErrorCondition::UnsupportedStanzaType);
  }
}

void C2SSession::sm_enable(const xml::Element& el) {
  if (!bound_ || sm_enabled_) {
    write_raw(xml::serialize(sm_failed("unexpected-request")));
    return;
  }
  sm_enabled_ = true;
  xml::Element enabled("enabled", std::string(ns::sm));
  const std::string resume = el.attr_or("resume");
  const int64_t limit = core_.config().limits.sm_resume_timeout_seconds;
  if ((resume == "true" || resume == "1") && limit > 0 && options_.resumable) {
    int64_t seconds = limit;
    // The client may ask for a shorter window (its `max`), never a longer one.
    if (auto wanted = parse_h(el.attr_or("max")); wanted && *wanted > 0 && *wanted < seconds)
      seconds = *wanted;
    sm_resumable_ = true;
    sm_resume_seconds_ = seconds;
    sm_id_ = random_id(24);
    options_.resumable->add(sm_id_, std::static_pointer_cast<C2SSession>(shared_from_this()));
    enabled.set_attr("id", sm_id_);
    enabled.set_attr("resume", "true");
    enabled.set_attr("max", std::to_string(seconds));
  }
  write_raw(xml::serialize(enabled));
}

asio::awaitable<void> C2SSession::sm_resume(const xml::Element& el) {
  if (bound_ || sm_enabled_ || !options_.resumable) {
    write_raw(xml::serialize(sm_failed("unexpected-request")));
    co_return;
  }
  const std::optional<uint32_t> h = parse_h(el.attr_or("h"));
  if (!h) {
    write_raw(xml::serialize(sm_failed("bad-request")));
    co_return;
  }
  std::shared_ptr<C2SSession> old = options_.resumable->find(el.attr_or("previd"));
  // Only the same account may resume a session; anyone else learns nothing.
  if (!old || old.get() == this || old->username_ != username_ ||
      old->stream_host_ != stream_host_) {
    write_raw(xml::serialize(sm_failed("item-not-found")));
    co_return;
  }
  auto self = std::static_pointer_cast<C2SSession>(shared_from_this());
  resuming_ = true;
  // The old session hands its state over on its own thread.
  std::optional<HandOver> state = co_await asio::co_spawn(
      old->executor(),
      [&]() -> asio::awaitable<std::optional<HandOver>> { co_return old->hand_over(self); },
      use_awaitable);
  if (!state) {
    resuming_ = false;
    write_raw(xml::serialize(sm_failed("item-not-found")));
    co_return;
  }
  bound_ = true;
  sm_enabled_ = sm_resumable_ = true;
  sm_resume_seconds_ = old->sm_resume_seconds_;
  sm_id_ = old->sm_id_;
  sm_out_ = std::move(state->outbox);
  sm_in_->restart_at(state->handled);
  options_.resumable->add(sm_id_, self);
  spdlog::info("c2s {} {}: session resumed", remote_address_, jid_.str());
  if (!sm_out_.acknowledge(*h)) {
    resuming_ = false;
    xml::Element too_high("handled-count-too-high", std::string(ns::sm));
    too_high.set_attr("h", std::to_string(*h));
    too_high.set_attr("send-count", std::to_string(sm_out_.sent()));
    close_with(StreamErrorCondition::UndefinedCondition, "h is higher than the count sent",
               std::move(too_high));
    co_return;
  }
  xml::Element resumed("resumed", std::string(ns::sm));
  resumed.set_attr("h", std::to_string(static_cast<uint32_t>(state->handled)));
  resumed.set_attr("previd", sm_id_);
  write_raw(xml::serialize(resumed));
  // Everything the client did not acknowledge, again, in order.
  for (const SentStanza& stanza : sm_out_.unacked()) {
    count_out(stanza.element());
    write_raw(stanza.bytes(jid_.str()));
  }
  resuming_ = false;
  auto held = std::exchange(held_while_resuming_, {});
  for (auto& [stanza, hold] : held) enqueue(std::move(stanza), std::move(hold));
  SessionResumed event{*this};
  host_->hooks().run(event);
  closed_for_shutdown();
}

std::optional<C2SSession::HandOver> C2SSession::hand_over(
    const std::shared_ptr<C2SSession>& successor) {
  if (!bound_ || cleaned_up_ || transplanted_ || !sm_resumable_) return std::nullopt;
  transplanted_ = true;
  successor_ = successor;
  hibernation_timer_.cancel();
  successor->adopt_state_of(*this);
  if (!core_.router().replace(*this, successor)) {
    transplanted_ = false;
    successor_.reset();
    return std::nullopt;
  }
  HandOver state{std::move(sm_out_), sm_in_->handled()};
  if (!closed_) {
    // The client says this connection is dead, though we had not noticed.
    closed_ = true;
    options_.admission = {};
    transport_.close();
  }
  hibernated_ = false;
  return state;
}

void C2SSession::hibernate() {
  options_.admission = {};
  hibernated_ = true;
  closed_ = true;
  out_.clear();
  out_holds_.clear();
  transport_.close();  // a hibernated session keeps no TLS state either
  core_.router().set_hibernated(*this, true);
  spdlog::info("c2s {}: connection lost, waiting {} s for resumption ({} unacknowledged)",
               jid_.str(), sm_resume_seconds_, sm_out_.size());
  hibernation_timer_.expires_after(std::chrono::seconds(sm_resume_seconds_));
  hibernation_timer_.async_wait([self = std::static_pointer_cast<C2SSession>(shared_from_this())](
                                    boost::system::error_code e) {
    if (!e) self->end_hibernation();
  });
}

void C2SSession::end_hibernation() {
  if (!hibernated_ || transplanted_) return;
  spdlog::info("c2s {}: resumption window over", jid_.str());
  closing_ = true;
  cleanup();
}

}  // namespace parley

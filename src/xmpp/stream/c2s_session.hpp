#pragma once
// A client-to-server stream (RFC 6120): STARTTLS or direct TLS (XEP-0368),
// SASL, resource binding, then stanzas to the router. The session runs as
// coroutines on one io_context thread: a read loop and, while there is output,
// a write loop.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "xmpp/core.hpp"
#include "xmpp/sasl/scram.hpp"
#include "xmpp/session.hpp"
#include "xmpp/stream/auth_throttle.hpp"
#include "xmpp/stream/connection_admission.hpp"
#include "xmpp/stream/stream_management.hpp"
#include "xmpp/stream/transport.hpp"
#include "xmpp/xml/stream_parser.hpp"

namespace parley {

struct C2SOptions {
  bool direct_tls = false;
  std::shared_ptr<boost::asio::ssl::context> tls;
  AuthThrottle* throttle = nullptr;
  SmRegistry* resumable = nullptr;  // shared by every listener, so any can resume
  // This connection's slot in the per-address limits; released when the
  // socket closes (a hibernated session holds none).
  ConnectionAdmission::Ticket admission;
};

class C2SSession final : public Session {
 public:
  C2SSession(boost::asio::ip::tcp::socket socket, ServerCore& core, C2SOptions options);
  ~C2SSession() override;

  void start();
  using Session::send;
  void send(xml::Element stanza, DeliveryHold hold) override;
  void send_shared(std::shared_ptr<const SharedStanza> stanza, DeliveryHold hold) override;
  void close(StreamErrorCondition condition, std::string text = {}) override;
  boost::asio::any_io_executor executor() override { return executor_; }
  DeliveryHold hold_delivery() override;

 private:
  struct OpenEvent {
    xml::StreamHeader header;
  };
  struct CloseEvent {};
  using Event = std::variant<OpenEvent, xml::Element, CloseEvent>;

  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  boost::asio::awaitable<void> process(Event event);
  boost::asio::awaitable<void> on_stream_open(const xml::StreamHeader& header);
  boost::asio::awaitable<void> on_element(xml::Element el);
  boost::asio::awaitable<void> on_sasl(xml::Element el);
  boost::asio::awaitable<void> sasl_succeeded(std::string additional_data);
  void sasl_failed(sasl::Failure failure, std::string text = {});
  void on_bind(const xml::Element& iq);
  void on_stanza(xml::Element stanza);
  void handle_stanza(xml::Element stanza);
  // Stream management (XEP-0198)
  struct HandOver {
    SmOutbox outbox;
    uint64_t handled = 0;
  };
  boost::asio::awaitable<void> on_sm(xml::Element el);
  void sm_enable(const xml::Element& el);
  boost::asio::awaitable<void> sm_resume(const xml::Element& el);
  std::optional<HandOver> hand_over(const std::shared_ptr<C2SSession>& successor);
  void send_ack();
  void hibernate();
  void end_hibernation();
  bool sm_queue_full();
  void close_with(StreamErrorCondition condition, std::string text,
                  std::optional<xml::Element> app_error);
  void start_tls();
  void new_parser(bool continue_stream = false);
  void send_features();
  bool mechanism_offered(const std::string& mechanism);
  void write_raw(std::string_view data);
  void count_out(const xml::Element& stanza);
  size_t listener_index() const { return options_.direct_tls ? 1 : 0; }
  void enqueue(xml::Element stanza, DeliveryHold hold = {});
  void enqueue_shared(std::shared_ptr<const SharedStanza> stanza, DeliveryHold hold);
  // Runs `work(self)` now when called on this session's thread, else posts it
  // there: send() may be called from any thread, enqueue() may not.
  template <typename Work>
  void on_own_thread(Work work);
  void finish_close();
  void cleanup();
  bool closed_for_shutdown();
  xml::ParserLimits current_limits() const;

  ServerCore& core_;
  C2SOptions options_;
  boost::asio::any_io_executor executor_;
  Transport transport_;
  boost::asio::steady_timer deadline_;
  // Dead-connection detection once authenticated: after limits.client_idle_seconds
  // without a byte from the client, a probe (<r/> under XEP-0198, else a
  // XEP-0199 ping); no byte within limits.idle_ping_timeout_seconds after it
  // and the connection counts as dropped (a resumable session hibernates).
  boost::asio::steady_timer idle_timer_;
  // Read shaping (limits.client_bytes_per_second / client_burst_bytes).
  boost::asio::awaitable<void> shape_reading(size_t bytes);
  double read_tokens_ = 0;
  std::chrono::steady_clock::time_point read_tokens_refilled_{};
  std::chrono::steady_clock::time_point last_read_;
  bool idle_probe_sent_ = false;
  void watch_idle(std::chrono::steady_clock::time_point at);
  void on_idle_timer();
  std::unique_ptr<xml::StreamParser> parser_;
  // A list, not a deque: an empty deque still holds a 512-byte block, and
  // the queue is empty whenever the session is idle.
  std::list<Event> events_;

  // Stream state
  bool tls_active_ = false;
  bool header_sent_ = false;
  bool stream_open_ = false;
  bool authenticated_ = false;
  bool bound_ = false;
  bool restart_pending_ = false;  // new parser after the current element
  bool starttls_pending_ = false;
  bool priming_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool cleaned_up_ = false;
  std::string stream_host_;  // the host this stream was opened to
  std::string username_;     // authenticated localpart
  int auth_failures_ = 0;

  // SASL in progress
  std::string mechanism_;
  std::string sasl_attempt_;            // the mechanism of the last <auth/>, for the metrics
  bool counted_authenticated_ = false;  // in metrics().authenticated_connections
  std::optional<sasl::ScramServer> scram_;
  // This TLS session's channel bindings, computed once: the features and
  // each SCRAM attempt need them until authentication, and never after.
  std::optional<std::vector<sasl::ChannelBinding>> channel_bindings_;
  const std::vector<sasl::ChannelBinding>& channel_bindings();

  // Stream management (XEP-0198)
  bool sm_enabled_ = false;
  bool sm_resumable_ = false;
  bool sm_ack_requested_ = false;  // our <r/> awaits its <a/>
  uint64_t sm_current_seq_ = 0;    // the inbound stanza being processed, 0 if none
  int64_t sm_resume_seconds_ = 0;
  std::string sm_id_;
  SmOutbox sm_out_;
  std::shared_ptr<SmInbound> sm_in_ = std::make_shared<SmInbound>();
  bool hibernated_ = false;    // connection gone, waiting for resumption
  bool transplanted_ = false;  // resumed by successor_; forwards what still arrives
  bool resuming_ = false;      // holds output until <resumed/> and the replay are out
  std::vector<std::pair<xml::Element, DeliveryHold>> held_while_resuming_;
  std::shared_ptr<C2SSession> successor_;
  boost::asio::steady_timer hibernation_timer_;

  // Output
  std::string out_;
  std::vector<DeliveryHold> out_holds_;  // released once out_ is written
  bool writing_ = false;
};

}  // namespace parley

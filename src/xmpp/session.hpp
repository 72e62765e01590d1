#pragma once
// What modules see of a client session. A session lives on one I/O thread for
// its whole life; everything but send() and the read-only identity must be
// called on that thread (executor()).
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <typeindex>
#include <unordered_map>

#include "xmpp/in_flight.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/shared_stanza.hpp"
#include "xmpp/xml/element.hpp"

namespace parley {

class Host;

// RFC 6120 §4.9.3 stream error conditions the server sends.
enum class StreamErrorCondition {
  BadFormat,
  Conflict,
  ConnectionTimeout,
  HostUnknown,
  ImproperAddressing,
  InternalServerError,
  InvalidFrom,
  InvalidNamespace,
  InvalidXml,
  NotAuthorized,
  NotWellFormed,
  PolicyViolation,
  ResourceConstraint,
  RestrictedXml,
  SystemShutdown,
  UndefinedCondition,
  UnsupportedEncoding,
  UnsupportedStanzaType,
  UnsupportedVersion,
};
std::string_view to_string(StreamErrorCondition c);

// Keeps a client's XEP-0198 acknowledgement back until the work it covers is
// durable (DESIGN.md, "Durability rule"): whoever takes a stanza on towards a
// socket or the store keeps the hold until it is written or committed, then
// drops it. Copies share one hold (a message to three resources is acked once
// all three have it). An empty hold costs nothing.
// A hold may also carry a DeliveryTracker ticket, which counts the message as
// on its way until routed() (it reached a recipient's stream) or until the
// hold is gone (stored, bounced, dropped).
class DeliveryHold {
 public:
  DeliveryHold() = default;
  explicit DeliveryHold(std::shared_ptr<void> token, std::shared_ptr<void> ticket = nullptr)
      : token_(std::move(token)), ticket_(std::move(ticket)) {}
  void release() {
    token_.reset();
    ticket_.reset();
  }
  // The stanza is in a recipient's stream: it keeps the ack back until it is
  // written, but no longer counts as on its way.
  void routed() { ticket_.reset(); }
  explicit operator bool() const { return token_ != nullptr || ticket_ != nullptr; }

 private:
  std::shared_ptr<void> token_;   // the sender's ack
  std::shared_ptr<void> ticket_;  // DeliveryTracker
};

// Counts the messages on their way: a hold made by track() counts from the
// moment a session (or the router) takes the message until every copy has
// reached a recipient's stream or offline storage, or was bounced or
// dropped. A graceful shutdown waits for none before it stops the I/O
// threads, so that no message the server read is dropped with a continuation
// still queued for them. One atomic counter, no lock.
class DeliveryTracker {
 public:
  DeliveryTracker() = default;
  DeliveryTracker(const DeliveryTracker&) = delete;
  DeliveryTracker& operator=(const DeliveryTracker&) = delete;

  // A ticket for DeliveryHold: counts until its last copy is gone.
  std::shared_ptr<void> ticket() { return std::make_shared<InFlight>(count_); }
  // A hold with a ticket and no ack.
  DeliveryHold track() { return DeliveryHold(nullptr, ticket()); }
  size_t in_flight() const { return count_.load(); }

 private:
  std::atomic<size_t> count_{0};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  virtual ~Session() = default;

  uint64_t id() const { return id_; }
  // The bound full JID; empty until resource binding.
  const Jid& jid() const { return jid_; }
  Host& host() const { return *host_; }
  const std::string& remote_address() const { return remote_address_; }
  bool secure() const { return secure_; }

  // Thread-safe: queues the stanza for writing on the session's thread; the
  // hold is released once it is written to the socket (or dropped).
  virtual void send(xml::Element stanza, DeliveryHold hold) = 0;
  void send(xml::Element stanza) { send(std::move(stanza), DeliveryHold{}); }
  // Thread-safe: the same for a stanza shared by a fan-out, addressed to this
  // session's JID. A session that writes XML splices its address into the
  // shared bytes; this default copies the tree.
  virtual void send_shared(std::shared_ptr<const SharedStanza> stanza, DeliveryHold hold) {
    send(stanza->addressed_to(jid()), std::move(hold));
  }
  // A hold for a message this session routes: it counts in the server's
  // DeliveryTracker, and while the session processes a stanza of a client
  // with stream management (on its own thread) it keeps that stanza's ack
  // back. See DeliveryHold.
  virtual DeliveryHold hold_delivery() { return {}; }
  // Thread-safe: sends a stream error and closes the stream.
  virtual void close(StreamErrorCondition condition, std::string text = {}) = 0;
  virtual boost::asio::any_io_executor executor() = 0;

  // Presence state (RFC 6121 §4): set by the presence module on the session's
  // thread; mirrored into the router for delivery decisions from other threads.
  bool available() const { return available_; }
  int priority() const { return priority_; }
  bool interested() const { return interested_; }  // requested the roster
  bool initial_presence_sent() const { return initial_presence_sent_; }
  void set_interested(bool v) { interested_ = v; }
  void mark_initial_presence() { initial_presence_sent_ = true; }
  // Presence module: availability and priority of this resource (RFC 6121 §4.7.2.3).
  void set_presence_state(bool available, int priority) {
    available_ = available;
    priority_ = priority;
  }

  // Typed per-session module state: session.slot<CarbonsState>().
  template <class T>
  T& slot() {
    auto& p = slots_[std::type_index(typeid(T))];
    if (!p) p = std::make_shared<T>();
    return *static_cast<T*>(p.get());
  }
  template <class T>
  T* find_slot() {
    auto it = slots_.find(std::type_index(typeid(T)));
    return it == slots_.end() ? nullptr : static_cast<T*>(it->second.get());
  }

 protected:
  friend class Router;
  // Stream resumption (XEP-0198): the new connection's session takes over
  // the identity, presence state and module state of the one it resumes.
  void adopt_state_of(Session& old) {
    jid_ = old.jid_;
    host_ = old.host_;
    available_ = old.available_;
    priority_ = old.priority_;
    interested_ = old.interested_;
    initial_presence_sent_ = old.initial_presence_sent_;
    slots_ = std::move(old.slots_);
  }
  uint64_t id_ = 0;
  Jid jid_;
  Host* host_ = nullptr;
  std::string remote_address_;
  bool secure_ = false;
  bool available_ = false;
  int priority_ = 0;
  bool interested_ = false;
  bool initial_presence_sent_ = false;

 private:
  std::unordered_map<std::type_index, std::shared_ptr<void>> slots_;
};

using SessionPtr = std::shared_ptr<Session>;

}  // namespace parley

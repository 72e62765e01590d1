#pragma once
// Stream Management (XEP-0198) bookkeeping, independent of sockets: the queue
// of stanzas sent but not yet acknowledged, the count of stanzas received and
// handled, and the table of sessions that may be resumed.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "xmpp/shared_stanza.hpp"
#include "xmpp/xml/element.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley {

class C2SSession;

// A stanza written to the client: its own tree, or a share of a fan-out's,
// which is addressed to the session (SharedStanza has no 'to').
class SentStanza {
 public:
  SentStanza(xml::Element own) : own_(std::move(own)) {}
  SentStanza(std::shared_ptr<const SharedStanza> shared) : shared_(std::move(shared)) {}
  // The tree as sent, without 'to' when shared.
  const xml::Element& element() const { return shared_ ? shared_->element() : own_; }
  // The tree addressed to `to` (the session's JID) when it was shared.
  xml::Element tree(const Jid& to) && {
    return shared_ ? shared_->addressed_to(to) : std::move(own_);
  }
  // Its bytes on a c2s stream, addressed to `to` when it was shared.
  std::string bytes(std::string_view to) const {
    return shared_ ? shared_->bytes_to(to) : xml::serialize(own_, "jabber:client");
  }

 private:
  xml::Element own_;
  std::shared_ptr<const SharedStanza> shared_;
};

// Stanzas sent to the client and not yet acknowledged. Counts are 32-bit and
// wrap (XEP-0198 §4: h is mod 2^32).
class SmOutbox {
 public:
  SmOutbox() = default;
  // Counting continues from `already_sent`, all of it acknowledged.
  explicit SmOutbox(uint32_t already_sent) : sent_(already_sent), acked_(already_sent) {}
  void push(SentStanza stanza) {
    if (!queue_) queue_ = std::make_unique<std::deque<SentStanza>>();
    queue_->push_back(std::move(stanza));
    ++sent_;
  }
  // Applies the client's <a h='…'/>. False if h acknowledges more than was
  // sent (the caller ends the stream with <undefined-condition/>).
  bool acknowledge(uint32_t h) {
    const uint32_t newly = h - acked_;
    if (newly > size()) return false;
    if (newly) queue_->erase(queue_->begin(), queue_->begin() + newly);
    acked_ = h;
    return true;
  }
  uint32_t sent() const { return sent_; }
  uint32_t acked() const { return acked_; }
  size_t size() const { return queue_ ? queue_->size() : 0; }
  bool empty() const { return size() == 0; }
  const std::deque<SentStanza>& unacked() const {
    static const std::deque<SentStanza> none;
    return queue_ ? *queue_ : none;
  }
  std::deque<SentStanza> take() {
    acked_ = sent_;
    if (!queue_) return {};
    std::deque<SentStanza> out = std::move(*queue_);
    queue_.reset();
    return out;
  }

 private:
  // Allocated at the first stanza sent with stream management on: even an
  // empty std::deque holds a 512-byte block, and most sessions never use it.
  std::unique_ptr<std::deque<SentStanza>> queue_;
  uint32_t sent_ = 0;   // stanzas sent since <enable/>
  uint32_t acked_ = 0;  // the client's last h
};

// Stanzas received from the client. A stanza counts as handled (and goes into
// the h the server reports) only once every hold taken on it is released, that
// is once it was written to its recipients or committed to storage. Holds are
// released from any thread, so this one is synchronised (per session).
class SmInbound {
 public:
  // A new stanza arrived; returns its sequence number, held once until the
  // session finished processing it.
  uint64_t received() {
    std::lock_guard lock(mutex_);
    pending_[++received_] = 1;
    return received_;
  }
  void hold(uint64_t seq) {
    std::lock_guard lock(mutex_);
    ++pending_[seq];
  }
  // True if this release caught up with everything received while an ack is
  // owed (the session then sends an unsolicited <a/>).
  bool release(uint64_t seq) {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(seq);
    if (it != pending_.end() && --it->second == 0) pending_.erase(it);
    if (owe_ack_ && pending_.empty()) {
      owe_ack_ = false;
      return true;
    }
    return false;
  }
  // The h to report now; remembers to report again if some are still pending.
  uint64_t ack_value() {
    std::lock_guard lock(mutex_);
    owe_ack_ = !pending_.empty();
    return handled_locked();
  }
  uint64_t handled() {
    std::lock_guard lock(mutex_);
    return handled_locked();
  }
  // A resumed stream continues the count of the one it replaces.
  void restart_at(uint64_t handled) {
    std::lock_guard lock(mutex_);
    received_ = handled;
    pending_.clear();
    owe_ack_ = false;
  }

 private:
  // Everything before the oldest stanza still pending.
  uint64_t handled_locked() const {
    return pending_.empty() ? received_ : pending_.begin()->first - 1;
  }
  std::mutex mutex_;
  uint64_t received_ = 0;
  std::map<uint64_t, int> pending_;
  bool owe_ack_ = false;
};

// Resumable sessions by their SM-ID. Only used when a stream enables SM or
// resumes, never on the message path.
class SmRegistry {
 public:
  void add(const std::string& id, std::weak_ptr<C2SSession> session) {
    std::lock_guard lock(mutex_);
    sessions_[id] = std::move(session);
  }
  void remove(const std::string& id, const C2SSession* session) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    auto current = it->second.lock();
    if (!current || current.get() == session) sessions_.erase(it);
  }
  std::shared_ptr<C2SSession> find(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.lock();
  }
  size_t size() {
    std::lock_guard lock(mutex_);
    return sessions_.size();
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<C2SSession>> sessions_;
};

}  // namespace parley

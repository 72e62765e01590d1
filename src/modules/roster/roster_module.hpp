#pragma once
// The roster module (RFC 6121 §2 and §3, XEP-0237): roster get/set with
// versioning and pushes (module.cpp), and the presence subscription state
// machine with pre-approval and stored pending requests (subscriptions.cpp).
// Private to this folder: other modules read rosters through RosterStore.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "modules/roster/roster_xml.hpp"
#include "modules/roster/subscription.hpp"
#include "storage/store.hpp"
#include "xmpp/events.hpp"
#include "xmpp/module.hpp"

namespace parley::roster {

inline storage::AccountKey key_of(const Jid& bare) { return {bare.domain(), bare.local()}; }

class RosterModule final : public Module {
 public:
  static ModuleInfo info();
  static void declare_options(config::OptionSchema& schema);
  void start(ModuleContext& ctx) override;

 private:
  // module.cpp: roster management
  boost::asio::awaitable<IqResult> roster_get(IqRequest request);
  boost::asio::awaitable<IqResult> roster_set(IqRequest request);
  // Sends <iq type='set'> with `item` to every interested resource of `owner`.
  // Thread-safe; called in the owner's storage lane right after the write, so
  // pushes reach each resource in version order.
  void push(const Jid& owner, const xml::Element& item, uint64_t version);
  // The owner's available resources send their last presence to `contact`
  // (the contact just gained a subscription, §3.1.5).
  void send_presence(const Jid& owner, const Jid& contact);
  // ... or 'unavailable' from each available resource (it lost it, §3.2.2).
  void send_unavailable(const Jid& owner, const Jid& contact);

  // subscriptions.cpp: §3
  Flow on_outbound(OutboundPresence& event);
  Flow on_inbound(PresenceToBare& event);
  boost::asio::awaitable<void> process_outbound(Jid owner, Jid contact, SubType type,
                                                xml::Element stanza);
  boost::asio::awaitable<void> process_inbound(Jid owner, Jid contact, SubType type,
                                               xml::Element stanza);
  boost::asio::awaitable<void> redeliver_pending(SessionPtr session);

  struct Applied {
    Outcome outcome;
    std::optional<storage::RosterItem> item;  // the stored item after the change
    uint64_t version = 0;
    bool account_exists = true;
  };
  // Blocking (pool): loads the state of `contact` in `owner`'s roster, runs
  // the state machine and stores the result.
  Applied apply(const Jid& owner, const Jid& contact, SubType type, bool outbound,
                const xml::Element& stanza);

  ModuleContext* ctx_ = nullptr;
  bool versioning_ = true;
  bool pre_approval_ = true;
  size_t max_items_ = 0;
  SetLimits limits_;
};

}  // namespace parley::roster

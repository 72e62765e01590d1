#pragma once
// The presence subscription state machine of RFC 6121 Appendix A, as pure
// functions: given the state of one roster entry and one subscription stanza,
// what the new state is and what the server must do. The module (module.cpp)
// loads the state, applies the outcome to the store and performs the effects.
#include <string_view>

#include "storage/store.hpp"

namespace parley::roster {

enum class SubType { Subscribe, Subscribed, Unsubscribe, Unsubscribed };
// nullopt-free parse: false if `type` is not one of the four subscription types.
bool parse_subtype(std::string_view type, SubType& out);
std::string_view to_string(SubType t);

// The state of one contact in one user's roster. `pending_in` lives in the
// pending-in store, the rest in the roster item (which may not exist).
struct SubState {
  bool exists = false;  // a roster item exists
  storage::Subscription sub = storage::Subscription::None;
  bool pending_out = false;  // ask='subscribe'
  bool pending_in = false;
  bool approved = false;  // pre-approved (RFC 6121 §3.4)
  friend bool operator==(const SubState&, const SubState&) = default;
};

struct Outcome {
  SubState next;
  bool item_changed = false;        // store the roster item (creating it) and push it
  bool pending_in_changed = false;  // add or remove the pending-in request
  // Outbound: route the stanza to the contact. Inbound: deliver it to the
  // user's available resources.
  bool forward = false;
  // Inbound subscribe from an already-approved contact: the server answers
  // 'subscribed' on the user's behalf (Appendix A.3.1).
  bool auto_subscribed = false;
  // Send the user's current presence (each available resource) to the
  // contact: the contact just gained a subscription to the user (§3.1.5).
  bool send_presence = false;
  // Send 'unavailable' from each available resource to the contact: the
  // contact just lost its subscription to the user (§3.2.2, §3.3.3).
  bool send_unavailable = false;
};

// A stanza the user sent to the contact (Appendix A.2).
Outcome outbound(SubType type, const SubState& state, bool pre_approval);
// A stanza the contact sent to the user (Appendix A.3).
Outcome inbound(SubType type, const SubState& state);

}  // namespace parley::roster

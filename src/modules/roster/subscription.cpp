#include "modules/roster/subscription.hpp"

namespace parley::roster {

using storage::Subscription;

namespace {

bool has_to(Subscription s) { return s == Subscription::To || s == Subscription::Both; }
bool has_from(Subscription s) { return s == Subscription::From || s == Subscription::Both; }

Subscription with_to(Subscription s, bool to) {
  const bool from = has_from(s);
  if (to) return from ? Subscription::Both : Subscription::To;
  return from ? Subscription::From : Subscription::None;
}
Subscription with_from(Subscription s, bool from) {
  const bool to = has_to(s);
  if (from) return to ? Subscription::Both : Subscription::From;
  return to ? Subscription::To : Subscription::None;
}

}  // namespace

bool parse_subtype(std::string_view type, SubType& out) {
  if (type == "subscribe") out = SubType::Subscribe;
  else if (type == "subscribed") out = SubType::Subscribed;
  else if (type == "unsubscribe") out = SubType::Unsubscribe;
  else if (type == "unsubscribed") out = SubType::Unsubscribed;
  else return false;
  return true;
}

std::string_view to_string(SubType t) {
  switch (t) {
    case SubType::Subscribe: return "subscribe";
    case SubType::Subscribed: return "subscribed";
    case SubType::Unsubscribe: return "unsubscribe";
    case SubType::Unsubscribed: return "unsubscribed";
  }
  return "subscribe";
}

Outcome outbound(SubType type, const SubState& s, bool pre_approval) {
  Outcome o;
  o.next = s;
  SubState& n = o.next;
  switch (type) {
    case SubType::Subscribe:
      // A.2.1: None -> None+PendingOut, From -> From+PendingOut; the request is
      // routed in every state (the contact's server answers duplicates itself).
      if (!has_to(s.sub) && !s.pending_out) {
        n.pending_out = true;
        o.item_changed = true;
      }
      o.forward = true;
      break;
    case SubType::Subscribed:
      // A.2.3: approving a pending request; without one it is a pre-approval
      // (§3.4) or nothing, and is never routed.
      if (has_from(s.sub)) break;
      if (s.pending_in) {
        n.sub = with_from(s.sub, true);
        n.pending_in = false;
        n.approved = false;
        o.item_changed = true;
        o.pending_in_changed = true;
        o.forward = true;
        o.send_presence = true;
      } else if (pre_approval && !s.approved) {
        n.approved = true;
        o.item_changed = true;
      }
      break;
    case SubType::Unsubscribe:
      // A.2.2: To -> None, Both -> From, PendingOut cleared; always routed.
      if (has_to(s.sub) || s.pending_out) {
        n.sub = with_to(s.sub, false);
        n.pending_out = false;
        o.item_changed = true;
      }
      o.forward = true;
      break;
    case SubType::Unsubscribed:
      // A.2.4: From -> None, Both -> To, a pending request is declined and a
      // pre-approval withdrawn; always routed.
      if (has_from(s.sub)) {
        n.sub = with_from(s.sub, false);
        o.item_changed = true;
        o.send_unavailable = true;
      }
      if (s.pending_in) {
        n.pending_in = false;
        o.pending_in_changed = true;
      }
      if (s.approved) {
        n.approved = false;
        o.item_changed = true;
      }
      o.forward = true;
      break;
  }
  // A change of the pending-in flag alone does not touch the roster item.
  if (o.item_changed) n.exists = true;
  return o;
}

Outcome inbound(SubType type, const SubState& s) {
  Outcome o;
  o.next = s;
  SubState& n = o.next;
  switch (type) {
    case SubType::Subscribe:
      // A.3.1
      if (has_from(s.sub)) {
        o.auto_subscribed = true;
        o.send_presence = true;
      } else if (s.approved) {
        n.sub = with_from(s.sub, true);
        n.approved = false;
        o.item_changed = true;
        o.auto_subscribed = true;
        o.send_presence = true;
      } else if (!s.pending_in) {
        n.pending_in = true;
        o.pending_in_changed = true;
        o.forward = true;
      }
      break;
    case SubType::Subscribed:
      // A.3.3: only an answer to our own pending request counts.
      if (s.pending_out && !has_to(s.sub)) {
        n.sub = with_to(s.sub, true);
        n.pending_out = false;
        o.item_changed = true;
        o.forward = true;
      }
      break;
    case SubType::Unsubscribe:
      // A.3.2: the contact cancels its subscription to the user (or withdraws
      // its request).
      if (s.pending_in) {
        n.pending_in = false;
        o.pending_in_changed = true;
        o.forward = true;
      }
      if (has_from(s.sub)) {
        n.sub = with_from(s.sub, false);
        o.item_changed = true;
        o.forward = true;
        o.send_unavailable = true;
      }
      break;
    case SubType::Unsubscribed:
      // A.3.4: the contact denies the user's request or cancels the user's
      // subscription.
      if (has_to(s.sub) || s.pending_out) {
        n.sub = with_to(s.sub, false);
        n.pending_out = false;
        o.item_changed = true;
        o.forward = true;
      }
      break;
  }
  // Inbound stanzas never create a roster item (only the pending-in store).
  if (!s.exists) o.item_changed = false;
  return o;
}

}  // namespace parley::roster

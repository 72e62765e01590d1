#include "modules/csi/csi_rules.hpp"

#include "modules/carbons/carbons_rules.hpp"
#include "xmpp/namespaces.hpp"

namespace parley::csi {

namespace {

constexpr std::string_view kChatStatesNs = "http://jabber.org/protocol/chatstates";

// A message whose only payload is a chat state (XEP-0085), with at most the
// bookkeeping that travels with it (thread, hints, ids, delay, a room's
// occupant-id).
bool chat_state_only(const xml::Element& message) {
  if (message.attr_or("type") == "error") return false;
  bool state = false;
  for (const xml::Element* child : message.element_children()) {
    if (child->xmlns() == kChatStatesNs) {
      state = true;
    } else if (!(child->is("thread", ns::client) || child->xmlns() == "urn:xmpp:hints" ||
                 child->xmlns() == "urn:xmpp:sid:0" || child->xmlns() == ns::delay ||
                 child->xmlns() == "urn:xmpp:occupant-id:0")) {
      return false;
    }
  }
  return state;
}

}  // namespace

Importance classify(const xml::Element& stanza, const Jid& owner) {
  if (stanza.name() == "presence") {
    const std::string type = stanza.attr_or("type");
    // Subscription requests and errors want the user's attention.
    return type.empty() || type == "unavailable" ? Importance::Presence : Importance::Urgent;
  }
  if (stanza.name() == "message") {
    const xml::Element* message = carbons::unwrap(stanza, owner);
    if (chat_state_only(message ? *message : stanza)) return Importance::Deferred;
  }
  return Importance::Urgent;
}

}  // namespace parley::csi

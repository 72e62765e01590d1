#include "modules/offline/offline_policy.hpp"

#include <string>

#include "xmpp/namespaces.hpp"

namespace parley::offline {

Decision classify(const xml::Element& message) {
  const std::string type = message.attr_or("type", "normal");
  if (type == "error" || type == "headline") return Decision::Drop;
  if (type == "groupchat") return Decision::Refuse;
  // Unknown types count as "normal" (RFC 6121 §5.2.2).
  // <no-permanent-store/> forbids archiving only: keeping a message until its
  // recipient connects is temporary storage, which only <no-store/> forbids
  // (XEP-0334 §4). Disappearing messages must still arrive.
  if (message.child("no-store", kHintsNs)) return Decision::Refuse;
  if (message.child("store", kHintsNs) || message.child("body", ns::client)) return Decision::Store;
  for (const xml::Element* child : message.element_children()) {
    if (child->xmlns() == kChatStatesNs || child->xmlns() == kHintsNs) continue;
    if (child->is("thread", ns::client)) continue;
    return Decision::Store;  // receipts, markers, OMEMO, invitations, ...
  }
  return Decision::Drop;
}

void stamp_delay(xml::Element& message, std::string_view from, std::string_view stamp) {
  std::erase_if(message.nodes(), [&](const xml::Node& n) {
    return n.element && n.element->is("delay", ns::delay) && n.element->attr_or("from") == from;
  });
  message.add_child("delay", std::string(ns::delay))
      .with_attr("from", std::string(from))
      .with_attr("stamp", std::string(stamp));
}

}  // namespace parley::offline

#include "modules/carbons/carbons_rules.hpp"

#include <array>
#include <string>

#include "xmpp/namespaces.hpp"

namespace parley::carbons {

namespace {

// Payloads used for instant messaging that make a 'normal' message eligible
// even without a body; clients send receipts and markers as 'normal' too.
constexpr std::array<std::string_view, 13> kImPayloads{
    "urn:xmpp:receipts",                      // XEP-0184
    "urn:xmpp:chat-markers:0",                // XEP-0333
    "http://jabber.org/protocol/chatstates",  // XEP-0085
    "urn:xmpp:message-correct:0",             // XEP-0308
    "urn:xmpp:message-retract:0",             // XEP-0424
    "urn:xmpp:message-retract:1",             // XEP-0424
    "urn:xmpp:fasten:0",                      // XEP-0422
    "urn:xmpp:reactions:0",                   // XEP-0444
    "urn:xmpp:jingle-message:0",              // XEP-0353
    "eu.siacs.conversations.axolotl",         // OMEMO (legacy)
    "urn:xmpp:omemo:2",                       // XEP-0384
    "urn:xmpp:openpgp:0",                     // XEP-0373
    "urn:xmpp:eme:0",                         // XEP-0380
};

bool is_carbons_ns(std::string_view ns) {
  return ns.starts_with("urn:xmpp:carbons:");
}

}  // namespace

bool eligible(const xml::Element& message) {
  if (message.name() != "message") return false;
  const std::string type = message.attr_or("type", "normal");
  if (type == "error" || type == "groupchat" || type == "headline") return false;
  if (message.child("x", kMucUserNs)) return false;
  if (type == "chat") return true;
  // 'normal' and unknown types (RFC 6121 §5.2.2).
  if (message.child("body", ns::client)) return true;
  for (const xml::Element* child : message.element_children())
    for (std::string_view ns : kImPayloads)
      if (child->xmlns() == ns) return true;
  return false;
}

bool opted_out(const xml::Element& message) {
  return message.child("private", kNs) || message.child("no-copy", kHintsNs);
}

void strip_private(xml::Element& message) {
  message.remove_children("private", kNs);
}

size_t strip_forged(xml::Element& message) {
  return static_cast<size_t>(std::erase_if(message.nodes(), [](const xml::Node& n) {
    return n.element && (n.element->name() == "received" || n.element->name() == "sent") &&
           is_carbons_ns(n.element->xmlns());
  }));
}

xml::Element wrap(Direction direction, const xml::Element& original, const Jid& owner,
                  const Jid& to) {
  xml::Element copy("message", std::string(ns::client));
  copy.set_attr("from", owner.bare_str());
  copy.set_attr("to", to.str());
  copy.set_attr("type", original.attr_or("type", "normal"));
  auto& container =
      copy.add_child(direction == Direction::Received ? "received" : "sent", std::string(kNs));
  auto& forwarded = container.add_child("forwarded", std::string(kForwardNs));
  xml::Element inner = original;
  inner.set_xmlns(std::string(ns::client));
  forwarded.add_child(std::move(inner));
  return copy;
}

const xml::Element* unwrap(const xml::Element& message, const Jid& owner) {
  if (message.name() != "message" || message.attr_or("from") != owner.bare_str()) return nullptr;
  const xml::Element* container = message.child("received", kNs);
  if (!container) container = message.child("sent", kNs);
  if (!container) return nullptr;
  const xml::Element* forwarded = container->child("forwarded", kForwardNs);
  return forwarded ? forwarded->child("message", ns::client) : nullptr;
}

}  // namespace parley::carbons

#pragma once
// Which messages Message Carbons (XEP-0280) copies, and how a copy looks: pure
// functions, no I/O, unit-tested in tests/unit/modules/carbons.
#include <string_view>

#include "xmpp/jid.hpp"
#include "xmpp/xml/element.hpp"

namespace parley::carbons {

inline constexpr std::string_view kNs = "urn:xmpp:carbons:2";
inline constexpr std::string_view kForwardNs = "urn:xmpp:forward:0";  // XEP-0297
inline constexpr std::string_view kHintsNs = "urn:xmpp:hints";        // XEP-0334
inline constexpr std::string_view kMucUserNs = "http://jabber.org/protocol/muc#user";

// XEP-0280 §6: chat messages, and normal messages with a body or an instant
// messaging payload (receipts, markers, chat states, corrections, retractions,
// reactions, call signalling, end-to-end encryption). Never errors,
// groupchat, headlines, or anything from or to a MUC (private messages carry
// a muc#user element).
bool eligible(const xml::Element& message);

// The sender asked for no copies: <private/> (XEP-0280 §7) or the
// <no-copy/> hint (XEP-0334).
bool opted_out(const xml::Element& message);

// Removes <private/> (the receiving server SHOULD, XEP-0280 §7).
void strip_private(xml::Element& message);

// Removes <received/> and <sent/> of any carbons namespace. Genuine copies are
// written to the user's sessions directly and never pass the router, so a
// routed message carrying one is forged. Returns how many were removed.
size_t strip_forged(xml::Element& message);

// The copy for `to` (a full JID of `owner`): a message from the owner's bare
// JID with <received/> or <sent/> around <forwarded/> around `original`.
enum class Direction { Received, Sent };
xml::Element wrap(Direction direction, const xml::Element& original, const Jid& owner,
                  const Jid& to);

// The forwarded message inside a genuine copy addressed to `owner`, or null
// (used by client state indication to judge a copy by what it carries).
const xml::Element* unwrap(const xml::Element& message, const Jid& owner);

}  // namespace parley::carbons

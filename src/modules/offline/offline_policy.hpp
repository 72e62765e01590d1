#pragma once
// What the offline module does with a message no resource could take: pure
// functions, no I/O, unit-tested in tests/unit/modules/offline.
#include <string_view>

#include "xmpp/xml/element.hpp"

namespace parley::offline {

inline constexpr std::string_view kHintsNs = "urn:xmpp:hints";  // XEP-0334
inline constexpr std::string_view kChatStatesNs =
    "http://jabber.org/protocol/chatstates";  // XEP-0085

enum class Decision {
  Store,   // keep it for the next session
  Refuse,  // do not keep it; the sender gets <service-unavailable/> (RFC 6121 §8.5.2.2.1)
  Drop,    // do not keep it and do not answer (a standalone chat state, XEP-0085 §5.5)
};

// RFC 6121 §8.5.2.2.1 with XEP-0160, XEP-0334 and XEP-0085:
//  - error, groupchat and headline messages are never stored (error and
//    headline are dropped, groupchat is refused); unknown types count as normal;
//  - a <no-store/> hint refuses storage; <no-permanent-store/> does not (it
//    forbids archiving, and offline storage is temporary);
//  - a <store/> hint, a <body/>, or any payload other than chat states and
//    hints (receipts, markers, encrypted payloads, ...) is stored;
//  - a message carrying only chat states (or nothing) is dropped silently.
Decision classify(const xml::Element& message);

// Adds <delay xmlns='urn:xmpp:delay' from='{from}' stamp='{stamp}'/> (XEP-0203)
// after removing any delay that claims to come from `from` (a client may not
// forge the server's stamp).
void stamp_delay(xml::Element& message, std::string_view from, std::string_view stamp);

}  // namespace parley::offline

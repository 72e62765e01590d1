#pragma once
// Small, pure pieces of the presence module, kept apart so that they can be
// tested without a server.
#include <set>
#include <string>

#include "xmpp/xml/element.hpp"

namespace parley::presence {

// RFC 6121 §4.7.2.3: an integer in -128..127; missing or invalid -> 0.
int parse_priority(const xml::Element& presence);

// Per-session state (a typed session slot; touched only on the session's
// thread): who got directed presence from this resource (§4.6), so that they
// get 'unavailable' when it goes away, and whether the session has ended.
struct DirectedPresence {
  std::set<std::string> recipients;  // JIDs as sent ('to' of the directed presence)
  bool closed = false;
};

}  // namespace parley::presence

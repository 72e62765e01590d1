#pragma once
// What client state indication (XEP-0352) may hold back while a client is
// inactive: pure functions, no I/O, unit-tested in tests/unit/modules/csi.
#include <string>
#include <string_view>

#include "xmpp/jid.hpp"
#include "xmpp/xml/element.hpp"

namespace parley::csi {

inline constexpr std::string_view kNs = "urn:xmpp:csi:0";

enum class Importance {
  Urgent,    // goes out now, after everything held back (bodies, calls, IQs, ...)
  Presence,  // held back; only the latest from each sender is kept
  Deferred,  // held back in order (chat states)
};

// `owner` is the session's account: a carbon copy (from the owner's bare
// JID) is judged by the message it carries. Anything not known to be
// unimportant is urgent.
Importance classify(const xml::Element& stanza, const Jid& owner);

}  // namespace parley::csi

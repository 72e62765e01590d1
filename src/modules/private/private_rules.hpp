#pragma once
// The request rules of XEP-0049, as pure functions (unit-tested).
#include <optional>
#include <string>
#include <string_view>

#include "xmpp/stanza.hpp"
#include "xmpp/xml/element.hpp"

namespace parley::private_xml {

inline constexpr std::string_view kNs = "jabber:iq:private";

// Checks a get or set <query/>: at least one child element, all children in
// one namespace, and that namespace not reserved (jabber:client, jabber:server,
// jabber:iq:private, or none). Violations -> <not-acceptable/> (XEP-0049 §2.3);
// children in more than one namespace -> <bad-request/>.
std::optional<StanzaError> check_query(const xml::Element& query);

// The storage key of a child: "{namespace}name".
std::string key_of(const xml::Element& child);

}  // namespace parley::private_xml

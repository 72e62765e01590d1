#pragma once
// jabber:iq:roster payloads (RFC 6121 §2): items to XML, roster sets from XML
// with the §2.3.3 checks.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "storage/store.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/stanza.hpp"
#include "xmpp/xml/element.hpp"

namespace parley::roster {

inline constexpr std::string_view kRosterNs = "jabber:iq:roster";
inline constexpr std::string_view kRosterVerNs = "urn:xmpp:features:rosterver";      // XEP-0237
inline constexpr std::string_view kPreApprovalNs = "urn:xmpp:features:pre-approval";  // RFC 6121 §3.4

std::string version_string(uint64_t version);

// <item jid= name= subscription= ask= approved=><group/>...</item>
xml::Element item_element(const storage::RosterItem& item);
// <item jid= subscription='remove'/>
xml::Element removed_item_element(const std::string& jid);
// <query xmlns='jabber:iq:roster' ver=...> with the given child
xml::Element query_element(uint64_t version);

struct SetLimits {
  size_t max_name_length = 1023;
  size_t max_group_length = 1023;
  size_t max_groups = 64;
};

// A validated roster set: either an update of one item or its removal.
struct RosterSet {
  Jid jid;  // bare
  bool remove = false;
  std::string name;
  std::vector<std::string> groups;
};

// Parses and checks a roster set's <query/> (RFC 6121 §2.3.3, §2.4.3, §2.5.3).
// `owner` is the user's bare JID.
std::variant<RosterSet, StanzaError> parse_set(const xml::Element& query, const Jid& owner,
                                               const SetLimits& limits);

}  // namespace parley::roster

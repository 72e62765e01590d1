#pragma once
// Extended Stanza Addressing (XEP-0033) as a multicast service: the pure part.
// Given a stanza sent to the service with an <addresses/> header, decide who
// gets a copy and what each copy looks like, or which error the sender gets.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xmpp/jid.hpp"
#include "xmpp/stanza.hpp"
#include "xmpp/xml/element.hpp"

namespace parley::multicast {

inline constexpr std::string_view kAddressNs = "http://jabber.org/protocol/address";

struct Policy {
  size_t max_recipients = 50;
  bool sender_is_local = true;
  // Whether a local sender may reach recipients on other servers.
  bool allow_remote = true;
  // Whether a domain is served here (a host or a service such as conference.<host>).
  std::function<bool(const std::string& domain)> is_local_domain;
};

struct Copy {
  Jid to;
  xml::Element stanza;  // 'to' set to the recipient, 'from' untouched
};

struct Plan {
  std::optional<StanzaError> error;  // set: bounce this to the sender, deliver nothing
  std::vector<Copy> copies;
};

// Whether `stanza` carries an address header at all (otherwise it is not for
// the multicast service).
bool has_addresses(const xml::Element& stanza);

// The copies to route for a stanza addressed to the multicast service (§5 of
// the XEP): every to/cc/bcc address not yet delivered, once per JID; all of
// them marked delivered='true' in every copy; bcc addresses removed except a
// recipient's own.
Plan plan(const xml::Element& stanza, const Policy& policy);

}  // namespace parley::multicast

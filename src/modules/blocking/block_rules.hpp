#pragma once
// Block list parsing and JID matching (XEP-0191 §3, with the XEP-0016 order):
// pure functions, no I/O, unit-tested in tests/unit/modules/blocking.
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "xmpp/jid.hpp"
#include "xmpp/stanza.hpp"
#include "xmpp/xml/element.hpp"

namespace parley::blocking {

inline constexpr std::string_view kNs = "urn:xmpp:blocking";
inline constexpr std::string_view kErrorsNs = "urn:xmpp:blocking:errors";
inline constexpr std::string_view kReportingNs = "urn:xmpp:reporting:1";  // XEP-0377

inline constexpr size_t kMaxReasonBytes = 256;
inline constexpr size_t kMaxReportTextBytes = 4096;

// A report (XEP-0377) filed with one blocked JID.
struct Report {
  std::string reported;
  std::string reason;
  std::string text;
};

struct Items {
  std::vector<std::string> jids;  // prepared, without duplicates, in request order
  std::vector<Report> reports;
};

// The <item/> children of <block/> or <unblock/>. An item without 'jid' or
// with an empty one is a bad-request, an unparsable JID jid-malformed; a
// report without a reason, or with an oversized reason or text, bad-request.
// Reports are only read from <block/> (`with_reports`).
std::variant<Items, StanzaError> parse_items(const xml::Element& command, bool with_reports);

// The block list keys that match `jid`, most specific first: the full JID,
// the bare JID, domain/resource (JIDs without a localpart only), the domain
// and each parent domain (a blocked domain covers its subdomains).
std::vector<std::string> match_keys(const Jid& jid);

// Whether a block list holding `items` blocks `jid`.
bool blocks(const std::set<std::string>& items, const Jid& jid);

// <block/> or <unblock/> with one <item jid=.../> per JID (pushes, results).
xml::Element command(std::string_view name, const std::vector<std::string>& jids);

// not-acceptable with <blocked xmlns='urn:xmpp:blocking:errors'/> (§3.3).
StanzaError blocked_error();

}  // namespace parley::blocking

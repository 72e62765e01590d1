#pragma once
// The XEP-0313 query protocol: the data form (with XEP-0431 full-text search),
// result set management (XEP-0059) and the result and <fin/> elements. Pure
// functions, no I/O.
#include <optional>
#include <string>
#include <variant>

#include "storage/store.hpp"
#include "xmpp/stanza.hpp"
#include "xmpp/xml/element.hpp"

namespace parley::mam {

struct PageLimits {
  size_t default_max = 50;
  size_t max = 250;
};

struct ParsedQuery {
  storage::ArchiveQuery query;
  std::string queryid;  // echoed in every <result/>
  bool flip = false;    // XEP-0313 flipped page: send newest first
};

// Parses <query xmlns='urn:xmpp:mam:2'> from an iq set. Errors: bad-request
// (malformed JID, date or number, wrong FORM_TYPE), feature-not-implemented
// (an unknown form field, RSM <index/>).
std::variant<ParsedQuery, StanzaError> parse_query(const xml::Element& query,
                                                   const PageLimits& limits);

// The form returned to <iq type='get'><query/></iq> (field discovery).
xml::Element query_form();

// <message from=owner to=requester><result queryid id><forwarded><delay/>
// original</forwarded></result></message>. nullopt if the stored stanza no
// longer parses.
std::optional<xml::Element> result_message(const storage::ArchivedMessage& m,
                                           const std::string& queryid, const std::string& owner,
                                           const std::string& requester);

// <fin xmlns='urn:xmpp:mam:2' complete?><set>first/last/count</set></fin>
xml::Element fin_element(const storage::ArchivePage& page);

}  // namespace parley::mam

#pragma once
// Parses one stored XML element (an offline message, a vCard, a private XML
// fragment) back into an Element. The text goes through the same restricted
// stream parser as network input, inside a jabber:client stream, so stored data
// obeys the same limits and refusals (no DTDs, entities, PIs or comments).
#include <optional>
#include <string_view>

#include "xmpp/xml/element.hpp"
#include "xmpp/xml/stream_parser.hpp"

namespace parley::xml {

// The single element in `xml`, or nullopt if the text is not exactly one
// well-formed element (nothing but whitespace around it) within `limits`.
// Unprefixed elements default to the jabber:client namespace.
std::optional<Element> parse_fragment(std::string_view xml, ParserLimits limits = {});

}  // namespace parley::xml

#include "xmpp/xml/fragment.hpp"

#include <utility>
#include <vector>

namespace parley::xml {

namespace {
constexpr std::string_view kOpen =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
constexpr std::string_view kClose = "</stream:stream>";
}  // namespace

std::optional<Element> parse_fragment(std::string_view xml, ParserLimits limits) {
  std::vector<Element> elements;
  bool closed = false;
  // The wrapper's own tag counts against the header limit, not the element's.
  if (limits.max_stanza_bytes < kOpen.size()) limits.max_stanza_bytes = kOpen.size();
  StreamParser parser(limits, StreamParser::Handler{
                                  [](const StreamHeader&) {},
                                  [&](Element&& el) { elements.push_back(std::move(el)); },
                                  [&] { closed = true; }});
  try {
    if (parser.feed(kOpen).error != ParseError::None) return std::nullopt;
    auto body = parser.feed(xml);
    // The stored text may not close our wrapper itself ("...</stream:stream><x/>").
    if (body.error != ParseError::None || body.stopped || closed) return std::nullopt;
    auto end = parser.feed(kClose);
    if (end.error != ParseError::None || !closed) return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (elements.size() != 1) return std::nullopt;
  return std::move(elements.front());
}

}  // namespace parley::xml

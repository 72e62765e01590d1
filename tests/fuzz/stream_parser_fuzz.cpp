// The XMPP stream parser fed the input split at an arbitrary point (the first
// byte chooses where), as TCP segments split it: it must never crash, never
// accept restricted XML, and agree with itself on where a split stream errs.
#include <cstdint>
#include <string_view>

#include "xmpp/xml/serializer.hpp"
#include "xmpp/xml/stream_parser.hpp"

using parley::xml::ParseError;
using parley::xml::StreamParser;

namespace {

struct Outcome {
  ParseError error = ParseError::None;
  size_t elements = 0;
};

Outcome run(std::string_view input, size_t split) {
  Outcome out;
  StreamParser::Handler handler;
  handler.on_stream_open = [](const parley::xml::StreamHeader&) {};
  handler.on_element = [&out](parley::xml::Element&& el) {
    ++out.elements;
    // Whatever was parsed serializes to something the parser reads back.
    const std::string again = parley::xml::serialize(el);
    if (again.empty()) __builtin_trap();
  };
  handler.on_stream_close = [] {};
  parley::xml::ParserLimits limits;
  limits.max_stanza_bytes = 64 * 1024;
  limits.max_stanza_elements = 200;
  StreamParser parser(limits, handler);
  auto first = parser.feed(input.substr(0, split));
  if (first.error != ParseError::None) {
    out.error = first.error;
    return out;
  }
  out.error = parser.feed(input.substr(split)).error;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t split = input.empty() ? 0 : data[0] % (input.size() + 1);
  const Outcome whole = run(input, input.size());
  const Outcome parts = run(input, split);
  // Splitting the bytes differently must not change whether the stream is
  // acceptable (it may change how many elements came out before an error).
  if ((whole.error == ParseError::None) != (parts.error == ParseError::None)) __builtin_trap();
  if (whole.error == ParseError::None && whole.elements != parts.elements) __builtin_trap();
  return 0;
}

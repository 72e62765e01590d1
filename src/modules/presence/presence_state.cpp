#include "modules/presence/presence_state.hpp"

#include <charconv>
#include <string_view>

#include "xmpp/namespaces.hpp"

namespace parley::presence {

int parse_priority(const xml::Element& presence) {
  const xml::Element* el = presence.child("priority", ns::client);
  if (!el) return 0;
  const std::string text = el->text();
  std::string_view v(text);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '\n' || v.front() == '\r'))
    v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\n' || v.back() == '\r'))
    v.remove_suffix(1);
  if (!v.empty() && v.front() == '+') {
    v.remove_prefix(1);
    if (!v.empty() && v.front() == '-') return 0;
  }
  int value = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) return 0;
  if (value < -128 || value > 127) return 0;
  return value;
}

}  // namespace parley::presence

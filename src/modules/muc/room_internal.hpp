#pragma once
// Small helpers shared by the room's source files (room*.cpp); not an API.
#include <string>
#include <vector>

#include "modules/muc/muc_ns.hpp"
#include "xmpp/xml/element.hpp"

namespace parley::muc::detail {

// Adds <status code/> elements to the stanza's muc#user <x/>.
inline void add_codes(xml::Element& stanza, const std::vector<int>& codes) {
  if (codes.empty()) return;
  xml::Element* x = stanza.child("x", kMucUser);
  if (!x) x = &stanza.add_child("x", std::string(kMucUser));
  for (int code : codes) x->add_child("status", std::string(kMucUser)).set_attr("code", std::to_string(code));
}

// Code points of a UTF-8 string (nickname limits).
inline size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// Removes what only the room may stamp: occupant-id, and stanza-ids by the room.
inline void remove_room_stamps(xml::Element& stanza, const std::string& room) {
  stanza.remove_children("occupant-id", kOccupantId);
  auto& nodes = stanza.nodes();
  std::erase_if(nodes, [&](const xml::Node& n) {
    return n.is_element() && n.element->is("stanza-id", kStanzaId) &&
           n.element->attr_or("by") == room;
  });
}

}  // namespace parley::muc::detail

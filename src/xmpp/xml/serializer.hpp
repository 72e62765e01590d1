#pragma once
// XML serialization. Always escapes text and attribute values; never emits
// anything that did not come from an Element, so no caller builds XML by hand.
#include <string>
#include <string_view>

#include "xmpp/xml/element.hpp"

namespace parley::xml {

// Serializes `el`. `parent_xmlns` is the default namespace in scope where the
// element is written (for stanzas on a c2s stream: "jabber:client"); the
// element gets an xmlns attribute only when its namespace differs.
std::string serialize(const Element& el, std::string_view parent_xmlns = {});
void serialize_to(std::string& out, const Element& el, std::string_view parent_xmlns = {});

// Escapes character data / attribute values (&, <, >, ", ').
void escape_to(std::string& out, std::string_view text);
std::string escape(std::string_view text);

}  // namespace parley::xml

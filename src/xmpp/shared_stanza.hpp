#pragma once
// A stanza prepared once for many recipients (a room's fan-out to its
// occupants): the element without 'to', serialized once, with the place where
// each recipient's ' to=…' goes. A session splices its own address into the
// cached bytes instead of copying and serializing the whole stanza again.
#include <string>
#include <string_view>

#include "xmpp/jid.hpp"
#include "xmpp/xml/element.hpp"

namespace parley {

class SharedStanza {
 public:
  // `stanza` must not have a 'to' attribute (std::invalid_argument, as is an
  // element the serializer refuses).
  explicit SharedStanza(xml::Element stanza);

  // The element as shared: no 'to'. Read-only: every recipient shares it.
  const xml::Element& element() const { return element_; }
  // Its own copy addressed to `to`, for the paths that need a tree.
  xml::Element addressed_to(const Jid& to) const;
  // The bytes of the stanza addressed to `to` on a c2s stream (jabber:client),
  // equal to xml::serialize(addressed_to(to), "jabber:client").
  std::string bytes_to(std::string_view to) const;
  size_t size() const { return bytes_.size(); }

 private:
  xml::Element element_;
  std::string bytes_;  // serialized without 'to'
  size_t split_ = 0;   // just after "<name": where " to='…'" goes
};

}  // namespace parley

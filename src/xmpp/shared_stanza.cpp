#include "xmpp/shared_stanza.hpp"

#include <stdexcept>

#include "xmpp/namespaces.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley {

SharedStanza::SharedStanza(xml::Element stanza) : element_(std::move(stanza)) {
  if (element_.has_attr("to")) throw std::invalid_argument("a shared stanza has no 'to'");
  bytes_ = xml::serialize(element_, ns::client);
  // A stanza in the stream's default namespace is written "<name" followed
  // by its attributes, '>' or "/>".
  split_ = 1 + element_.name().size();
  if (bytes_.size() <= split_ || bytes_.compare(1, element_.name().size(), element_.name()) != 0)
    throw std::invalid_argument("a shared stanza must be in the jabber:client namespace");
}

xml::Element SharedStanza::addressed_to(const Jid& to) const {
  xml::Element copy = element_;
  copy.set_attr("to", to.str());
  return copy;
}

std::string SharedStanza::bytes_to(std::string_view to) const {
  std::string out;
  out.reserve(bytes_.size() + to.size() + 6);
  out.append(bytes_, 0, split_);
  out += " to='";
  xml::escape_to(out, to);
  out += '\'';
  out.append(bytes_, split_);
  return out;
}

}  // namespace parley

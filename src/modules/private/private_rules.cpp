#include "modules/private/private_rules.hpp"

#include "xmpp/namespaces.hpp"

namespace parley::private_xml {

std::optional<StanzaError> check_query(const xml::Element& query) {
  const auto children = query.element_children();
  if (children.empty())
    return StanzaError::not_acceptable("the query needs a child element in its own namespace");
  const std::string& xmlns = children.front()->xmlns();
  if (xmlns.empty() || xmlns == ns::client || xmlns == ns::server || xmlns == kNs)
    return StanzaError::not_acceptable("the namespace '" + xmlns + "' is reserved");
  for (const xml::Element* child : children)
    if (child->xmlns() != xmlns)
      return StanzaError::bad_request("all elements of one request must share a namespace");
  return std::nullopt;
}

std::string key_of(const xml::Element& child) {
  return "{" + child.xmlns() + "}" + child.name();
}

}  // namespace parley::private_xml

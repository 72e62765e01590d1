#include "modules/disco/caps.hpp"

#include "xmpp/namespaces.hpp"

namespace parley::disco {

std::string caps_node_ver(std::string_view ver) {
  std::string out(kCapsNode);
  out += '#';
  out += ver;
  return out;
}

xml::Element caps_element(std::string_view ver) {
  xml::Element c("c", std::string(ns::caps));
  c.set_attr("hash", "sha-1");
  c.set_attr("node", std::string(kCapsNode));
  c.set_attr("ver", std::string(ver));
  return c;
}

}  // namespace parley::disco

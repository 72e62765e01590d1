#pragma once
// The server's XEP-0115 entity capabilities: the node URI, the node#ver string
// that disco#info must answer, and the <c/> stream feature (XEP-0115 §6.3).
#include <string>
#include <string_view>

#include "xmpp/xml/element.hpp"

namespace parley::disco {

inline constexpr std::string_view kCapsNode = "https://parley.im/caps";

// "https://parley.im/caps#<ver>"
std::string caps_node_ver(std::string_view ver);
// <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='...' ver='<ver>'/>
xml::Element caps_element(std::string_view ver);

}  // namespace parley::disco

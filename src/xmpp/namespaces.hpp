#pragma once
// XML namespaces used by the core. Modules keep their own next to their code.
#include <string_view>

namespace parley::ns {
inline constexpr std::string_view client = "jabber:client";
inline constexpr std::string_view server = "jabber:server";
inline constexpr std::string_view streams = "http://etherx.jabber.org/streams";
inline constexpr std::string_view stream_errors = "urn:ietf:params:xml:ns:xmpp-streams";
inline constexpr std::string_view stanza_errors = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr std::string_view tls = "urn:ietf:params:xml:ns:xmpp-tls";
inline constexpr std::string_view sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr std::string_view bind = "urn:ietf:params:xml:ns:xmpp-bind";
inline constexpr std::string_view session = "urn:ietf:params:xml:ns:xmpp-session";
inline constexpr std::string_view sasl_cb = "urn:xmpp:sasl-cb:0";              // XEP-0440
inline constexpr std::string_view stream_limits = "urn:xmpp:stream-limits:0";  // XEP-0478
inline constexpr std::string_view xmpp_errors = "urn:xmpp:errors";
inline constexpr std::string_view sm = "urn:xmpp:sm:3";      // XEP-0198
inline constexpr std::string_view delay = "urn:xmpp:delay";  // XEP-0203
inline constexpr std::string_view disco_info = "http://jabber.org/protocol/disco#info";
inline constexpr std::string_view disco_items = "http://jabber.org/protocol/disco#items";
inline constexpr std::string_view caps = "http://jabber.org/protocol/caps";  // XEP-0115
inline constexpr std::string_view data_forms = "jabber:x:data";
}  // namespace parley::ns

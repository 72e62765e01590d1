#pragma once
// Namespaces and small helpers of the multi-user chat module (XEP-0045).
#include <string_view>

namespace parley::muc {

inline constexpr std::string_view kMuc = "http://jabber.org/protocol/muc";
inline constexpr std::string_view kMucUser = "http://jabber.org/protocol/muc#user";
inline constexpr std::string_view kMucAdmin = "http://jabber.org/protocol/muc#admin";
inline constexpr std::string_view kMucOwner = "http://jabber.org/protocol/muc#owner";
inline constexpr std::string_view kRoomConfig = "http://jabber.org/protocol/muc#roomconfig";
inline constexpr std::string_view kRequest = "http://jabber.org/protocol/muc#request";
inline constexpr std::string_view kRoomInfo = "http://jabber.org/protocol/muc#roominfo";
inline constexpr std::string_view kOccupantId = "urn:xmpp:occupant-id:0";  // XEP-0421
inline constexpr std::string_view kStanzaId = "urn:xmpp:sid:0";            // XEP-0359
inline constexpr std::string_view kMam = "urn:xmpp:mam:2";                 // XEP-0313
inline constexpr std::string_view kRetract = "urn:xmpp:message-retract:1";    // XEP-0424
inline constexpr std::string_view kModerate = "urn:xmpp:message-moderate:1";  // XEP-0425
inline constexpr std::string_view kVcard = "vcard-temp";                      // XEP-0054/0486
inline constexpr std::string_view kPing = "urn:xmpp:ping";                 // XEP-0199/0410
inline constexpr std::string_view kDelay = "urn:xmpp:delay";               // XEP-0203
inline constexpr std::string_view kConference = "jabber:x:conference";     // XEP-0249
inline constexpr std::string_view kDataForms = "jabber:x:data";
inline constexpr std::string_view kRegister = "jabber:iq:register";  // XEP-0077, §7.10
inline constexpr std::string_view kMucRegister = "http://jabber.org/protocol/muc#register";
inline constexpr std::string_view kRoomUserItem = "x-roomuser-item";  // disco node: reserved nick
inline constexpr std::string_view kDiscoInfo = "http://jabber.org/protocol/disco#info";
inline constexpr std::string_view kDiscoItems = "http://jabber.org/protocol/disco#items";

}  // namespace parley::muc

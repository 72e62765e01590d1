#pragma once
// A room's configuration (XEP-0045 §10.2, muc#roomconfig): the owner's form,
// its validation, and the text encoding kept in the store.
#include <cstdint>
#include <optional>
#include <string>

#include "xmpp/stanza.hpp"
#include "xmpp/xml/element.hpp"

namespace parley::muc {

struct RoomConfig {
  std::string name;
  std::string description;
  bool persistent = true;
  bool public_room = true;
  bool members_only = true;
  bool moderated = false;
  bool password_protected = false;
  std::string password;
  std::string whois = "anyone";  // anyone (non-anonymous) | moderators (semi-anonymous)
  int64_t max_users = 0;         // 0: the service's ceiling
  bool allow_invites = false;    // occupants (not only admins) may invite
  std::string allow_pm = "anyone";  // anyone | participants | moderators | none
  bool change_subject = false;      // participants may change the subject
  int64_t history_length = 20;      // messages kept for history on join
  std::string occupant_id_secret;   // XEP-0421 key, never shown
  std::string vcard;                // the room's vCard (XEP-0486 avatar), serialized; empty = none

  bool non_anonymous() const { return whois == "anyone"; }
  friend bool operator==(const RoomConfig&, const RoomConfig&) = default;
};

// "key=value" lines; values escape '%' and newlines.
std::string encode(const RoomConfig& config);
RoomConfig decode(const std::string& text);

// The muc#roomconfig form (type='form') with the current values.
xml::Element config_form(const RoomConfig& config, int64_t service_max_users,
                         int64_t service_max_history);
// Applies a submitted form to `config`; an error for a value out of range or
// of the wrong type (not-acceptable / bad-request). Unknown fields are ignored.
std::optional<StanzaError> apply_form(const xml::Element& form, RoomConfig& config,
                                      int64_t service_max_users, int64_t service_max_history);

}  // namespace parley::muc

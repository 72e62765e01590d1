#pragma once
// What the archive (XEP-0313) keeps and how: pure functions, no I/O.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "storage/store.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/xml/element.hpp"

namespace parley::mam {

inline constexpr std::string_view kMamNs = "urn:xmpp:mam:2";
inline constexpr std::string_view kMamExtendedFeature = "urn:xmpp:mam:2#extended";
inline constexpr std::string_view kFulltextNs = "urn:xmpp:fulltext:0";  // XEP-0431
inline constexpr std::string_view kSidNs = "urn:xmpp:sid:0";            // XEP-0359
inline constexpr std::string_view kRsmNs = "http://jabber.org/protocol/rsm";
inline constexpr std::string_view kForwardNs = "urn:xmpp:forward:0";

// A conversation message worth keeping: type chat or normal (absent or
// unknown counts as normal), no <no-store/> or <no-permanent-store/> hint
// (XEP-0334), and a body or a payload that is part of the conversation:
// receipts, chat markers, retractions, reactions, encrypted payloads, call
// messages (XEP-0353) or a <store/> hint. Chat states alone are not.
bool is_archivable(const xml::Element& message);

// True for end-to-end encrypted messages (OMEMO, legacy OMEMO, OpenPGP):
// their <body> is only a fallback text and is never indexed.
bool is_encrypted(const xml::Element& message);

// The text to index for full-text search: the bodies of a plaintext message,
// empty for encrypted ones.
std::string searchable_text(const xml::Element& message);

// Removes <stanza-id xmlns='urn:xmpp:sid:0'/> elements claiming to be by `by`
// (only the entity named by `by` may stamp them: a client must not be able
// to forge an archive id, XEP-0359 "Security Considerations").
void strip_stanza_ids(xml::Element& message, std::string_view by);
void add_stanza_id(xml::Element& message, std::string id, std::string by);
// The id of our stanza-id by `by`, if present.
std::optional<std::string> stanza_id(const xml::Element& message, std::string_view by);

// Whether the owner's preferences archive a message with `peer`. `in_roster`
// is asked only when the answer depends on it (default 'roster').
enum class Verdict { Archive, Skip, AskRoster };
Verdict decide(const storage::ArchivePrefs& prefs, const Jid& peer);

// <prefs xmlns='urn:xmpp:mam:2'> to and from its stored form. nullopt: bad
// default or a JID that does not parse.
std::optional<storage::ArchivePrefs> parse_prefs(const xml::Element& prefs);
xml::Element prefs_element(const storage::ArchivePrefs& prefs);

// XEP-0082 DateTime ("2010-06-07T00:00:00Z", fractions and offsets allowed).
std::optional<storage::Timestamp> parse_datetime(std::string_view text);

}  // namespace parley::mam

#pragma once
// PRECIS string preparation (RFC 8264) with the RFC 8265 profiles used by XMPP
// addresses (RFC 7622) and SASL: UsernameCaseMapped (localparts, SCRAM/PLAIN
// usernames) and OpaqueString (resourceparts, passwords). Implemented on ICU.
//
// Every function returns nullopt for invalid input (bad UTF-8, empty result,
// disallowed or unassigned code points, failed context or Bidi rules). Rules
// are re-applied until the output is stable (RFC 8264 §7), so for any input x
// with a result y, f(y) == y.
//
// No length limits are applied here; callers (Jid) apply their own.
#include <optional>
#include <string>
#include <string_view>

namespace parley::precis {

// Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. NUL is
// valid UTF-8 (the profiles reject it as a control character).
bool is_valid_utf8(std::string_view s);

// RFC 8265 §3.3 UsernameCaseMapped enforcement: width mapping, toLowerCase,
// NFC, Bidi rule, IdentifierClass. Printable ASCII takes a fast path that
// skips ICU and gives identical results.
std::optional<std::string> username_case_mapped(std::string_view s);

// RFC 8265 §4.2 OpaqueString enforcement: non-ASCII spaces -> U+0020, NFC,
// FreeformClass. ASCII 0x20..0x7E takes an identity fast path.
std::optional<std::string> opaque_string(std::string_view s);

// The same profiles without the ASCII fast path (always through ICU). Exposed
// so that tests can check that the fast paths agree with the full rules.
std::optional<std::string> username_case_mapped_full(std::string_view s);
std::optional<std::string> opaque_string_full(std::string_view s);

}  // namespace parley::precis

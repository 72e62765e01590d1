#pragma once
// Stanza accessors and RFC 6120 error builders. A stanza is an xml::Element
// whose name is message, presence or iq in the jabber:client namespace.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "xmpp/jid.hpp"
#include "xmpp/xml/element.hpp"

namespace parley {

enum class StanzaKind { Message, Presence, Iq, Other };
StanzaKind stanza_kind(const xml::Element& el);

// RFC 6120 §8.3.2 error types.
enum class ErrorType { Auth, Cancel, Continue, Modify, Wait };
std::string_view to_string(ErrorType t);

// A stanza error (RFC 6120 §8.3): the condition is the element name in the
// urn:ietf:params:xml:ns:xmpp-stanzas namespace (e.g. "service-unavailable").
struct StanzaError {
  ErrorType type = ErrorType::Cancel;
  std::string condition = "undefined-condition";
  std::string text;
  std::optional<xml::Element> application;  // application-specific condition

  static StanzaError bad_request(std::string text = {}) { return {ErrorType::Modify, "bad-request", std::move(text), {}}; }
  static StanzaError service_unavailable() { return {ErrorType::Cancel, "service-unavailable", {}, {}}; }
  static StanzaError item_not_found() { return {ErrorType::Cancel, "item-not-found", {}, {}}; }
  static StanzaError forbidden() { return {ErrorType::Auth, "forbidden", {}, {}}; }
  static StanzaError not_allowed(std::string text = {}) { return {ErrorType::Cancel, "not-allowed", std::move(text), {}}; }
  static StanzaError feature_not_implemented() { return {ErrorType::Cancel, "feature-not-implemented", {}, {}}; }
  static StanzaError internal_server_error() { return {ErrorType::Cancel, "internal-server-error", {}, {}}; }
  static StanzaError jid_malformed() { return {ErrorType::Modify, "jid-malformed", {}, {}}; }
  static StanzaError not_acceptable(std::string text = {}) { return {ErrorType::Modify, "not-acceptable", std::move(text), {}}; }
  static StanzaError conflict() { return {ErrorType::Cancel, "conflict", {}, {}}; }
  static StanzaError resource_constraint(std::string text = {}) { return {ErrorType::Wait, "resource-constraint", std::move(text), {}}; }
  static StanzaError remote_server_not_found() { return {ErrorType::Cancel, "remote-server-not-found", {}, {}}; }
  static StanzaError registration_required() { return {ErrorType::Auth, "registration-required", {}, {}}; }
  static StanzaError not_authorized() { return {ErrorType::Auth, "not-authorized", {}, {}}; }
};

xml::Element make_error_element(const StanzaError& error);

// An error reply to `stanza`: to/from swapped, type='error', original children
// kept (RFC 6120 §8.3.1 allows it) for messages and presence, dropped for IQs.
xml::Element error_reply(const xml::Element& stanza, const StanzaError& error);
// True when an error must not be answered with another error (type='error').
bool is_error(const xml::Element& stanza);

// An IQ result skeleton for `iq` (to/from swapped, same id).
xml::Element iq_result(const xml::Element& iq);
xml::Element make_iq(std::string_view type, std::string_view id, std::string_view from,
                     std::string_view to);
xml::Element make_message(std::string_view type, std::string_view from, std::string_view to);
xml::Element make_presence(std::string_view type, std::string_view from, std::string_view to);

std::optional<Jid> attr_jid(const xml::Element& el, std::string_view name);

// Current time as an XEP-0082 DateTime in UTC ("2026-11-27T23:39:26.123Z").
std::string xep0082_now();
std::string xep0082_format(std::chrono::system_clock::time_point t);
// A random id of `bytes` random bytes, URL-safe base64 without padding.
std::string random_id(size_t bytes = 12);

}  // namespace parley

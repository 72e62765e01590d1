#include "xmpp/session.hpp"

namespace parley {

std::string_view to_string(StreamErrorCondition c) {
  switch (c) {
    case StreamErrorCondition::BadFormat: return "bad-format";
    case StreamErrorCondition::Conflict: return "conflict";
    case StreamErrorCondition::ConnectionTimeout: return "connection-timeout";
    case StreamErrorCondition::HostUnknown: return "host-unknown";
    case StreamErrorCondition::ImproperAddressing: return "improper-addressing";
    case StreamErrorCondition::InternalServerError: return "internal-server-error";
    case StreamErrorCondition::InvalidFrom: return "invalid-from";
    case StreamErrorCondition::InvalidNamespace: return "invalid-namespace";
    case StreamErrorCondition::InvalidXml: return "invalid-xml";
    case StreamErrorCondition::NotAuthorized: return "not-authorized";
    case StreamErrorCondition::NotWellFormed: return "not-well-formed";
    case StreamErrorCondition::PolicyViolation: return "policy-violation";
    case StreamErrorCondition::ResourceConstraint: return "resource-constraint";
    case StreamErrorCondition::RestrictedXml: return "restricted-xml";
    case StreamErrorCondition::SystemShutdown: return "system-shutdown";
    case StreamErrorCondition::UndefinedCondition: return "undefined-condition";
    case StreamErrorCondition::UnsupportedEncoding: return "unsupported-encoding";
    case StreamErrorCondition::UnsupportedStanzaType: return "unsupported-stanza-type";
    case StreamErrorCondition::UnsupportedVersion: return "unsupported-version";
  }
  return "undefined-condition";
}

}  // namespace parley

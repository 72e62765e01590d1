#include "modules/multicast/multicast_rules.hpp"

#include <set>

namespace parley::multicast {
namespace {

bool is_target_type(std::string_view type) {
  return type == "to" || type == "cc" || type == "bcc";
}

bool is_known_type(std::string_view type) {
  return is_target_type(type) || type == "replyto" || type == "replyroom" || type == "noreply";
}

Plan fail(StanzaError error) {
  return Plan{std::move(error), {}};
}

}  // namespace

bool has_addresses(const xml::Element& stanza) {
  return stanza.child("addresses", kAddressNs) != nullptr;
}

Plan plan(const xml::Element& stanza, const Policy& policy) {
  if (stanza.children("addresses", kAddressNs).size() != 1)
    return fail(StanzaError::bad_request("exactly one <addresses/> header is expected"));
  if (stanza_kind(stanza) == StanzaKind::Presence) {
    // Subscription states belong to the sender's roster, which a fanned-out
    // copy would bypass; probes and errors are the server's own business.
    const std::string type = stanza.attr_or("type");
    if (!type.empty() && type != "unavailable")
      return fail(
          StanzaError::not_acceptable("only available and unavailable presence is multicast"));
  }
  const xml::Element& header = *stanza.child("addresses", kAddressNs);

  struct Target {
    Jid jid;
    const xml::Element* bcc = nullptr;  // its own bcc address, if it came as one
  };
  std::vector<Target> targets;
  std::set<std::string> seen;
  for (const xml::Element* address : header.children("address", kAddressNs)) {
    const std::string type = address->attr_or("type");
    if (!is_known_type(type))
      return fail(StanzaError::bad_request("unknown address type '" + type + "'"));
    const bool has_jid = address->has_attr("jid"), has_uri = address->has_attr("uri");
    if (has_jid && has_uri) return fail(StanzaError::bad_request("an address has a jid or a uri"));
    // noreply carries no address at all in practice; be lenient there.
    if (type != "noreply" && !has_jid && !has_uri && !address->has_attr("node") &&
        !address->has_attr("desc"))
      return fail(StanzaError::bad_request("an address needs a jid, uri, node or desc"));
    if (!is_target_type(type) || address->attr_or("delivered") == "true") continue;
    if (!has_jid && !has_uri) return fail(StanzaError::bad_request("a recipient needs a jid"));
    // URIs (sip:, mailto:) are optional in the XEP and not supported here.
    if (has_uri) return fail(StanzaError::jid_malformed());
    std::optional<Jid> jid = Jid::parse(address->attr_or("jid"));
    if (!jid) return fail(StanzaError::jid_malformed());
    if (!seen.insert(jid->str()).second) continue;
    if (seen.size() > policy.max_recipients)
      return fail(StanzaError::not_acceptable("more than " + std::to_string(policy.max_recipients) +
                                              " recipients"));
    targets.push_back(Target{std::move(*jid), type == "bcc" ? address : nullptr});
  }
  // §2.2: a sender not allowed to relay gets forbidden and nobody, not even
  // the local recipients, gets a copy.
  for (const Target& t : targets) {
    if (policy.is_local_domain && policy.is_local_domain(t.jid.domain())) continue;
    if (!policy.sender_is_local || !policy.allow_remote) return fail(StanzaError::forbidden());
  }

  // The header every copy shares: targets marked delivered, bcc removed.
  xml::Element base = stanza;
  xml::Element& base_header = *base.child("addresses", kAddressNs);
  base_header.remove_children("address", kAddressNs);
  for (const xml::Element* address : header.children("address", kAddressNs)) {
    const std::string type = address->attr_or("type");
    if (type == "bcc") continue;
    xml::Element& kept = base_header.add_child(*address);
    if (is_target_type(type)) kept.set_attr("delivered", "true");
  }

  Plan out;
  out.copies.reserve(targets.size());
  for (Target& t : targets) {
    xml::Element copy = base;
    copy.set_attr("to", t.jid.str());
    if (t.bcc) {
      xml::Element& own = copy.child("addresses", kAddressNs)->add_child(*t.bcc);
      own.set_attr("delivered", "true");
    }
    out.copies.push_back(Copy{std::move(t.jid), std::move(copy)});
  }
  return out;
}

}  // namespace parley::multicast

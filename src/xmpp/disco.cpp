#include "xmpp/disco.hpp"

#include <openssl/evp.h>

#include <string_view>

#include "xmpp/namespaces.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley {

void DiscoRegistry::fill(xml::Element& query) const {
  for (const auto& id : identities_) {
    auto& el = query.add_child("identity", std::string(ns::disco_info));
    el.set_attr("category", id.category);
    el.set_attr("type", id.type);
    if (!id.name.empty()) el.set_attr("name", id.name);
  }
  for (const auto& f : features_) query.add_child("feature", std::string(ns::disco_info)).set_attr("var", f);
}

std::string DiscoRegistry::caps_hash() const {
  // XEP-0115 §5.1: category/type/lang/name< sorted, then features< sorted.
  // std::set orders both by octet comparison, as the XEP requires.
  std::string s;
  for (const auto& id : identities_) s += id.category + "/" + id.type + "//" + id.name + "<";
  for (const auto& f : features_) s += f + "<";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), digest, &len, EVP_sha1(), nullptr);
  return sasl::base64_encode(std::string_view(reinterpret_cast<char*>(digest), len));
}

}  // namespace parley

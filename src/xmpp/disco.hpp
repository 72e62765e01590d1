#pragma once
// The server's own service discovery items (XEP-0030): features and identities
// registered by modules, tracked so they can be removed, and hashed into the
// entity-capabilities verification string (XEP-0115).
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "xmpp/xml/element.hpp"

namespace parley {

struct DiscoIdentity {
  std::string category, type, name;
  friend auto operator<=>(const DiscoIdentity&, const DiscoIdentity&) = default;
};

class DiscoRegistry {
 public:
  void add_feature(const std::string& var) { features_.insert(var); }
  void remove_feature(const std::string& var) { features_.erase(var); }
  void add_identity(DiscoIdentity id) { identities_.insert(std::move(id)); }
  void remove_identity(const DiscoIdentity& id) { identities_.erase(id); }
  const std::set<std::string>& features() const { return features_; }
  const std::set<DiscoIdentity>& identities() const { return identities_; }

  // Fills a disco#info <query/> with identities and features.
  void fill(xml::Element& query) const;
  // XEP-0115 §5.1 verification string (SHA-1, base64) of identities+features.
  std::string caps_hash() const;

 private:
  std::set<std::string> features_;
  std::set<DiscoIdentity> identities_;
};

}  // namespace parley

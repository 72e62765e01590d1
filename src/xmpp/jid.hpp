#pragma once
// RFC 7622 JIDs. A Jid is a value type, prepared (PRECIS) when constructed, so
// two Jids that denote the same entity compare equal. One canonicaliser only:
// prep(prep(x)) == prep(x).
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace parley {

class Jid {
 public:
  Jid() = default;
  // Parses and prepares; nullopt if invalid (empty parts, too long parts,
  // disallowed code points, bad IP literals, ...).
  static std::optional<Jid> parse(std::string_view text);
  static std::optional<Jid> make(std::string_view local, std::string_view domain,
                                 std::string_view resource = {});

  const std::string& local() const { return local_; }
  const std::string& domain() const { return domain_; }
  const std::string& resource() const { return resource_; }
  bool empty() const { return domain_.empty(); }
  bool is_bare() const { return resource_.empty(); }
  bool is_full() const { return !resource_.empty(); }
  bool is_domain() const { return local_.empty() && resource_.empty(); }

  Jid bare() const;
  Jid with_resource(std::string_view resource) const;  // resource must be valid (prep applied)
  std::string str() const;        // full textual form
  std::string bare_str() const;

  friend bool operator==(const Jid&, const Jid&) = default;
  friend auto operator<=>(const Jid&, const Jid&) = default;

  // Preparation of single parts (nullopt if invalid). Exposed for SASL usernames
  // and resource binding.
  static std::optional<std::string> prep_local(std::string_view local);
  static std::optional<std::string> prep_domain(std::string_view domain);
  static std::optional<std::string> prep_resource(std::string_view resource);

 private:
  std::string local_, domain_, resource_;
};

}  // namespace parley

template <>
struct std::hash<parley::Jid> {
  size_t operator()(const parley::Jid& j) const noexcept {
    size_t h = std::hash<std::string>{}(j.local());
    h ^= std::hash<std::string>{}(j.domain()) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= std::hash<std::string>{}(j.resource()) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
  }
};

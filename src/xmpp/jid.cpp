// RFC 7622 address format. Localpart: PRECIS UsernameCaseMapped plus the
// RFC 7622 §3.3.1 exclusions; resourcepart: OpaqueString; domainpart: IP
// literals or IDNA2008 (libidn2, UTS #46 non-transitional mapping) in U-label
// form. Pure-ASCII parts take fast paths that never touch ICU or libidn2 and
// agree with the full rules (tested).
#include "xmpp/jid.hpp"

#include <arpa/inet.h>
#include <idn2.h>

#include <cassert>
#include <cstdlib>
#include <memory>

#include "xmpp/sasl/precis.hpp"

namespace parley {
namespace jid_detail {
// Not declared in a header: the tests declare them to compare fast and full paths.
std::optional<std::string> prep_local_full(std::string_view local);
std::optional<std::string> prep_domain_full(std::string_view domain);
std::optional<std::string> prep_resource_full(std::string_view resource);
}  // namespace jid_detail

namespace {

constexpr size_t kMaxPartBytes = 1023;  // RFC 7622 §3.2-3.4, after preparation
// Inputs longer than this are rejected before any Unicode processing; no
// mapping shrinks a part by a factor of 8, so nothing valid is lost.
constexpr size_t kMaxRawPartBytes = 8 * kMaxPartBytes;
constexpr size_t kMaxLabel = 63;
constexpr size_t kMaxDnsName = 253;

// RFC 7622 §3.3.1: characters a localpart must not contain.
bool excluded_from_local(char c) {
  switch (c) {
    case '"':
    case '&':
    case '\'':
    case '/':
    case ':':
    case '<':
    case '>':
    case '@':
      return true;
    default:
      return false;
  }
}

std::optional<std::string> finish_local(std::optional<std::string> prepped) {
  if (!prepped || prepped->size() > kMaxPartBytes) return std::nullopt;
  for (char c : *prepped) {
    if (excluded_from_local(c)) return std::nullopt;
  }
  return prepped;
}

std::optional<std::string> finish_resource(std::optional<std::string> prepped) {
  if (!prepped || prepped->size() > kMaxPartBytes) return std::nullopt;
  return prepped;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || is_digit(c);
}
char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

// "[IPv6]" -> canonical (RFC 5952) text form in brackets.
std::optional<std::string> prep_ipv6_literal(std::string_view d) {
  if (d.size() < 3 || d.front() != '[' || d.back() != ']') return std::nullopt;
  const std::string inner(d.substr(1, d.size() - 2));
  unsigned char addr[16];
  if (inet_pton(AF_INET6, inner.c_str(), addr) != 1) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, addr, buf, sizeof buf) == nullptr) return std::nullopt;
  return "[" + std::string(buf) + "]";
}

// A name whose last label is all digits can only be an IPv4 address
// (RFC 1123 §2.1); glibc's inet_pton accepts exactly the dotted-quad form
// without leading zeros, which is then canonical.
bool last_label_numeric(std::string_view d) {
  const size_t dot = d.rfind('.');
  const std::string_view last = dot == std::string_view::npos ? d : d.substr(dot + 1);
  if (last.empty()) return false;
  for (char c : last) {
    if (!is_digit(c)) return false;
  }
  return true;
}

std::optional<std::string> prep_ipv4(std::string_view d) {
  const std::string s(d);
  unsigned char addr[4];
  if (inet_pton(AF_INET, s.c_str(), addr) != 1) return std::nullopt;
  return s;
}

// Lower-cased ASCII A-label/NR-LDH form: labels of [a-z0-9-], 1..63 octets,
// at most 253 octets in all.
bool ldh_name_ok(std::string_view d) {
  if (d.empty() || d.size() > kMaxDnsName) return false;
  size_t label = 0;
  for (char c : d) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!is_lower_alnum(c) && c != '-') return false;
    if (++label > kMaxLabel) return false;
  }
  return label != 0;
}

// The ASCII fast path: NR-LDH labels only (no A-labels, no reserved "??--",
// no leading or trailing hyphen). Anything else goes to libidn2.
std::optional<std::string> prep_domain_ascii_fast(std::string_view d) {
  if (d.size() > kMaxDnsName) return std::nullopt;
  std::string out;
  out.reserve(d.size());
  size_t start = 0;
  while (start <= d.size()) {
    size_t end = d.find('.', start);
    if (end == std::string_view::npos) end = d.size();
    const std::string_view label = d.substr(start, end - start);
    if (label.empty() || label.size() > kMaxLabel) return std::nullopt;
    if (label.front() == '-' || label.back() == '-') return std::nullopt;
    if (label.size() >= 4 && label[2] == '-' && label[3] == '-') return std::nullopt;
    for (char c : label) {
      const char l = ascii_lower(c);
      if (!is_lower_alnum(l) && l != '-') return std::nullopt;
      out.push_back(l);
    }
    if (end == d.size()) break;
    out.push_back('.');
    start = end + 1;
  }
  return out;
}

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};
using IdnString = std::unique_ptr<char, FreeDeleter>;

constexpr int kIdnFlags = IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT;

std::optional<std::string> idn_to_ascii(const std::string& s) {
  char* out = nullptr;
  const int rc = idn2_to_ascii_8z(s.c_str(), &out, kIdnFlags);
  IdnString holder(out);
  if (rc != IDN2_OK || out == nullptr) return std::nullopt;
  return std::string(out);
}

// IDNA2008 with UTS #46 non-transitional mapping, then back to U-labels
// (RFC 7622 §3.2.2: the prepared form holds no A-labels).
std::optional<std::string> prep_domain_idna(std::string_view d, bool dot_stripped) {
  if (!precis::is_valid_utf8(d)) return std::nullopt;
  auto ascii = idn_to_ascii(std::string(d));
  if (!ascii) return std::nullopt;
  // UTS #46 maps ideographic full stops to '.', so a trailing label separator
  // may only show up now.
  if (!ascii->empty() && ascii->back() == '.') {
    if (dot_stripped) return std::nullopt;
    ascii->pop_back();
  }
  // libidn2 without STD3 rules lets any ASCII through; with them it silently
  // drops characters. Check the result ourselves.
  if (!ldh_name_ok(*ascii)) return std::nullopt;
  if (last_label_numeric(*ascii)) return prep_ipv4(*ascii);
  char* uni = nullptr;
  const int rc = idn2_to_unicode_8z8z(ascii->c_str(), &uni, 0);
  IdnString holder(uni);
  if (rc != IDN2_OK || uni == nullptr) return std::nullopt;
  std::string u(uni);
  // The U-label form must map back to the same A-labels; this makes the
  // result a fixed point of the preparation.
  const auto again = idn_to_ascii(u);
  if (!again || *again != *ascii) return std::nullopt;
  if (u.empty() || u.size() > kMaxPartBytes) return std::nullopt;
  return u;
}

std::optional<std::string> prep_domain_impl(std::string_view d, bool allow_fast) {
  if (d.empty() || d.size() > kMaxRawPartBytes) return std::nullopt;
  if (d.find('\0') != std::string_view::npos) return std::nullopt;
  if (d.front() == '[') return prep_ipv6_literal(d);
  bool dot_stripped = false;
  if (d.back() == '.') {  // RFC 7622 §3.2: strip one trailing label separator
    d.remove_suffix(1);
    dot_stripped = true;
    if (d.empty()) return std::nullopt;
  }
  bool ascii = true;
  for (char c : d) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii && last_label_numeric(d)) return prep_ipv4(d);
  if (allow_fast && ascii) {
    if (auto fast = prep_domain_ascii_fast(d)) return fast;
  }
  return prep_domain_idna(d, dot_stripped);
}

}  // namespace

namespace jid_detail {

std::optional<std::string> prep_local_full(std::string_view local) {
  if (local.empty() || local.size() > kMaxRawPartBytes) return std::nullopt;
  return finish_local(precis::username_case_mapped_full(local));
}

std::optional<std::string> prep_domain_full(std::string_view domain) {
  return prep_domain_impl(domain, false);
}

std::optional<std::string> prep_resource_full(std::string_view resource) {
  if (resource.empty() || resource.size() > kMaxRawPartBytes) return std::nullopt;
  return finish_resource(precis::opaque_string_full(resource));
}

}  // namespace jid_detail

std::optional<std::string> Jid::prep_local(std::string_view local) {
  if (local.empty() || local.size() > kMaxRawPartBytes) return std::nullopt;
  return finish_local(precis::username_case_mapped(local));
}

std::optional<std::string> Jid::prep_domain(std::string_view domain) {
  return prep_domain_impl(domain, true);
}

std::optional<std::string> Jid::prep_resource(std::string_view resource) {
  if (resource.empty() || resource.size() > kMaxRawPartBytes) return std::nullopt;
  return finish_resource(precis::opaque_string(resource));
}

std::optional<Jid> Jid::parse(std::string_view text) {
  // RFC 7622 §3.1: the resourcepart starts at the first '/', the localpart
  // ends at the first '@' before that.
  std::string_view rest = text;
  std::optional<std::string_view> resource;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    resource = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  std::optional<std::string_view> local;
  if (const size_t at = rest.find('@'); at != std::string_view::npos) {
    local = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  Jid j;
  if (local) {
    auto l = prep_local(*local);  // an empty localpart fails here
    if (!l) return std::nullopt;
    j.local_ = std::move(*l);
  }
  auto d = prep_domain(rest);
  if (!d) return std::nullopt;
  j.domain_ = std::move(*d);
  if (resource) {
    auto r = prep_resource(*resource);  // so does an empty resourcepart
    if (!r) return std::nullopt;
    j.resource_ = std::move(*r);
  }
  return j;
}

std::optional<Jid> Jid::make(std::string_view local, std::string_view domain,
                             std::string_view resource) {
  Jid j;
  if (!local.empty()) {
    auto l = prep_local(local);
    if (!l) return std::nullopt;
    j.local_ = std::move(*l);
  }
  auto d = prep_domain(domain);
  if (!d) return std::nullopt;
  j.domain_ = std::move(*d);
  if (!resource.empty()) {
    auto r = prep_resource(resource);
    if (!r) return std::nullopt;
    j.resource_ = std::move(*r);
  }
  return j;
}

Jid Jid::bare() const {
  Jid j;
  j.local_ = local_;
  j.domain_ = domain_;
  return j;
}

Jid Jid::with_resource(std::string_view resource) const {
  assert(resource.empty() || prep_resource(resource) == std::string(resource));
  Jid j;
  j.local_ = local_;
  j.domain_ = domain_;
  j.resource_ = std::string(resource);
  return j;
}

std::string Jid::bare_str() const {
  if (local_.empty()) return domain_;
  std::string s;
  s.reserve(local_.size() + 1 + domain_.size());
  s += local_;
  s += '@';
  s += domain_;
  return s;
}

std::string Jid::str() const {
  std::string s = bare_str();
  if (!resource_.empty()) {
    s += '/';
    s += resource_;
  }
  return s;
}

}  // namespace parley

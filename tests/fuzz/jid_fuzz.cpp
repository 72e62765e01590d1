// JID preparation (RFC 7622) is idempotent: whatever parses, its string form
// parses again to the same JID; nothing crashes on arbitrary bytes.
#include <cstdint>
#include <string>

#include "xmpp/jid.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto jid = parley::Jid::parse(text);
  if (!jid) return 0;
  const std::string once = jid->str();
  auto again = parley::Jid::parse(once);
  if (!again || again->str() != once) __builtin_trap();
  if (again->bare_str() != jid->bare_str()) __builtin_trap();
  if (auto domain = parley::Jid::prep_domain(jid->domain()); !domain || *domain != jid->domain())
    __builtin_trap();
  return 0;
}

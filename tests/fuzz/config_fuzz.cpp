// The configuration loader on arbitrary TOML: errors are reported, never a
// crash, and a file that loads names no key it did not validate.
#include <cstdint>
#include <string>

#include "xmpp/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const std::map<std::string, parley::config::OptionSchema> schemas = [] {
    std::map<std::string, parley::config::OptionSchema> s;
    s["offline"].add_int("quota", 1000, 0, 1000000, "quota");
    s["mam"].add_string("default", "always", "mode", {"always", "never", "roster"});
    return s;
  }();
  auto result = parley::config::load_string(text, "fuzz.toml", schemas, {"offline"});
  if (result.config && !result.errors.empty()) __builtin_trap();
  if (!result.config && result.errors.empty()) __builtin_trap();
  return 0;
}

// SCRAM server-side parsing of hostile client messages (RFC 5802): the first
// byte picks the mechanism variant, the rest is client-first and
// client-final separated by a NUL. No crash; no success without a credential.
#include <cstdint>
#include <string_view>

#include "xmpp/sasl/scram.hpp"

using namespace parley::sasl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t variant = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t nul = rest.find('\0');
  const std::string_view first = rest.substr(0, nul);
  const std::string_view final_msg = nul == std::string_view::npos ? "" : rest.substr(nul + 1);

  const Hash hash = variant & 1 ? Hash::Sha256 : Hash::Sha1;
  const bool plus = variant & 2;
  std::vector<ChannelBinding> bindings;
  if (variant & 4) bindings.push_back({"tls-exporter", std::string(32, '\x42')});
  ScramServer server(hash, plus, bindings, !bindings.empty());
  auto r1 = server.client_first(first);
  if (r1.failure != Failure::None) return 0;
  // Half the runs know the user, half do not (the fake-salt path).
  std::optional<ScramCredential> credential;
  if (variant & 8) credential = make_credential(hash, "pencil", 4096, std::string(16, 's'));
  const std::string server_first = server.server_first(credential);
  if (server_first.empty()) __builtin_trap();
  auto r2 = server.client_final(final_msg);
  if (r2.failure == Failure::None && !credential) __builtin_trap();  // no user, no success
  (void)parse_plain(rest);
  (void)base64_decode(rest);
  return 0;
}

#pragma once
// SASL mechanisms, server side: SCRAM-SHA-1/-256 (RFC 5802, RFC 7677) with the
// -PLUS variants (channel binding tls-exporter RFC 9266 and tls-server-end-point
// RFC 5929), and PLAIN (RFC 4616). Crypto comes from OpenSSL; comparisons of
// secrets are constant time. The mechanisms never see a stored password: only
// salted SCRAM keys.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::sasl {

enum class Hash { Sha1, Sha256 };
std::string_view hash_name(Hash h);  // "SHA-1" / "SHA-256"

// RFC 6120 §6.5 failure conditions.
enum class Failure {
  None,
  Aborted,
  AccountDisabled,
  CredentialsExpired,
  EncryptionRequired,
  IncorrectEncoding,
  InvalidAuthzid,
  InvalidMechanism,
  MalformedRequest,
  MechanismTooWeak,
  NotAuthorized,
  TemporaryAuthFailure,
};
std::string_view failure_condition(Failure f);  // element name, e.g. "not-authorized"

// What the store keeps per account and hash (all byte strings raw, not base64).
struct ScramCredential {
  Hash hash = Hash::Sha256;
  std::string salt;
  uint32_t iterations = 4096;
  std::string stored_key;
  std::string server_key;
};

// Derives a credential from a password (SASLprep applied by the caller via
// prep_password). A random 16-byte salt is generated when `salt` is empty.
ScramCredential make_credential(Hash hash, std::string_view password, uint32_t iterations,
                                std::string salt = {});
// PLAIN against a stored SCRAM credential; constant-time.
bool verify_password(const ScramCredential& cred, std::string_view password);
// RFC 4013/8265 OpaqueString preparation of a password; nullopt if invalid.
std::optional<std::string> prep_password(std::string_view password);

std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view text);

// Channel-binding data the TLS layer can offer for this connection.
struct ChannelBinding {
  std::string type;  // "tls-exporter" or "tls-server-end-point"
  std::string data;  // raw bytes
};

// One SCRAM exchange, server side. The caller looks up the credential between
// client_first() and server_first(), off the I/O thread.
class ScramServer {
 public:
  ScramServer(Hash hash, bool plus, std::vector<ChannelBinding> bindings,
              bool server_supports_plus);

  struct Result {
    Failure failure = Failure::None;
    std::string data;  // message for the client when failure == None
  };

  // Parses client-first-message. On success `data` holds the (SASLprep'd)
  // username to look up. Checks the gs2 header: "y" while the server offers
  // -PLUS is a downgrade attack -> NotAuthorized; "p=" on a non-PLUS mechanism
  // -> MalformedRequest; an unsupported cb type -> MalformedRequest.
  Result client_first(std::string_view message);
  // Builds server-first-message. With no credential (unknown user) it answers
  // with a deterministic fake salt so the exchange looks identical, and fails
  // at client_final.
  std::string server_first(const std::optional<ScramCredential>& credential);
  // Verifies client-final-message (nonce, channel binding, proof); on success
  // `data` holds server-final-message ("v=...").
  Result client_final(std::string_view message);

  const std::string& username() const { return username_; }
  const std::string& authzid() const { return authzid_; }

  // Test hook only: the server nonce part to use instead of 24 random bytes
  // (base64), so that the RFC 5802 / RFC 7677 example exchanges can be replayed.
  // Never call this outside tests.
  void set_server_nonce_for_testing(std::string nonce) { test_server_nonce_ = std::move(nonce); }

 private:
  Hash hash_;
  bool plus_;
  bool server_supports_plus_;
  std::vector<ChannelBinding> bindings_;
  std::string username_, authzid_, gs2_header_, client_first_bare_, client_nonce_;
  std::string server_first_, nonce_, cb_type_;
  std::optional<ScramCredential> credential_;
  std::string test_server_nonce_;
  int state_ = 0;
};

struct PlainCredentials {
  std::string authzid, authcid, password;
};
// Parses "authzid\0authcid\0password"; nullopt if malformed.
std::optional<PlainCredentials> parse_plain(std::string_view message);

}  // namespace parley::sasl

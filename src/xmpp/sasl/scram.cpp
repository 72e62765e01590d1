// SCRAM-SHA-1/-256(-PLUS) server side (RFC 5802, RFC 7677), PLAIN parsing
// (RFC 4616), strict base64 (RFC 4648). OpenSSL 3 for all crypto.
#include "xmpp/sasl/scram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <stdexcept>

#include "xmpp/jid.hpp"
#include "xmpp/sasl/precis.hpp"

namespace parley::sasl {
namespace {

enum State : int { kExpectClientFirst = 0, kExpectServerFirst, kExpectClientFinal, kDone, kFailed };

constexpr uint32_t kFakeIterations = 4096;
constexpr size_t kSaltBytes = 16;
constexpr size_t kServerNonceBytes = 24;

const EVP_MD* md(Hash h) {
  return h == Hash::Sha1 ? EVP_sha1() : EVP_sha256();
}
size_t digest_size(Hash h) {
  return h == Hash::Sha1 ? 20 : 32;
}

const unsigned char* bytes(std::string_view s) {
  static const unsigned char empty = 0;
  return s.empty() ? &empty : reinterpret_cast<const unsigned char*>(s.data());
}

std::string hmac(Hash h, std::string_view key, std::string_view data) {
  if (key.size() > INT_MAX) throw std::length_error("HMAC key too long");
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md(h), bytes(key), static_cast<int>(key.size()), bytes(data), data.size(), out, &len) ==
      nullptr) {
    throw std::runtime_error("OpenSSL HMAC failed");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string digest(Hash h, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes(data), data.size(), out, &len, md(h), nullptr) != 1) {
    throw std::runtime_error("OpenSSL digest failed");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

// Hi() of RFC 5802 §2.2 is PBKDF2 with HMAC and one block of output.
std::string salted_password(Hash h, std::string_view password, std::string_view salt,
                            uint32_t iterations) {
  if (password.size() > INT_MAX || salt.size() > INT_MAX || iterations == 0 ||
      iterations > INT_MAX) {
    throw std::invalid_argument("SCRAM: bad PBKDF2 parameters");
  }
  std::string out(digest_size(h), '\0');
  if (PKCS5_PBKDF2_HMAC(password.empty() ? "" : password.data(), static_cast<int>(password.size()),
                        bytes(salt), static_cast<int>(salt.size()), static_cast<int>(iterations),
                        md(h), static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    throw std::runtime_error("OpenSSL PBKDF2 failed");
  }
  return out;
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  return out;
}

void cleanse(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

bool equal_ct(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(bytes(a), bytes(b), a.size()) == 0;
}

// Per-process secret for the fake salts of unknown users: stable for the
// life of the process (a repeated probe sees the same salt), unpredictable.
const std::string& fake_salt_secret() {
  static const std::string secret = random_bytes(32);
  return secret;
}

std::string fake_salt(Hash h, std::string_view username) {
  std::string msg = "parley-scram-fake-salt:";
  msg += hash_name(h);
  msg += ':';
  msg += username;
  return hmac(Hash::Sha256, fake_salt_secret(), msg).substr(0, kSaltBytes);
}

// saslname = 1*(value-safe-char / "=2C" / "=3D"); value-safe-char is any UTF-8
// character except NUL, "=" and ",". Returns the decoded name.
std::optional<std::string> decode_saslname(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\0' || c == ',') return std::nullopt;
    if (c != '=') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const char a = s[i + 1];
    const char b = s[i + 2];
    if (a != '2' && a != '3') return std::nullopt;
    if (a == '2' && (b == 'C' || b == 'c')) {
      out.push_back(',');
    } else if (a == '3' && (b == 'D' || b == 'd')) {
      out.push_back('=');
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  if (!precis::is_valid_utf8(out)) return std::nullopt;
  return out;
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// cb-name = 1*(ALPHA / DIGIT / "." / "-")
bool valid_cb_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-') return false;
  }
  return true;
}

// printable = %x21-2B / %x2D-7E
bool valid_nonce(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7E || c == ',') return false;
  }
  return true;
}

// attr-val = ALPHA "=" value; value = 1*value-char (UTF-8 except NUL and ",")
bool valid_extension(std::string_view s) {
  return s.size() >= 3 && is_alpha(s[0]) && s[1] == '=';
}

std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
}

bool has_prefix(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string_view hash_name(Hash h) {
  return h == Hash::Sha1 ? "SHA-1" : "SHA-256";
}

std::string_view failure_condition(Failure f) {
  switch (f) {
    case Failure::None:
      return "";
    case Failure::Aborted:
      return "aborted";
    case Failure::AccountDisabled:
      return "account-disabled";
    case Failure::CredentialsExpired:
      return "credentials-expired";
    case Failure::EncryptionRequired:
      return "encryption-required";
    case Failure::IncorrectEncoding:
      return "incorrect-encoding";
    case Failure::InvalidAuthzid:
      return "invalid-authzid";
    case Failure::InvalidMechanism:
      return "invalid-mechanism";
    case Failure::MalformedRequest:
      return "malformed-request";
    case Failure::MechanismTooWeak:
      return "mechanism-too-weak";
    case Failure::NotAuthorized:
      return "not-authorized";
    case Failure::TemporaryAuthFailure:
      return "temporary-auth-failure";
  }
  return "not-authorized";
}

std::string base64_encode(std::string_view raw) {
  if (raw.empty()) return {};
  if (raw.size() > static_cast<size_t>(INT_MAX / 4 * 3)) throw std::length_error("base64 input");
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(raw),
                                static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Strict RFC 4648 §4: standard alphabet, mandatory padding, no whitespace, and
// the unused bits before padding must be zero (canonical encoding only).
std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<size_t>(k)];
      if (c == '=') {
        if (!last || k < 2) return std::nullopt;
        ++pad;
        v[k] = 0;
        continue;
      }
      if (pad != 0) return std::nullopt;  // data after padding
      v[k] = b64_value(c);
      if (v[k] < 0) return std::nullopt;
    }
    const uint32_t triple = (static_cast<uint32_t>(v[0]) << 18) |
                            (static_cast<uint32_t>(v[1]) << 12) |
                            (static_cast<uint32_t>(v[2]) << 6) | static_cast<uint32_t>(v[3]);
    out.push_back(static_cast<char>((triple >> 16) & 0xFF));
    if (pad == 2) {
      if ((v[1] & 0x0F) != 0) return std::nullopt;
      continue;
    }
    out.push_back(static_cast<char>((triple >> 8) & 0xFF));
    if (pad == 1) {
      if ((v[2] & 0x03) != 0) return std::nullopt;
      continue;
    }
    out.push_back(static_cast<char>(triple & 0xFF));
  }
  return out;
}

ScramCredential make_credential(Hash hash, std::string_view password, uint32_t iterations,
                                std::string salt) {
  if (iterations == 0) throw std::invalid_argument("SCRAM: iteration count must be positive");
  if (salt.empty()) salt = random_bytes(kSaltBytes);
  std::string sp = salted_password(hash, password, salt, iterations);
  std::string client_key = hmac(hash, sp, "Client Key");
  ScramCredential cred;
  cred.hash = hash;
  cred.iterations = iterations;
  cred.stored_key = digest(hash, client_key);
  cred.server_key = hmac(hash, sp, "Server Key");
  cred.salt = std::move(salt);
  cleanse(sp);
  cleanse(client_key);
  return cred;
}

bool verify_password(const ScramCredential& cred, std::string_view password) {
  const size_t n = digest_size(cred.hash);
  if (cred.iterations == 0 || cred.iterations > INT_MAX || cred.stored_key.size() != n ||
      cred.server_key.size() != n) {
    return false;
  }
  std::string sp = salted_password(cred.hash, password, cred.salt, cred.iterations);
  std::string client_key = hmac(cred.hash, sp, "Client Key");
  const std::string stored_key = digest(cred.hash, client_key);
  const std::string server_key = hmac(cred.hash, sp, "Server Key");
  cleanse(sp);
  cleanse(client_key);
  // Both compared, no short circuit.
  const bool a = equal_ct(stored_key, cred.stored_key);
  const bool b = equal_ct(server_key, cred.server_key);
  return a & b;
}

std::optional<std::string> prep_password(std::string_view password) {
  return precis::opaque_string(password);
}

std::optional<PlainCredentials> parse_plain(std::string_view message) {
  const size_t first = message.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = message.find('\0', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (message.find('\0', second + 1) != std::string_view::npos) return std::nullopt;
  PlainCredentials c;
  c.authzid = std::string(message.substr(0, first));
  c.authcid = std::string(message.substr(first + 1, second - first - 1));
  c.password = std::string(message.substr(second + 1));
  if (c.authcid.empty() || c.password.empty()) return std::nullopt;
  if (!precis::is_valid_utf8(message)) return std::nullopt;
  return c;
}

ScramServer::ScramServer(Hash hash, bool plus, std::vector<ChannelBinding> bindings,
                         bool server_supports_plus)
    : hash_(hash),
      plus_(plus),
      server_supports_plus_(server_supports_plus),
      bindings_(std::move(bindings)) {}

ScramServer::Result ScramServer::client_first(std::string_view message) {
  const Result malformed{Failure::MalformedRequest, {}};
  if (state_ != kExpectClientFirst) {
    state_ = kFailed;
    return malformed;
  }
  state_ = kFailed;  // until this message has been accepted
  if (message.find('\0') != std::string_view::npos || !precis::is_valid_utf8(message)) {
    return malformed;
  }

  // gs2-header = gs2-cbind-flag "," [ authzid ] ","
  const size_t c1 = message.find(',');
  if (c1 == std::string_view::npos) return malformed;
  const size_t c2 = message.find(',', c1 + 1);
  if (c2 == std::string_view::npos) return malformed;
  const std::string_view flag = message.substr(0, c1);
  const std::string_view authz = message.substr(c1 + 1, c2 - c1 - 1);
  const std::string_view bare = message.substr(c2 + 1);

  enum class Cb { None, ClientOnly, Used } cb;
  std::string_view cb_name;
  if (flag == "n") {
    cb = Cb::None;
  } else if (flag == "y") {
    cb = Cb::ClientOnly;
  } else if (has_prefix(flag, "p=") && valid_cb_name(flag.substr(2))) {
    cb = Cb::Used;
    cb_name = flag.substr(2);
  } else {
    return malformed;
  }

  std::string authzid;
  if (!authz.empty()) {
    if (!has_prefix(authz, "a=")) return malformed;
    auto decoded = decode_saslname(authz.substr(2));
    if (!decoded) return malformed;
    authzid = std::move(*decoded);
  }

  // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
  const auto attrs = split_commas(bare);
  if (attrs.size() < 2) return malformed;
  if (has_prefix(attrs[0], "m=")) return malformed;  // mandatory extension: unsupported
  if (!has_prefix(attrs[0], "n=") || !has_prefix(attrs[1], "r=")) return malformed;
  for (size_t i = 2; i < attrs.size(); ++i) {
    if (!valid_extension(attrs[i])) return malformed;
  }
  auto name = decode_saslname(attrs[0].substr(2));
  if (!name) return malformed;
  const std::string_view nonce = attrs[1].substr(2);
  if (!valid_nonce(nonce)) return malformed;
  // SASLprep's successor for usernames that are XMPP localparts
  // (RFC 7622 / RFC 8265 UsernameCaseMapped): the result is the account name.
  auto username = Jid::prep_local(*name);
  if (!username) return malformed;

  // Channel binding negotiation (RFC 5802 §6).
  switch (cb) {
    case Cb::None:
      if (plus_) return malformed;
      break;
    case Cb::ClientOnly:
      if (plus_) return malformed;
      if (server_supports_plus_) return {Failure::NotAuthorized, {}};  // downgrade
      break;
    case Cb::Used: {
      if (!plus_) return malformed;
      bool found = false;
      for (const auto& b : bindings_) {
        if (b.type == cb_name) found = true;
      }
      if (!found) return malformed;
      cb_type_ = std::string(cb_name);
      break;
    }
  }

  gs2_header_ = std::string(message.substr(0, c2 + 1));
  client_first_bare_ = std::string(bare);
  client_nonce_ = std::string(nonce);
  authzid_ = std::move(authzid);
  username_ = std::move(*username);
  state_ = kExpectServerFirst;
  return {Failure::None, username_};
}

std::string ScramServer::server_first(const std::optional<ScramCredential>& credential) {
  if (state_ != kExpectServerFirst) {
    state_ = kFailed;
    return {};
  }
  const std::string server_nonce = test_server_nonce_.empty()
                                       ? base64_encode(random_bytes(kServerNonceBytes))
                                       : test_server_nonce_;
  nonce_ = client_nonce_ + server_nonce;
  const size_t n = digest_size(hash_);
  std::string salt;
  uint32_t iterations;
  if (credential && credential->hash == hash_ && credential->iterations > 0 &&
      credential->iterations <= INT_MAX && credential->stored_key.size() == n &&
      credential->server_key.size() == n) {
    credential_ = credential;
    salt = credential->salt;
    iterations = credential->iterations;
  } else {
    // Unknown user (or a credential for another hash): look the same, fail later.
    credential_.reset();
    salt = fake_salt(hash_, username_);
    iterations = kFakeIterations;
  }
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(salt) + ",i=" + std::to_string(iterations);
  state_ = kExpectClientFinal;
  return server_first_;
}

ScramServer::Result ScramServer::client_final(std::string_view message) {
  const Result malformed{Failure::MalformedRequest, {}};
  const Result not_authorized{Failure::NotAuthorized, {}};
  if (state_ != kExpectClientFinal) {
    state_ = kFailed;
    return malformed;
  }
  state_ = kFailed;
  if (message.find('\0') != std::string_view::npos || !precis::is_valid_utf8(message)) {
    return malformed;
  }

  // client-final-message-without-proof = channel-binding "," nonce ["," extensions]
  // client-final-message = client-final-message-without-proof "," proof
  const size_t pp = message.rfind(",p=");
  if (pp == std::string_view::npos) return malformed;
  const std::string_view without_proof = message.substr(0, pp);
  const std::string_view proof_b64 = message.substr(pp + 3);
  if (proof_b64.find(',') != std::string_view::npos) return malformed;
  const auto attrs = split_commas(without_proof);
  if (attrs.size() < 2 || !has_prefix(attrs[0], "c=") || !has_prefix(attrs[1], "r=")) {
    return malformed;
  }
  for (size_t i = 2; i < attrs.size(); ++i) {
    if (!valid_extension(attrs[i])) return malformed;
  }
  const auto cbind_input = base64_decode(attrs[0].substr(2));
  if (!cbind_input) return malformed;
  const auto proof = base64_decode(proof_b64);
  if (!proof || proof->size() != digest_size(hash_)) return malformed;

  // c= must carry our gs2 header and, with p=, this connection's binding data.
  std::string expected_cbind = gs2_header_;
  if (!cb_type_.empty()) {
    for (const auto& b : bindings_) {
      if (b.type == cb_type_) {
        expected_cbind += b.data;
        break;
      }
    }
  }
  const bool cbind_ok = equal_ct(*cbind_input, expected_cbind);
  const bool nonce_ok = attrs[1].substr(2) == nonce_;

  // Same work for unknown users as for known ones.
  const std::string dummy_key(digest_size(hash_), '\0');
  const std::string& stored_key = credential_ ? credential_->stored_key : dummy_key;
  const std::string auth_message =
      client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  const std::string client_signature = hmac(hash_, stored_key, auth_message);
  std::string client_key(proof->size(), '\0');
  for (size_t i = 0; i < client_key.size(); ++i) {
    client_key[i] = static_cast<char>((*proof)[i] ^ client_signature[i]);
  }
  const bool proof_ok = equal_ct(digest(hash_, client_key), stored_key);
  cleanse(client_key);

  if (!cbind_ok || !nonce_ok || !proof_ok || !credential_) return not_authorized;

  const std::string server_signature = hmac(hash_, credential_->server_key, auth_message);
  state_ = kDone;
  return {Failure::None, "v=" + base64_encode(server_signature)};
}

}  // namespace parley::sasl

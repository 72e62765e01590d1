#include "scram_client.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <fstream>
#include <stdexcept>

namespace parley::bench {
namespace {

const EVP_MD* md(sasl::Hash h) {
  return h == sasl::Hash::Sha1 ? EVP_sha1() : EVP_sha256();
}

const unsigned char* bytes(std::string_view s) {
  static const unsigned char empty = 0;
  return s.empty() ? &empty : reinterpret_cast<const unsigned char*>(s.data());
}

std::string hmac(sasl::Hash h, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md(h), bytes(key), static_cast<int>(key.size()), bytes(data), data.size(), out, &len) ==
      nullptr)
    throw std::runtime_error("OpenSSL HMAC failed");
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string digest(sasl::Hash h, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes(data), data.size(), out, &len, md(h), nullptr) != 1)
    throw std::runtime_error("OpenSSL digest failed");
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string pbkdf2(sasl::Hash h, std::string_view password, std::string_view salt,
                   uint32_t iterations) {
  if (password.size() > INT_MAX || salt.size() > INT_MAX || iterations == 0 || iterations > INT_MAX)
    throw std::invalid_argument("SCRAM: bad PBKDF2 parameters");
  std::string out(static_cast<size_t>(EVP_MD_get_size(md(h))), '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes(salt),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), md(h),
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1)
    throw std::runtime_error("OpenSSL PBKDF2 failed");
  return out;
}

// saslname: ',' and '=' escaped (RFC 5802 §5.1).
std::string saslname(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == ',')
      out += "=2C";
    else if (c == '=')
      out += "=3D";
    else
      out += c;
  }
  return out;
}

// Value of attribute `key` in a SCRAM message "a=...,b=...".
std::optional<std::string_view> attribute(std::string_view msg, char key) {
  size_t pos = 0;
  while (pos < msg.size()) {
    size_t end = msg.find(',', pos);
    if (end == std::string_view::npos) end = msg.size();
    std::string_view part = msg.substr(pos, end - pos);
    if (part.size() >= 2 && part[0] == key && part[1] == '=') return part.substr(2);
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> SaltedPasswordCache::find(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  return it->second;
}

void SaltedPasswordCache::put(const std::string& key, std::string salted) {
  std::lock_guard lock(mutex_);
  entries_[key] = std::move(salted);
  dirty_ = true;
}

void SaltedPasswordCache::load(const std::string& path) {
  std::ifstream in(path);
  std::string key, value;
  std::lock_guard lock(mutex_);
  while (in >> key >> value) {
    if (auto raw = sasl::base64_decode(value)) entries_[key] = *raw;
  }
}

void SaltedPasswordCache::save(const std::string& path) {
  std::lock_guard lock(mutex_);
  if (!dirty_) return;
  std::ofstream out(path, std::ios::trunc);
  for (const auto& [key, value] : entries_) out << key << ' ' << sasl::base64_encode(value) << '\n';
}

ScramClient::ScramClient(sasl::Hash hash, std::string username, std::string password,
                         SaltedPasswordCache* cache)
    : hash_(hash), username_(std::move(username)), password_(std::move(password)), cache_(cache) {}

std::string ScramClient::client_first() {
  unsigned char raw[18];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("OpenSSL RAND_bytes failed");
  nonce_ = sasl::base64_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  client_first_bare_ = "n=";
  client_first_bare_ += saslname(username_);
  client_first_bare_ += ",r=";
  client_first_bare_ += nonce_;
  return "n,," + client_first_bare_;
}

std::optional<std::string> ScramClient::client_final(std::string_view server_first) {
  auto r = attribute(server_first, 'r');
  auto s = attribute(server_first, 's');
  auto i = attribute(server_first, 'i');
  if (!r || !s || !i || r->size() <= nonce_.size() || r->substr(0, nonce_.size()) != nonce_)
    return std::nullopt;
  auto salt = sasl::base64_decode(*s);
  if (!salt) return std::nullopt;
  uint32_t iterations = 0;
  for (char c : *i) {
    if (c < '0' || c > '9' || iterations > 100000000) return std::nullopt;
    iterations = iterations * 10 + static_cast<uint32_t>(c - '0');
  }
  if (iterations == 0) return std::nullopt;

  // The cache key names everything the salted password depends on.
  std::string key = std::string(sasl::hash_name(hash_));
  key += ':';
  key += username_;
  key += ':';
  key += std::string(*s);
  key += ':';
  key += std::string(*i);
  key += ':';
  key += sasl::base64_encode(digest(sasl::Hash::Sha256, password_));
  std::string salted;
  if (auto cached = cache_ ? cache_->find(key) : std::nullopt) {
    salted = *cached;
  } else {
    salted = pbkdf2(hash_, password_, *salt, iterations);
    if (cache_) cache_->put(key, salted);
  }

  std::string final_without_proof = "c=biws,r=";
  final_without_proof += *r;
  std::string auth_message = client_first_bare_;
  auth_message += ',';
  auth_message += server_first;
  auth_message += ',';
  auth_message += final_without_proof;

  const std::string client_key = hmac(hash_, salted, "Client Key");
  const std::string stored_key = digest(hash_, client_key);
  const std::string client_signature = hmac(hash_, stored_key, auth_message);
  std::string proof = client_key;
  for (size_t k = 0; k < proof.size(); ++k) proof[k] ^= client_signature[k];
  const std::string server_key = hmac(hash_, salted, "Server Key");
  server_signature_ = hmac(hash_, server_key, auth_message);

  std::string out = final_without_proof;
  out += ",p=";
  out += sasl::base64_encode(proof);
  return out;
}

bool ScramClient::verify_server_final(std::string_view server_final) const {
  auto v = attribute(server_final, 'v');
  if (!v) return false;
  auto sig = sasl::base64_decode(*v);
  return sig && sig->size() == server_signature_.size() &&
         CRYPTO_memcmp(sig->data(), server_signature_.data(), sig->size()) == 0;
}

}  // namespace parley::bench

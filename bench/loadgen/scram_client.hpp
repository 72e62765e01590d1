#pragma once
// SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802, RFC 7677), client side, without
// channel binding ("n,," header). All crypto comes from OpenSSL. The salted
// password (PBKDF2, the expensive part) can be cached across logins, the way
// real clients cache it, so that the load generator measures the server rather
// than its own PBKDF2.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "xmpp/sasl/scram.hpp"

namespace parley::bench {

// Thread-safe cache of salted passwords, optionally persisted to a file.
class SaltedPasswordCache {
 public:
  std::optional<std::string> find(const std::string& key);
  void put(const std::string& key, std::string salted);
  void load(const std::string& path);
  void save(const std::string& path);
  size_t hits() const { return hits_; }
  size_t misses() const { return misses_; }

 private:
  std::mutex mutex_;
  std::map<std::string, std::string> entries_;  // key -> raw salted password
  size_t hits_ = 0, misses_ = 0;
  bool dirty_ = false;
};

class ScramClient {
 public:
  ScramClient(sasl::Hash hash, std::string username, std::string password,
              SaltedPasswordCache* cache);

  // "n,,n=USER,r=NONCE"
  std::string client_first();
  // Computes client-final-message from server-first-message; nullopt when the
  // server's message is malformed or its nonce does not extend ours.
  std::optional<std::string> client_final(std::string_view server_first);
  // Checks server-final-message ("v=..."): the server knew the password.
  bool verify_server_final(std::string_view server_final) const;

 private:
  sasl::Hash hash_;
  std::string username_, password_, nonce_, client_first_bare_, server_signature_;
  SaltedPasswordCache* cache_;
};

}  // namespace parley::bench

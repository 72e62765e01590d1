#pragma once
#include "storage/store.hpp"
#include "xmpp/core.hpp"

namespace parley {

// The core's view of accounts, answered from the store.
class StoreAccountDirectory final : public AccountDirectory {
 public:
  explicit StoreAccountDirectory(storage::Storage& storage) : storage_(storage) {}
  bool exists(const Jid& bare) override {
    return storage_.accounts().exists({bare.domain(), bare.local()});
  }
  std::optional<std::vector<sasl::ScramCredential>> credentials(const Jid& bare) override {
    auto account = storage_.accounts().get({bare.domain(), bare.local()});
    if (!account) return std::nullopt;
    return account->credentials;
  }

 private:
  storage::Storage& storage_;
};

}  // namespace parley

#include "storage/store.hpp"

#include "storage/postgres/postgres_storage.hpp"
#include "storage/sqlite/sqlite_storage.hpp"

namespace parley::storage {

const char* to_string(Subscription s) {
  switch (s) {
    case Subscription::None:
      return "none";
    case Subscription::To:
      return "to";
    case Subscription::From:
      return "from";
    case Subscription::Both:
      return "both";
    case Subscription::Remove:
      return "remove";
  }
  return "none";
}

std::optional<Subscription> subscription_from_string(std::string_view s) {
  if (s == "none") return Subscription::None;
  if (s == "to") return Subscription::To;
  if (s == "from") return Subscription::From;
  if (s == "both") return Subscription::Both;
  if (s == "remove") return Subscription::Remove;
  return std::nullopt;
}

std::unique_ptr<Storage> open_storage(const StorageConfig& config) {
  if (config.backend == "sqlite") return sqlite::open(config);
  if (config.backend == "postgresql") return postgres::open(config);
  throw StorageError("unknown storage backend '" + config.backend +
                     "' (valid values: \"sqlite\", \"postgresql\")");
}

}  // namespace parley::storage

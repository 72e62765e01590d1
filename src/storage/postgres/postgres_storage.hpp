#pragma once
// PostgreSQL backend (libpqxx 6): a pool of config.pool_size connections, one
// handed out per call; a connection found broken is replaced, and a
// transaction that failed because its connection broke before commit is
// retried once on a fresh connection.
#include <memory>

#include "storage/store.hpp"

namespace parley::storage::postgres {

// Connects to config.postgresql_uri and applies migrations (serialised
// between servers by an advisory lock).
std::unique_ptr<Storage> open(const StorageConfig& config);

}  // namespace parley::storage::postgres

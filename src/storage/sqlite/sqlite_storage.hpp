#pragma once
// SQLite backend: one connection in WAL mode with synchronous=FULL (an
// acknowledged write survives kill -9 and power loss), guarded by a mutex.
#include <memory>

#include "storage/store.hpp"

namespace parley::storage::sqlite {

// Opens (creating if needed) config.sqlite_path and applies migrations.
std::unique_ptr<Storage> open(const StorageConfig& config);

}  // namespace parley::storage::sqlite

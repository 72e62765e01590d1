#pragma once
// Per-test databases for the storage tests, one implementation per backend.
//
// SQLite: a fresh temporary directory (mkdtemp) holding the database file.
// PostgreSQL: a fresh database "parley_test_<pid>_<n>" created through the
// maintenance connection given by PARLEY_TEST_PG_URI and dropped afterwards,
// so test processes can run in parallel against one server.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "storage/store.hpp"

namespace parley::storage::test {

class TestDatabase {
 public:
  virtual ~TestDatabase() = default;
  // Configuration that opens this database.
  virtual StorageConfig config() const = 0;
  // Runs SQL on a separate connection (to inspect or tamper with the schema).
  virtual void exec(const std::string& sql) = 0;
  // First column of the first row of a query, as an integer.
  virtual int64_t query_int(const std::string& sql) = 0;
  virtual std::string query_text(const std::string& sql) = 0;
  // PostgreSQL: terminates every server connection to this database, as a
  // server restart or a network failure would. SQLite: nothing to do.
  virtual void kill_connections() {}
};

// "sqlite" or "postgresql". For PostgreSQL the caller checks pg_uri() first.
std::unique_ptr<TestDatabase> make_test_database(const std::string& backend);

// PARLEY_TEST_PG_URI, if set and not empty.
std::optional<std::string> pg_uri();
// PARLEY_REQUIRE_PG=1: a missing PostgreSQL is a failure, not a skip.
bool pg_required();

// Replaces (or adds) dbname in a libpq connection string (key=value or URI).
std::string with_dbname(const std::string& conninfo, const std::string& dbname);

}  // namespace parley::storage::test

#pragma once
// A minimal SQL abstraction shared by the SQLite and PostgreSQL backends. The
// stores (sql_storage.cpp) are written once against it, so both backends have
// identical semantics; a backend only provides connections, transactions,
// statement execution and the DDL of its migrations.
//
// SQL text uses PostgreSQL placeholders ($1, $2, ...); the SQLite backend
// rewrites them to ?1, ?2, ... when it prepares a statement. Statements are
// prepared once per connection and cached, keyed by their text.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "storage/store.hpp"

namespace parley::storage::sql {

// Binary data (BLOB / BYTEA), as opposed to text.
struct Blob {
  std::string_view bytes;
};

// A statement parameter. Views must outlive the exec() call.
using Param = std::variant<int64_t, bool, std::string_view, Blob>;

// One result row. Cells are normalised by the backend: integers in decimal,
// booleans as "0"/"1", text and binary data as raw bytes, SQL NULL as nullopt.
struct Row {
  std::vector<std::optional<std::string>> cells;

  int64_t integer(size_t column) const;
  bool boolean(size_t column) const;
  const std::string& text(size_t column) const;  // text or raw bytes
  bool is_null(size_t column) const;
};

struct Result {
  std::vector<Row> rows;
  uint64_t affected = 0;  // rows changed by INSERT / UPDATE / DELETE

  // The single value of a one-row, one-column result (e.g. SELECT COUNT(*)).
  int64_t scalar() const;
};

class Transaction {
 public:
  virtual ~Transaction() = default;
  // Runs a (cached, prepared) statement with parameters.
  Result exec(std::string_view sql, std::initializer_list<Param> params = {}) {
    return exec_params(sql, std::span<const Param>(params.begin(), params.size()));
  }
  // The same with a parameter list built at run time (queries with optional filters).
  virtual Result exec_params(std::string_view sql, std::span<const Param> params) = 0;
  // Runs DDL or other unparameterised SQL, possibly several statements; not cached.
  virtual void exec_script(std::string_view sql) = 0;
  // Serialises writers of `resource` until the end of the transaction. On
  // SQLite a write transaction already holds the database's single write
  // lock, so this is a no-op there.
  virtual void lock(std::string_view resource) = 0;
};

enum class Mode { Read, Write };

class Database {
 public:
  virtual ~Database() = default;
  // Runs `body` in one transaction and commits when it returns; rolls back
  // and rethrows if it throws. `body` may run more than once (the PostgreSQL
  // backend retries once on a fresh connection when the connection broke
  // before commit), so it must not have side effects outside the database
  // other than assigning its result. Errors surface as StorageError.
  virtual void transact(Mode mode, const std::function<void(Transaction&)>& body) = 0;
  // Backend-specific final flush (SQLite: WAL checkpoint).
  virtual void flush() = 0;
  virtual std::string backend_name() const = 0;

  // Full-text search over archive.body (the one place where the SQL dialects
  // differ): a condition on the archive row with `placeholder` standing for
  // fulltext_param(text). Every word of `text` must occur, case-insensitively.
  virtual std::string fulltext_condition(std::string_view placeholder) const = 0;
  virtual std::string fulltext_param(std::string_view text) const = 0;
};

// One numbered migration: statements run in order inside the migration
// transaction, together with the schema_version bookkeeping.
struct Migration {
  int version;
  std::vector<std::string> statements;
};

// Builds the Storage on top of an open database and applies pending
// migrations (all in one transaction, serialised across processes by the
// "migrations" lock). Throws StorageError.
std::unique_ptr<Storage> make_sql_storage(std::unique_ptr<Database> db,
                                          const std::vector<Migration>& migrations);

// Microseconds since the Unix epoch; the representation of every timestamp
// in both backends.
int64_t to_micros(Timestamp t);
Timestamp from_micros(int64_t us);

}  // namespace parley::storage::sql

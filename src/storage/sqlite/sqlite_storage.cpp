#include "storage/sqlite/sqlite_storage.hpp"

#include <sqlite3.h>

#include <cctype>
#include <map>
#include <mutex>
#include <span>

#include "storage/sql/database.hpp"

namespace parley::storage::sqlite {

namespace {

using sql::Blob;
using sql::Mode;
using sql::Param;
using sql::Result;
using sql::Row;

constexpr int kBusyTimeoutMs = 10000;

// Migration 1: the whole schema. Booleans are INTEGER 0/1, timestamps INTEGER
// microseconds since the epoch, SCRAM keys and key/value documents BLOBs.
// Only credentials and roster groups have foreign keys: the other per-account
// tables may hold data for a JID that has no account row (AccountStore::remove
// deletes them explicitly).
const std::vector<sql::Migration>& migrations() {
  static const std::vector<sql::Migration> list = {
      {1,
       {
           "CREATE TABLE accounts ("
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),"
           " created INTEGER NOT NULL,"
           " PRIMARY KEY (domain, username))",

           "CREATE TABLE credentials ("
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " hash TEXT NOT NULL CHECK (hash IN ('SHA-1', 'SHA-256')),"
           " salt BLOB NOT NULL,"
           " iterations INTEGER NOT NULL,"
           " stored_key BLOB NOT NULL,"
           " server_key BLOB NOT NULL,"
           " PRIMARY KEY (domain, username, hash),"
           " FOREIGN KEY (domain, username) REFERENCES accounts (domain, username)"
           "  ON DELETE CASCADE)",

           "CREATE TABLE roster_items ("
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " jid TEXT NOT NULL,"
           " name TEXT NOT NULL DEFAULT '',"
           " subscription TEXT NOT NULL"
           "  CHECK (subscription IN ('none', 'to', 'from', 'both', 'remove')),"
           " ask_out INTEGER NOT NULL DEFAULT 0 CHECK (ask_out IN (0, 1)),"
           " approved INTEGER NOT NULL DEFAULT 0 CHECK (approved IN (0, 1)),"
           " PRIMARY KEY (domain, username, jid))",

           "CREATE TABLE roster_groups ("
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " jid TEXT NOT NULL,"
           " idx INTEGER NOT NULL,"
           " name TEXT NOT NULL,"
           " PRIMARY KEY (domain, username, jid, idx),"
           " FOREIGN KEY (domain, username, jid) REFERENCES roster_items (domain, username, jid)"
           "  ON DELETE CASCADE)",

           "CREATE TABLE roster_versions ("
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " version INTEGER NOT NULL,"
           " PRIMARY KEY (domain, username))",

           "CREATE TABLE roster_pending_in ("
           " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " from_jid TEXT NOT NULL,"
           " stanza TEXT NOT NULL,"
           " UNIQUE (domain, username, from_jid))",

           "CREATE TABLE offline ("
           " id INTEGER PRIMARY KEY AUTOINCREMENT,"
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " stored INTEGER NOT NULL,"
           " stanza TEXT NOT NULL)",
           "CREATE INDEX offline_owner ON offline (domain, username, id)",
           "CREATE INDEX offline_stored ON offline (stored)",

           "CREATE TABLE keyval ("
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " store TEXT NOT NULL,"
           " key TEXT NOT NULL,"
           " value BLOB NOT NULL,"
           " PRIMARY KEY (domain, username, store, key))",
       }},
      // Migration 2: the message archive (XEP-0313). seq orders the archive
      // (AUTOINCREMENT never reuses a value); id is the public, opaque archive
      // UID. Only plaintext bodies are copied into the FTS5 index, by triggers.
      {2,
       {
           "CREATE TABLE archive ("
           " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " id TEXT NOT NULL,"
           " stamp INTEGER NOT NULL,"
           " with_bare TEXT NOT NULL,"
           " with_resource TEXT NOT NULL DEFAULT '',"
           " outgoing INTEGER NOT NULL CHECK (outgoing IN (0, 1)),"
           " stanza TEXT NOT NULL,"
           " body TEXT NOT NULL DEFAULT '',"
           " UNIQUE (domain, username, id))",
           "CREATE INDEX archive_owner ON archive (domain, username, seq)",
           "CREATE INDEX archive_with ON archive (domain, username, with_bare, seq)",
           "CREATE INDEX archive_stamp ON archive (stamp)",
           "CREATE VIRTUAL TABLE archive_fts USING fts5(body, content='archive', "
           "content_rowid='seq', tokenize='unicode61 remove_diacritics 0')",
           "CREATE TRIGGER archive_fts_insert AFTER INSERT ON archive WHEN new.body <> '' BEGIN "
           "INSERT INTO archive_fts (rowid, body) VALUES (new.seq, new.body); END",
           "CREATE TRIGGER archive_fts_delete AFTER DELETE ON archive WHEN old.body <> '' BEGIN "
           "INSERT INTO archive_fts (archive_fts, rowid, body) VALUES ('delete', old.seq, "
           "old.body); "
           "END",

           "CREATE TABLE archive_prefs ("
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " default_mode TEXT NOT NULL CHECK (default_mode IN ('always', 'never', 'roster')),"
           " always_jids TEXT NOT NULL,"
           " never_jids TEXT NOT NULL,"
           " PRIMARY KEY (domain, username))",
       }},
      // Migration 3: block lists (XEP-0191) and the abuse reports filed with
      // blocks (XEP-0377). Reports are kept when the reporter's account goes.
      {3,
       {
           "CREATE TABLE blocklist ("
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " jid TEXT NOT NULL,"
           " PRIMARY KEY (domain, username, jid))",

           "CREATE TABLE abuse_reports ("
           " id INTEGER PRIMARY KEY AUTOINCREMENT,"
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " reported TEXT NOT NULL,"
           " reason TEXT NOT NULL,"
           " text TEXT NOT NULL,"
           " created INTEGER NOT NULL)",
           "CREATE INDEX abuse_reports_domain ON abuse_reports (domain, id)",
       }},
      // Migration 4: per-account archive retention, set by the admin
      // (parleyctl archive retention); accounts without a row use the
      // server's modules.mam.retention_days.
      {4,
       {
           "CREATE TABLE archive_retention ("
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " days INTEGER NOT NULL CHECK (days >= 0),"
           " PRIMARY KEY (domain, username))",
       }},
      // Migration 5: multi-user chat rooms that outlive their occupants
      // (XEP-0045): configuration (the muc module's encoding), subject and
      // affiliations.
      {5,
       {
           "CREATE TABLE muc_rooms ("
           " service TEXT NOT NULL,"
           " room TEXT NOT NULL,"
           " config TEXT NOT NULL,"
           " subject TEXT NOT NULL,"
           " created INTEGER NOT NULL,"
           " PRIMARY KEY (service, room))",
           "CREATE TABLE muc_affiliations ("
           " service TEXT NOT NULL,"
           " room TEXT NOT NULL,"
           " jid TEXT NOT NULL,"
           " affiliation TEXT NOT NULL,"
           " nick TEXT NOT NULL,"
           " reason TEXT NOT NULL,"
           " PRIMARY KEY (service, room, jid))",
       }},
  };
  return list;
}

// "$1" -> "?1": the stores are written with PostgreSQL placeholders.
std::string to_sqlite_placeholders(std::string_view sql) {
  std::string out(sql);
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '$' && out[i + 1] >= '0' && out[i + 1] <= '9') out[i] = '?';
  }
  return out;
}

class SqliteDatabase;

class SqliteTransaction final : public sql::Transaction {
 public:
  explicit SqliteTransaction(SqliteDatabase& db) : db_(db) {}
  Result exec_params(std::string_view sql, std::span<const Param> params) override;
  void exec_script(std::string_view sql) override;
  void lock(std::string_view) override {}  // the write transaction holds the database lock

 private:
  SqliteDatabase& db_;
};

class SqliteDatabase final : public sql::Database {
 public:
  explicit SqliteDatabase(std::string path) : path_(std::move(path)) {
    if (path_.empty()) throw StorageError("sqlite: storage.sqlite_path is not set");
    if (sqlite3_libversion_number() < 3035000) {
      throw StorageError(std::string("sqlite: SQLite 3.35 or newer is required, found ") +
                         sqlite3_libversion());
    }
    int rc =
        sqlite3_open_v2(path_.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw StorageError("sqlite: cannot open " + path_ + ": " + msg);
    }
    try {
      sqlite3_extended_result_codes(db_, 1);
      sqlite3_busy_timeout(db_, kBusyTimeoutMs);
      std::string mode = pragma("PRAGMA journal_mode=WAL");
      // An in-memory database (":memory:", tests) cannot use WAL.
      if (mode != "wal" && mode != "memory") {
        throw StorageError("sqlite: cannot enable WAL journal mode on " + path_ + " (got '" + mode +
                           "')");
      }
      pragma("PRAGMA synchronous=FULL");
      // The default 2 MiB page cache is smaller than the pages a busy archive
      // touches (the leaves of its indexes for every active owner): inserts
      // then spilled dirty pages to the WAL mid-transaction and read them
      // back. The cache only grows as far as it is used.
      pragma("PRAGMA cache_size=-32768");
      // Statement journals (the undo of one statement inside a transaction,
      // such as a multi-row archive insert) in memory, not in temporary files.
      pragma("PRAGMA temp_store=MEMORY");
      pragma("PRAGMA foreign_keys=ON");
    } catch (...) {
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw;
    }
  }

  ~SqliteDatabase() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  void transact(Mode mode, const std::function<void(sql::Transaction&)>& body) override {
    std::lock_guard lock(mutex_);
    // IMMEDIATE takes the write lock up front, so a writer never fails to
    // upgrade a read lock when another process (parleyctl) writes too.
    exec_simple(mode == Mode::Write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", "begin");
    try {
      SqliteTransaction tx(*this);
      body(tx);
      exec_simple("COMMIT", "commit");
    } catch (...) {
      // Some errors (disk full, I/O) already rolled the transaction back.
      if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  void flush() override {
    std::lock_guard lock(mutex_);
    int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    // BUSY: another process is reading or writing; the WAL stays and is
    // checkpointed later. Nothing is lost either way.
    if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {
      fail("checkpoint", rc);
    }
  }

  std::string backend_name() const override { return "sqlite"; }

  std::string fulltext_condition(std::string_view placeholder) const override {
    return "seq IN (SELECT rowid FROM archive_fts WHERE archive_fts MATCH " +
           std::string(placeholder) + ")";
  }

  // Each word becomes a quoted FTS5 string, so no input is query syntax;
  // juxtaposed strings must all match.
  std::string fulltext_param(std::string_view text) const override {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      if (i == text.size()) break;
      if (!out.empty()) out += ' ';
      out += '"';
      for (; i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])); ++i) {
        if (text[i] == '"') out += '"';
        out += text[i];
      }
      out += '"';
    }
    return out;
  }

  Result exec(std::string_view sql, std::span<const Param> params) {
    sqlite3_stmt* stmt = prepared(sql);
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};

    if (sqlite3_bind_parameter_count(stmt) != static_cast<int>(params.size())) {
      throw StorageError("sqlite: statement expects " +
                         std::to_string(sqlite3_bind_parameter_count(stmt)) + " parameters, got " +
                         std::to_string(params.size()) + ": " + std::string(sql));
    }
    int index = 1;
    for (const Param& p : params) bind(stmt, index++, p);

    Result result;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) fail("step", rc);
      Row row;
      int n = sqlite3_column_count(stmt);
      row.cells.reserve(static_cast<size_t>(n));
      for (int c = 0; c < n; ++c) row.cells.push_back(column(stmt, c));
      result.rows.push_back(std::move(row));
    }
    if (!sqlite3_stmt_readonly(stmt))
      result.affected = static_cast<uint64_t>(sqlite3_changes64(db_));
    return result;
  }

  void exec_simple(const char* sql, const char* what) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(what, rc);
  }

 private:
  [[noreturn]] void fail(std::string_view what, int rc) const {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    throw StorageError("sqlite: " + std::string(what) + " failed on " + path_ + ": " + msg +
                       " (code " + std::to_string(rc) + ")");
  }

  // Runs a PRAGMA and returns the first column of its first row, if any.
  std::string pragma(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
    if (rc != SQLITE_OK) fail(sql, rc);
    std::string value;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text) value = reinterpret_cast<const char*>(text);
      rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) fail(sql, rc);
    return value;
  }

  sqlite3_stmt* prepared(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    std::string text = to_sqlite_placeholders(sql);
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size() + 1),
                                SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) fail("prepare of '" + text + "'", rc);
    if (!stmt) throw StorageError("sqlite: empty statement");
    cache_.emplace(std::string(sql), stmt);
    return stmt;
  }

  void bind(sqlite3_stmt* stmt, int index, const Param& p) {
    int rc = SQLITE_OK;
    if (auto* i = std::get_if<int64_t>(&p)) {
      rc = sqlite3_bind_int64(stmt, index, *i);
    } else if (auto* b = std::get_if<bool>(&p)) {
      rc = sqlite3_bind_int(stmt, index, *b ? 1 : 0);
    } else if (auto* s = std::get_if<std::string_view>(&p)) {
      // Same rule as PostgreSQL, whose text type cannot hold NUL.
      if (s->find('\0') != std::string_view::npos) {
        throw StorageError("storage: text value contains a NUL byte");
      }
      // A null pointer would bind SQL NULL; "" binds the empty string.
      rc = sqlite3_bind_text64(stmt, index, s->empty() ? "" : s->data(), s->size(), SQLITE_STATIC,
                               SQLITE_UTF8);
    } else if (auto* blob = std::get_if<Blob>(&p)) {
      if (blob->bytes.empty()) {
        rc = sqlite3_bind_zeroblob(stmt, index, 0);
      } else {
        rc =
            sqlite3_bind_blob64(stmt, index, blob->bytes.data(), blob->bytes.size(), SQLITE_STATIC);
      }
    }
    if (rc != SQLITE_OK) fail("bind", rc);
  }

  static std::optional<std::string> column(sqlite3_stmt* stmt, int c) {
    switch (sqlite3_column_type(stmt, c)) {
      case SQLITE_NULL:
        return std::nullopt;
      case SQLITE_INTEGER:
        return std::to_string(sqlite3_column_int64(stmt, c));
      case SQLITE_FLOAT:
        return std::to_string(sqlite3_column_double(stmt, c));
      default: {  // TEXT, BLOB: raw bytes
        const void* data = sqlite3_column_blob(stmt, c);
        int size = sqlite3_column_bytes(stmt, c);
        if (!data || size <= 0) return std::string();
        return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
      }
    }
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

Result SqliteTransaction::exec_params(std::string_view sql, std::span<const Param> params) {
  return db_.exec(sql, params);
}

void SqliteTransaction::exec_script(std::string_view sql) {
  db_.exec_simple(std::string(sql).c_str(), "schema change");
}

}  // namespace

std::unique_ptr<Storage> open(const StorageConfig& config) {
  return sql::make_sql_storage(std::make_unique<SqliteDatabase>(config.sqlite_path), migrations());
}

}  // namespace parley::storage::sqlite

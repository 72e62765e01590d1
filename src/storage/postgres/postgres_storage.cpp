#include "storage/postgres/postgres_storage.hpp"

#include <poll.h>

#include <condition_variable>
#include <mutex>
#include <pqxx/pqxx>
#include <span>
#include <unordered_map>

#include "storage/sql/database.hpp"

namespace parley::storage::postgres {

namespace {

using sql::Blob;
using sql::Mode;
using sql::Param;
using sql::Result;
using sql::Row;

constexpr pqxx::oid kBoolOid = 16;
constexpr pqxx::oid kByteaOid = 17;
// First key of the two-key advisory locks parley takes ("PRLY").
constexpr int kLockClass = 0x50524C59;

// Migration 1: the whole schema, mirroring the SQLite one (see there):
// BOOLEAN, BIGINT microseconds since the epoch, BYTEA for binary data.
const std::vector<sql::Migration>& migrations() {
  static const std::vector<sql::Migration> list = {
      {1,
       {
           "CREATE TABLE accounts ("
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " admin BOOLEAN NOT NULL DEFAULT FALSE,"
           " created BIGINT NOT NULL,"
           " PRIMARY KEY (domain, username))",

           "CREATE TABLE credentials ("
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " hash TEXT NOT NULL CHECK (hash IN ('SHA-1', 'SHA-256')),"
           " salt BYTEA NOT NULL,"
           " iterations BIGINT NOT NULL,"
           " stored_key BYTEA NOT NULL,"
           " server_key BYTEA NOT NULL,"
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
           " ask_out BOOLEAN NOT NULL DEFAULT FALSE,"
           " approved BOOLEAN NOT NULL DEFAULT FALSE,"
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
           " version BIGINT NOT NULL,"
           " PRIMARY KEY (domain, username))",

           "CREATE TABLE roster_pending_in ("
           " seq BIGSERIAL PRIMARY KEY,"
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " from_jid TEXT NOT NULL,"
           " stanza TEXT NOT NULL,"
           " UNIQUE (domain, username, from_jid))",

           "CREATE TABLE offline ("
           " id BIGSERIAL PRIMARY KEY,"
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " stored BIGINT NOT NULL,"
           " stanza TEXT NOT NULL)",
           "CREATE INDEX offline_owner ON offline (domain, username, id)",
           "CREATE INDEX offline_stored ON offline (stored)",

           "CREATE TABLE keyval ("
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " store TEXT NOT NULL,"
           " key TEXT NOT NULL,"
           " value BYTEA NOT NULL,"
           " PRIMARY KEY (domain, username, store, key))",
       }},
      // Migration 2: the message archive, mirroring the SQLite one. Commits
      // of one owner's archive are serialised (advisory lock), so seq order is
      // commit order. Full-text search: a GIN index over plaintext bodies.
      {2,
       {
           "CREATE TABLE archive ("
           " seq BIGSERIAL PRIMARY KEY,"
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " id TEXT NOT NULL,"
           " stamp BIGINT NOT NULL,"
           " with_bare TEXT NOT NULL,"
           " with_resource TEXT NOT NULL DEFAULT '',"
           " outgoing BOOLEAN NOT NULL,"
           " stanza TEXT NOT NULL,"
           " body TEXT NOT NULL DEFAULT '',"
           " UNIQUE (domain, username, id))",
           "CREATE INDEX archive_owner ON archive (domain, username, seq)",
           "CREATE INDEX archive_with ON archive (domain, username, with_bare, seq)",
           "CREATE INDEX archive_stamp ON archive (stamp)",
           "CREATE INDEX archive_body ON archive USING GIN (to_tsvector('simple', body)) "
           "WHERE body <> ''",

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
           " id BIGSERIAL PRIMARY KEY,"
           " domain TEXT NOT NULL,"
           " username TEXT NOT NULL,"
           " reported TEXT NOT NULL,"
           " reason TEXT NOT NULL,"
           " text TEXT NOT NULL,"
           " created BIGINT NOT NULL)",
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
           " created BIGINT NOT NULL,"
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

// A pooled connection and the statements prepared on it.
struct PgConnection {
  std::unique_ptr<pqxx::connection> conn;
  std::unordered_map<std::string, std::string> prepared;  // SQL text -> statement name
};

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

// Parameters go over the wire in text format.
std::string to_text(const Param& p) {
  if (auto* i = std::get_if<int64_t>(&p)) return std::to_string(*i);
  if (auto* b = std::get_if<bool>(&p)) return *b ? "true" : "false";
  if (auto* s = std::get_if<std::string_view>(&p)) {
    if (s->find('\0') != std::string_view::npos) {
      throw StorageError("storage: text value contains a NUL byte");
    }
    return std::string(*s);
  }
  return hex(std::get<Blob>(p).bytes);
}

Result convert(const pqxx::result& r) {
  Result out;
  out.affected = r.affected_rows();
  const auto columns = r.columns();
  std::vector<pqxx::oid> types;
  types.reserve(columns);
  for (pqxx::row::size_type c = 0; c < columns; ++c) types.push_back(r.column_type(c));
  out.rows.reserve(r.size());
  for (const auto& row : r) {
    Row converted;
    converted.cells.reserve(columns);
    for (pqxx::row::size_type c = 0; c < columns; ++c) {
      const pqxx::field f = row[c];
      if (f.is_null()) {
        converted.cells.emplace_back(std::nullopt);
      } else if (types[c] == kByteaOid) {
        converted.cells.emplace_back(pqxx::binarystring(f).str());
      } else if (types[c] == kBoolOid) {
        converted.cells.emplace_back(f.c_str()[0] == 't' ? "1" : "0");
      } else {
        converted.cells.emplace_back(std::string(f.c_str(), f.size()));
      }
    }
    out.rows.push_back(std::move(converted));
  }
  return out;
}

class PgTransaction final : public sql::Transaction {
 public:
  PgTransaction(PgConnection& c, pqxx::transaction_base& w) : c_(c), w_(w) {}

  Result exec_params(std::string_view sql, std::span<const Param> params) override {
    auto it = c_.prepared.find(std::string(sql));
    if (it == c_.prepared.end()) {
      std::string name = "parley_" + std::to_string(c_.prepared.size());
      c_.conn->prepare(name, std::string(sql));
      it = c_.prepared.emplace(std::string(sql), std::move(name)).first;
    }
    std::vector<std::string> values;
    values.reserve(params.size());
    for (const Param& p : params) values.push_back(to_text(p));
    return convert(w_.exec_prepared(it->second, pqxx::prepare::make_dynamic_params(values)));
  }

  void exec_script(std::string_view sql) override { w_.exec(std::string(sql)); }

  void lock(std::string_view resource) override {
    exec("SELECT pg_advisory_xact_lock($1, hashtext($2))", {int64_t{kLockClass}, resource});
  }

 private:
  PgConnection& c_;
  pqxx::transaction_base& w_;
};

// An idle connection has nothing to read: anything readable (the server's
// FATAL message before it closed the connection, EOF, a hang-up) means the
// connection is gone or in an unknown state. Checking before use replaces
// connections dropped while idle (server restart, idle timeout, admin
// termination) without a failed query. (It also sidesteps a libpqxx 6 leak
// of a PGresult when BEGIN runs on a closed connection.)
bool looks_dead(const pqxx::connection& c) {
  if (!c.is_open()) return true;
  pollfd p{};
  p.fd = c.sock();
  if (p.fd < 0) return true;
  p.events = POLLIN | POLLRDHUP;
  return ::poll(&p, 1, 0) != 0;
}

class Pool {
 public:
  Pool(std::string uri, int size) : uri_(std::move(uri)) {
    if (size < 1) throw StorageError("postgresql: storage.pool_size must be at least 1");
    slots_.resize(static_cast<size_t>(size));
    for (size_t i = slots_.size(); i-- > 0;) free_.push_back(i);
  }

  // A connection borrowed for one transaction; connects lazily.
  class Lease {
   public:
    explicit Lease(Pool& pool) : pool_(pool), index_(pool.acquire()) {}
    ~Lease() { pool_.release(index_, broken_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    PgConnection& get() {
      auto& slot = pool_.slots_[index_];  // ours alone while leased
      if (!slot || looks_dead(*slot->conn)) {
        slot.reset();
        slot = pool_.connect();
      }
      return *slot;
    }
    void mark_broken() { broken_ = true; }

   private:
    Pool& pool_;
    size_t index_;
    bool broken_ = false;
  };

 private:
  size_t acquire() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !free_.empty(); });
    size_t index = free_.back();
    free_.pop_back();
    return index;
  }

  void release(size_t index, bool broken) {
    if (broken) slots_[index].reset();  // reconnect on next use
    {
      std::lock_guard lock(mutex_);
      free_.push_back(index);
    }
    available_.notify_one();
  }

  std::unique_ptr<PgConnection> connect() {
    try {
      auto c = std::make_unique<PgConnection>();
      c->conn = std::make_unique<pqxx::connection>(uri_);
      // Broken connections are replaced here (Lease::get, transact's retry),
      // not by libpqxx's transparent reactivation.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
      c->conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
      // No NOTICEs on stderr ("relation already exists, skipping", ...).
      c->conn->set_variable("client_min_messages", "warning");
      return c;
    } catch (const pqxx::pqxx_exception& e) {
      // The message never includes the connection string (it may hold a password).
      throw StorageError(std::string("postgresql: cannot connect: ") + e.base().what());
    }
  }

  std::string uri_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<PgConnection>> slots_;
  std::vector<size_t> free_;
};

class PgDatabase final : public sql::Database {
 public:
  PgDatabase(const std::string& uri, int pool_size) : pool_(uri, pool_size) {}

  void transact(Mode mode, const std::function<void(sql::Transaction&)>& body) override {
    // Retried once, on a fresh connection, when the transaction certainly did
    // not commit: the connection broke before COMMIT (the server rolls back;
    // a break during COMMIT is in_doubt_error instead), or the server rolled
    // it back itself (deadlock, serialization failure).
    for (int attempt = 0;; ++attempt) {
      const bool last = attempt > 0;
      Pool::Lease lease(pool_);
      PgConnection* conn = nullptr;
      try {
        conn = &lease.get();
        if (mode == Mode::Read) {
          // One snapshot for all statements (roster version + items agree).
          pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> w(*conn->conn);
          PgTransaction tx(*conn, w);
          body(tx);
          w.commit();
        } else {
          pqxx::work w(*conn->conn);
          PgTransaction tx(*conn, w);
          body(tx);
          w.commit();
        }
        return;
      } catch (const pqxx::broken_connection& e) {
        lease.mark_broken();
        if (!last) continue;
        throw StorageError(std::string("postgresql: connection lost: ") + e.what());
      } catch (const pqxx::in_doubt_error& e) {
        lease.mark_broken();
        throw StorageError(
            std::string("postgresql: connection lost during commit, outcome unknown: ") + e.what());
      } catch (const pqxx::transaction_rollback& e) {
        if (!last) continue;
        throw StorageError(std::string("postgresql: transaction rolled back: ") + e.what());
      } catch (const pqxx::sql_error& e) {
        // E.g. "terminating connection due to administrator command" arrives
        // as an error on a connection that is closed right after.
        if (conn && !conn->conn->is_open()) {
          lease.mark_broken();
          if (!last) continue;
        }
        std::string msg = std::string("postgresql: ") + e.what();
        if (!e.sqlstate().empty()) msg += " [SQLSTATE " + e.sqlstate() + "]";
        throw StorageError(msg);
      } catch (const pqxx::pqxx_exception& e) {
        if (conn && !conn->conn->is_open()) lease.mark_broken();
        throw StorageError(std::string("postgresql: ") + e.base().what());
      }
    }
  }

  void flush() override {}  // every commit is already durable on the server

  std::string backend_name() const override { return "postgresql"; }

  std::string fulltext_condition(std::string_view placeholder) const override {
    return "body <> '' AND to_tsvector('simple', body) @@ plainto_tsquery('simple', " +
           std::string(placeholder) + ")";
  }
  std::string fulltext_param(std::string_view text) const override { return std::string(text); }

 private:
  Pool pool_;
};

}  // namespace

std::unique_ptr<Storage> open(const StorageConfig& config) {
  return sql::make_sql_storage(
      std::make_unique<PgDatabase>(config.postgresql_uri, config.pool_size), migrations());
}

}  // namespace parley::storage::postgres

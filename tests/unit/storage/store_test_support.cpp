#include "store_test_support.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <pqxx/pqxx>
#include <stdexcept>

namespace parley::storage::test {

namespace {

class SqliteTestDatabase final : public TestDatabase {
 public:
  SqliteTestDatabase() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "parley_store_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
  }
  ~SqliteTestDatabase() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  StorageConfig config() const override {
    StorageConfig c;
    c.backend = "sqlite";
    c.sqlite_path = dir_ + "/parley.db";
    return c;
  }

  void exec(const std::string& sql) override {
    Handle h(config().sqlite_path);
    char* err = nullptr;
    if (sqlite3_exec(h.db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error("sqlite: " + msg);
    }
  }

  int64_t query_int(const std::string& sql) override { return std::stoll(query_text(sql)); }

  std::string query_text(const std::string& sql) override {
    Handle h(config().sqlite_path);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(h.db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(h.db));
    }
    std::string value;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text) value = reinterpret_cast<const char*>(text);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW) throw std::runtime_error("sqlite: no row for " + sql);
    return value;
  }

  const std::string& dir() const { return dir_; }

 private:
  struct Handle {
    sqlite3* db = nullptr;
    explicit Handle(const std::string& path) {
      if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        std::string msg = db ? sqlite3_errmsg(db) : "?";
        sqlite3_close_v2(db);
        throw std::runtime_error("sqlite: cannot open " + path + ": " + msg);
      }
      sqlite3_busy_timeout(db, 10000);
    }
    ~Handle() { sqlite3_close_v2(db); }
  };

  std::string dir_;
};

class PgTestDatabase final : public TestDatabase {
 public:
  explicit PgTestDatabase(std::string maintenance_uri) : maintenance_(std::move(maintenance_uri)) {
    static std::atomic<int> counter{0};
    name_ = "parley_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    pqxx::connection admin(maintenance_);
    pqxx::nontransaction n(admin);
    // Left over by a crashed run that had the same pid.
    n.exec("DROP DATABASE IF EXISTS " + n.quote_name(name_) + " WITH (FORCE)");
    n.exec("CREATE DATABASE " + n.quote_name(name_));
    uri_ = with_dbname(maintenance_, name_);
  }

  ~PgTestDatabase() override {
    try {
      pqxx::connection admin(maintenance_);
      pqxx::nontransaction n(admin);
      n.exec("DROP DATABASE IF EXISTS " + n.quote_name(name_) + " WITH (FORCE)");
    } catch (const std::exception&) {
      // Best effort: a leftover database is dropped by the next run with this pid.
    }
  }

  StorageConfig config() const override {
    StorageConfig c;
    c.backend = "postgresql";
    c.postgresql_uri = uri_;
    c.pool_size = 4;
    return c;
  }

  void exec(const std::string& sql) override {
    pqxx::connection c(uri_);
    pqxx::nontransaction n(c);
    n.exec(sql);
  }

  int64_t query_int(const std::string& sql) override { return std::stoll(query_text(sql)); }

  std::string query_text(const std::string& sql) override {
    pqxx::connection c(uri_);
    pqxx::nontransaction n(c);
    auto r = n.exec(sql);
    if (r.empty()) throw std::runtime_error("postgresql: no row for " + sql);
    return r[0][0].is_null() ? std::string() : r[0][0].c_str();
  }

  void kill_connections() override {
    pqxx::connection admin(maintenance_);
    pqxx::nontransaction n(admin);
    n.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = " +
        n.quote(name_) + " AND pid <> pg_backend_pid()");
    // pg_terminate_backend only signals; wait until they are gone.
    for (int i = 0; i < 200; ++i) {
      auto r = n.exec("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = " + n.quote(name_));
      if (r[0][0].as<int>() == 0) return;
      usleep(10000);
    }
    throw std::runtime_error("postgresql: connections did not go away");
  }

 private:
  std::string maintenance_;
  std::string name_;
  std::string uri_;
};

std::string quote_conninfo_value(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

}  // namespace

std::unique_ptr<TestDatabase> make_test_database(const std::string& backend) {
  if (backend == "sqlite") return std::make_unique<SqliteTestDatabase>();
  if (backend == "postgresql") {
    auto uri = pg_uri();
    if (!uri) throw std::runtime_error("PARLEY_TEST_PG_URI is not set");
    return std::make_unique<PgTestDatabase>(*uri);
  }
  throw std::runtime_error("unknown backend " + backend);
}

std::optional<std::string> pg_uri() {
  const char* v = std::getenv("PARLEY_TEST_PG_URI");
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

bool pg_required() {
  const char* v = std::getenv("PARLEY_REQUIRE_PG");
  return v && std::string(v) == "1";
}

std::string with_dbname(const std::string& conninfo, const std::string& dbname) {
  // No libpq calls here: the unit tests link libpqxx, not libpq directly.
  for (const char* scheme : {"postgresql://", "postgres://"}) {
    if (conninfo.rfind(scheme, 0) != 0) continue;
    // URI: replace the path ("/db") between the authority and the query.
    size_t authority = std::string(scheme).size();
    size_t query = conninfo.find('?', authority);
    size_t path = conninfo.find('/', authority);
    if (path == std::string::npos || (query != std::string::npos && path > query)) {
      path = query == std::string::npos ? conninfo.size() : query;
    }
    size_t path_end = query == std::string::npos ? conninfo.size() : query;
    return conninfo.substr(0, path) + "/" + dbname + conninfo.substr(path_end);
  }
  // key=value: when a keyword repeats, libpq uses the last value.
  return conninfo + " dbname=" + quote_conninfo_value(dbname);
}

}  // namespace parley::storage::test

// LeakSanitizer (PARLEY_SANITIZE builds): libpqxx 6.4 leaks the PGresult of a
// statement that fails because the connection dropped (it asks the dead
// connection for its encoding before taking ownership of the result). The
// tests that break connections on purpose trigger it; parley cannot avoid it.
// Only allocations made inside these libpqxx functions are exempt.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:pqxx::connection_base::exec_prepared\n"
         "leak:pqxx::transaction_base::direct_exec\n"
         "leak:pqxx::connection_base::exec\n";
}

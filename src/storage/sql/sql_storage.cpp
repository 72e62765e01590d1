// The account, roster, offline and key/value stores, written once against
// sql::Database (see database.hpp) and shared by both backends.
#include <charconv>
#include <map>
#include <set>
#include <type_traits>
#include <utility>

#include "storage/sql/database.hpp"

namespace parley::storage::sql {

// --- Row / Result -----------------------------------------------------------

namespace {

const std::string& cell(const Row& row, size_t column) {
  if (column >= row.cells.size()) {
    throw StorageError("storage: result column " + std::to_string(column) + " out of range");
  }
  if (!row.cells[column]) {
    throw StorageError("storage: unexpected NULL in result column " + std::to_string(column));
  }
  return *row.cells[column];
}

}  // namespace

int64_t Row::integer(size_t column) const {
  const std::string& s = cell(*this, column);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) {
    throw StorageError("storage: expected an integer, got '" + s + "'");
  }
  return value;
}

bool Row::boolean(size_t column) const {
  return integer(column) != 0;
}

const std::string& Row::text(size_t column) const {
  return cell(*this, column);
}

bool Row::is_null(size_t column) const {
  return column >= cells.size() || !cells[column].has_value();
}

int64_t Result::scalar() const {
  if (rows.size() != 1) {
    throw StorageError("storage: expected one row, got " + std::to_string(rows.size()));
  }
  return rows.front().integer(0);
}

int64_t to_micros(Timestamp t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

Timestamp from_micros(int64_t us) {
  return Timestamp(std::chrono::duration_cast<Timestamp::duration>(std::chrono::microseconds(us)));
}

// --- stores -----------------------------------------------------------------

namespace {

const char* hash_to_db(sasl::Hash h) {
  switch (h) {
    case sasl::Hash::Sha1:
      return "SHA-1";
    case sasl::Hash::Sha256:
      return "SHA-256";
  }
  throw StorageError("storage: unknown SCRAM hash");
}

sasl::Hash hash_from_db(const std::string& s) {
  if (s == "SHA-1") return sasl::Hash::Sha1;
  if (s == "SHA-256") return sasl::Hash::Sha256;
  throw StorageError("storage: unknown SCRAM hash '" + s + "' in credentials table");
}

std::string lock_name(std::string_view kind, const AccountKey& key) {
  std::string name(kind);
  name += '\n';
  name += key.domain;
  name += '\n';
  name += key.user;
  return name;
}

// Runs `f(Transaction&)` in a transaction and returns its result.
template <class F>
auto in_tx(Database& db, Mode mode, F&& f) {
  using R = std::invoke_result_t<F&, Transaction&>;
  if constexpr (std::is_void_v<R>) {
    db.transact(mode, [&](Transaction& t) { f(t); });
  } else {
    std::optional<R> out;
    db.transact(mode, [&](Transaction& t) { out.emplace(f(t)); });
    return std::move(*out);
  }
}

void insert_credentials(Transaction& t, const AccountKey& key,
                        const std::vector<sasl::ScramCredential>& credentials) {
  std::set<sasl::Hash> seen;
  for (const auto& c : credentials) {
    if (!seen.insert(c.hash).second) {
      throw StorageError(std::string("storage: two credentials for ") + hash_to_db(c.hash));
    }
  }
  for (const auto& c : credentials) {
    t.exec(
        "INSERT INTO credentials (domain, username, hash, salt, iterations, stored_key, "
        "server_key) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {key.domain, key.user, std::string_view(hash_to_db(c.hash)), Blob{c.salt},
         int64_t{c.iterations}, Blob{c.stored_key}, Blob{c.server_key}});
  }
}

class SqlAccountStore final : public AccountStore {
 public:
  explicit SqlAccountStore(Database& db) : db_(db) {}

  bool create(const Account& account) override {
    return in_tx(db_, Mode::Write, [&](Transaction& t) {
      const auto& k = account.key;
      auto r = t.exec(
          "INSERT INTO accounts (domain, username, admin, created) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT DO NOTHING",
          {k.domain, k.user, account.admin, to_micros(account.created)});
      if (r.affected == 0) return false;
      insert_credentials(t, k, account.credentials);
      return true;
    });
  }

  std::optional<Account> get(const AccountKey& key) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) -> std::optional<Account> {
      auto r = t.exec("SELECT admin, created FROM accounts WHERE domain = $1 AND username = $2",
                      {key.domain, key.user});
      if (r.rows.empty()) return std::nullopt;
      Account a;
      a.key = key;
      a.admin = r.rows[0].boolean(0);
      a.created = from_micros(r.rows[0].integer(1));
      auto c = t.exec(
          "SELECT hash, salt, iterations, stored_key, server_key FROM credentials "
          "WHERE domain = $1 AND username = $2 ORDER BY hash",
          {key.domain, key.user});
      for (const auto& row : c.rows) {
        sasl::ScramCredential cred;
        cred.hash = hash_from_db(row.text(0));
        cred.salt = row.text(1);
        cred.iterations = static_cast<uint32_t>(row.integer(2));
        cred.stored_key = row.text(3);
        cred.server_key = row.text(4);
        a.credentials.push_back(std::move(cred));
      }
      return a;
    });
  }

  bool exists(const AccountKey& key) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) {
      return !t.exec("SELECT 1 FROM accounts WHERE domain = $1 AND username = $2",
                     {key.domain, key.user})
                  .rows.empty();
    });
  }

  bool set_credentials(const AccountKey& key,
                       const std::vector<sasl::ScramCredential>& credentials) override {
    return in_tx(db_, Mode::Write, [&](Transaction& t) {
      if (t.exec("SELECT 1 FROM accounts WHERE domain = $1 AND username = $2",
                 {key.domain, key.user})
              .rows.empty()) {
        return false;
      }
      t.exec("DELETE FROM credentials WHERE domain = $1 AND username = $2", {key.domain, key.user});
      insert_credentials(t, key, credentials);
      return true;
    });
  }

  bool set_admin(const AccountKey& key, bool admin) override {
    return in_tx(db_, Mode::Write, [&](Transaction& t) {
      return t.exec("UPDATE accounts SET admin = $3 WHERE domain = $1 AND username = $2",
                    {key.domain, key.user, admin})
                 .affected > 0;
    });
  }

  bool remove(const AccountKey& key) override {
    return in_tx(db_, Mode::Write, [&](Transaction& t) {
      // Everything stored for the account goes, even data left behind by a
      // previous account of the same name; the result says whether the
      // account itself existed. The locks order this after (or before) any
      // roster change or offline push in flight for the account.
      t.lock(lock_name("roster", key));
      t.lock(lock_name("offline", key));
      static constexpr const char* kTables[] = {
          "DELETE FROM credentials WHERE domain = $1 AND username = $2",
          "DELETE FROM roster_groups WHERE domain = $1 AND username = $2",
          "DELETE FROM roster_items WHERE domain = $1 AND username = $2",
          "DELETE FROM roster_versions WHERE domain = $1 AND username = $2",
          "DELETE FROM roster_pending_in WHERE domain = $1 AND username = $2",
          "DELETE FROM offline WHERE domain = $1 AND username = $2",
          "DELETE FROM keyval WHERE domain = $1 AND username = $2",
          "DELETE FROM blocklist WHERE domain = $1 AND username = $2",
      };
      for (const char* sql : kTables) t.exec(sql, {key.domain, key.user});
      return t.exec("DELETE FROM accounts WHERE domain = $1 AND username = $2",
                    {key.domain, key.user})
                 .affected > 0;
    });
  }

  std::vector<std::string> list(const std::string& domain) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) {
      std::vector<std::string> users;
      auto r =
          t.exec("SELECT username FROM accounts WHERE domain = $1 ORDER BY username", {domain});
      users.reserve(r.rows.size());
      for (const auto& row : r.rows) users.push_back(row.text(0));
      return users;
    });
  }

 private:
  Database& db_;
};

class SqlRosterStore final : public RosterStore {
 public:
  explicit SqlRosterStore(Database& db) : db_(db) {}

  Roster get(const AccountKey& owner) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) {
      Roster roster;
      roster.version = current_version(t, owner);
      auto items = t.exec(
          "SELECT jid, name, subscription, ask_out, approved FROM roster_items "
          "WHERE domain = $1 AND username = $2 ORDER BY jid",
          {owner.domain, owner.user});
      std::map<std::string, size_t, std::less<>> index;
      roster.items.reserve(items.rows.size());
      for (const auto& row : items.rows) {
        index.emplace(row.text(0), roster.items.size());
        roster.items.push_back(item_from_row(row));
      }
      auto groups = t.exec(
          "SELECT jid, name FROM roster_groups WHERE domain = $1 AND username = $2 "
          "ORDER BY jid, idx",
          {owner.domain, owner.user});
      for (const auto& row : groups.rows) {
        auto it = index.find(row.text(0));
        if (it != index.end()) roster.items[it->second].groups.push_back(row.text(1));
      }
      return roster;
    });
  }

  std::optional<RosterItem> get_item(const AccountKey& owner, const std::string& jid) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) -> std::optional<RosterItem> {
      auto r = t.exec(
          "SELECT jid, name, subscription, ask_out, approved FROM roster_items "
          "WHERE domain = $1 AND username = $2 AND jid = $3",
          {owner.domain, owner.user, jid});
      if (r.rows.empty()) return std::nullopt;
      RosterItem item = item_from_row(r.rows[0]);
      auto groups = t.exec(
          "SELECT name FROM roster_groups WHERE domain = $1 AND username = $2 AND jid = $3 "
          "ORDER BY idx",
          {owner.domain, owner.user, jid});
      for (const auto& row : groups.rows) item.groups.push_back(row.text(0));
      return item;
    });
  }

  uint64_t put_item(const AccountKey& owner, const RosterItem& item) override {
    return in_tx(db_, Mode::Write, [&](Transaction& t) {
      t.lock(lock_name("roster", owner));
      t.exec(
          "INSERT INTO roster_items (domain, username, jid, name, subscription, ask_out, approved) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7) "
          "ON CONFLICT (domain, username, jid) DO UPDATE SET name = excluded.name, "
          "subscription = excluded.subscription, ask_out = excluded.ask_out, "
          "approved = excluded.approved",
          {owner.domain, owner.user, item.jid, item.name,
           std::string_view(to_string(item.subscription)), item.ask_out, item.approved});
      t.exec("DELETE FROM roster_groups WHERE domain = $1 AND username = $2 AND jid = $3",
             {owner.domain, owner.user, item.jid});
      for (size_t i = 0; i < item.groups.size(); ++i) {
        t.exec(
            "INSERT INTO roster_groups (domain, username, jid, idx, name) "
            "VALUES ($1, $2, $3, $4, $5)",
            {owner.domain, owner.user, item.jid, static_cast<int64_t>(i), item.groups[i]});
      }
      return bump_version(t, owner);
    });
  }

  std::optional<uint64_t> remove_item(const AccountKey& owner, const std::string& jid) override {
    return in_tx(db_, Mode::Write, [&](Transaction& t) -> std::optional<uint64_t> {
      t.lock(lock_name("roster", owner));
      t.exec("DELETE FROM roster_groups WHERE domain = $1 AND username = $2 AND jid = $3",
             {owner.domain, owner.user, jid});
      auto r = t.exec("DELETE FROM roster_items WHERE domain = $1 AND username = $2 AND jid = $3",
                      {owner.domain, owner.user, jid});
      if (r.affected == 0) return std::nullopt;
      return bump_version(t, owner);
    });
  }

  void put_pending_in(const AccountKey& owner, const std::string& from_jid,
                      const std::string& stanza_xml) override {
    // A repeated request keeps its place in the queue and gets the new stanza.
    in_tx(db_, Mode::Write, [&](Transaction& t) {
      t.exec(
          "INSERT INTO roster_pending_in (domain, username, from_jid, stanza) "
          "VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (domain, username, from_jid) DO UPDATE SET stanza = excluded.stanza",
          {owner.domain, owner.user, from_jid, stanza_xml});
    });
  }

  void remove_pending_in(const AccountKey& owner, const std::string& from_jid) override {
    in_tx(db_, Mode::Write, [&](Transaction& t) {
      t.exec("DELETE FROM roster_pending_in WHERE domain = $1 AND username = $2 AND from_jid = $3",
             {owner.domain, owner.user, from_jid});
    });
  }

  std::vector<std::pair<std::string, std::string>> pending_in(const AccountKey& owner) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) {
      std::vector<std::pair<std::string, std::string>> out;
      auto r = t.exec(
          "SELECT from_jid, stanza FROM roster_pending_in WHERE domain = $1 AND username = $2 "
          "ORDER BY seq",
          {owner.domain, owner.user});
      out.reserve(r.rows.size());
      for (const auto& row : r.rows) out.emplace_back(row.text(0), row.text(1));
      return out;
    });
  }

 private:
  static RosterItem item_from_row(const Row& row) {
    RosterItem item;
    item.jid = row.text(0);
    item.name = row.text(1);
    auto sub = subscription_from_string(row.text(2));
    if (!sub) throw StorageError("storage: bad subscription '" + row.text(2) + "' in roster");
    item.subscription = *sub;
    item.ask_out = row.boolean(3);
    item.approved = row.boolean(4);
    return item;
  }

  static uint64_t current_version(Transaction& t, const AccountKey& owner) {
    auto r = t.exec("SELECT version FROM roster_versions WHERE domain = $1 AND username = $2",
                    {owner.domain, owner.user});
    return r.rows.empty() ? 0 : static_cast<uint64_t>(r.rows[0].integer(0));
  }

  static uint64_t bump_version(Transaction& t, const AccountKey& owner) {
    return static_cast<uint64_t>(
        t.exec("INSERT INTO roster_versions (domain, username, version) VALUES ($1, $2, 1) "
               "ON CONFLICT (domain, username) DO UPDATE SET version = roster_versions.version + 1 "
               "RETURNING version",
               {owner.domain, owner.user})
            .scalar());
  }

  Database& db_;
};

class SqlOfflineStore final : public OfflineStore {
 public:
  explicit SqlOfflineStore(Database& db) : db_(db) {}

  bool push(const AccountKey& owner, const std::string& stanza_xml, Timestamp stored,
            size_t quota) override {
    return in_tx(db_, Mode::Write, [&](Transaction& t) {
      // Serialises pushes per account: makes count+insert atomic and keeps
      // ids in commit order.
      t.lock(lock_name("offline", owner));
      if (quota > 0) {
        auto n = t.exec("SELECT COUNT(*) FROM offline WHERE domain = $1 AND username = $2",
                        {owner.domain, owner.user})
                     .scalar();
        if (static_cast<uint64_t>(n) >= quota) return false;
      }
      t.exec("INSERT INTO offline (domain, username, stored, stanza) VALUES ($1, $2, $3, $4)",
             {owner.domain, owner.user, to_micros(stored), stanza_xml});
      return true;
    });
  }

  std::vector<OfflineMessage> peek(const AccountKey& owner) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) {
      std::vector<OfflineMessage> out;
      auto r = t.exec(
          "SELECT id, stored, stanza FROM offline WHERE domain = $1 AND username = $2 "
          "ORDER BY id",
          {owner.domain, owner.user});
      out.reserve(r.rows.size());
      for (const auto& row : r.rows) {
        OfflineMessage m;
        m.id = row.integer(0);
        m.stored = from_micros(row.integer(1));
        m.stanza_xml = row.text(2);
        out.push_back(std::move(m));
      }
      return out;
    });
  }

  void remove_up_to(const AccountKey& owner, int64_t up_to_id) override {
    in_tx(db_, Mode::Write, [&](Transaction& t) {
      t.exec("DELETE FROM offline WHERE domain = $1 AND username = $2 AND id <= $3",
             {owner.domain, owner.user, up_to_id});
    });
  }

  size_t count(const AccountKey& owner) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) {
      return static_cast<size_t>(
          t.exec("SELECT COUNT(*) FROM offline WHERE domain = $1 AND username = $2",
                 {owner.domain, owner.user})
              .scalar());
    });
  }

  size_t expire(Timestamp cutoff) override {
    return in_tx(db_, Mode::Write, [&](Transaction& t) {
      return static_cast<size_t>(
          t.exec("DELETE FROM offline WHERE stored < $1", {to_micros(cutoff)}).affected);
    });
  }

 private:
  Database& db_;
};

class SqlKeyValueStore final : public KeyValueStore {
 public:
  explicit SqlKeyValueStore(Database& db) : db_(db) {}

  std::optional<std::string> get(const AccountKey& owner, const std::string& store,
                                 const std::string& key) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) -> std::optional<std::string> {
      auto r = t.exec(
          "SELECT value FROM keyval WHERE domain = $1 AND username = $2 AND store = $3 "
          "AND key = $4",
          {owner.domain, owner.user, store, key});
      if (r.rows.empty()) return std::nullopt;
      return r.rows[0].text(0);
    });
  }

  void put(const AccountKey& owner, const std::string& store, const std::string& key,
           const std::string& value) override {
    in_tx(db_, Mode::Write, [&](Transaction& t) {
      t.exec(
          "INSERT INTO keyval (domain, username, store, key, value) VALUES ($1, $2, $3, $4, $5) "
          "ON CONFLICT (domain, username, store, key) DO UPDATE SET value = excluded.value",
          {owner.domain, owner.user, store, key, Blob{value}});
    });
  }

  void remove(const AccountKey& owner, const std::string& store, const std::string& key) override {
    in_tx(db_, Mode::Write, [&](Transaction& t) {
      t.exec("DELETE FROM keyval WHERE domain = $1 AND username = $2 AND store = $3 AND key = $4",
             {owner.domain, owner.user, store, key});
    });
  }

 private:
  Database& db_;
};

class SqlBlockListStore final : public BlockListStore {
 public:
  explicit SqlBlockListStore(Database& db) : db_(db) {}

  std::vector<std::string> get(const AccountKey& owner) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) {
      std::vector<std::string> out;
      auto r = t.exec("SELECT jid FROM blocklist WHERE domain = $1 AND username = $2 ORDER BY jid",
                      {owner.domain, owner.user});
      out.reserve(r.rows.size());
      for (const auto& row : r.rows) out.push_back(row.text(0));
      return out;
    });
  }

  std::vector<std::pair<std::string, std::string>> all(const std::string& domain) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) {
      std::vector<std::pair<std::string, std::string>> out;
      auto r = t.exec(
          "SELECT username, jid FROM blocklist WHERE domain = $1 ORDER BY username, jid", {domain});
      out.reserve(r.rows.size());
      for (const auto& row : r.rows) out.emplace_back(row.text(0), row.text(1));
      return out;
    });
  }

  std::vector<std::string> block(const AccountKey& owner, const std::vector<std::string>& jids,
                                 const std::vector<AbuseReport>& reports) override {
    return in_tx(db_, Mode::Write, [&](Transaction& t) {
      std::vector<std::string> added;
      for (const auto& jid : jids) {
        auto r = t.exec(
            "INSERT INTO blocklist (domain, username, jid) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            {owner.domain, owner.user, jid});
        if (r.affected > 0) added.push_back(jid);
      }
      for (const auto& report : reports) {
        t.exec(
            "INSERT INTO abuse_reports (domain, username, reported, reason, text, created) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            {owner.domain, owner.user, report.reported, report.reason, report.text,
             to_micros(report.created)});
      }
      return added;
    });
  }

  std::vector<std::string> unblock(const AccountKey& owner,
                                   const std::vector<std::string>& jids) override {
    return in_tx(db_, Mode::Write, [&](Transaction& t) {
      std::vector<std::string> removed;
      if (jids.empty()) {
        auto r =
            t.exec("SELECT jid FROM blocklist WHERE domain = $1 AND username = $2 ORDER BY jid",
                   {owner.domain, owner.user});
        for (const auto& row : r.rows) removed.push_back(row.text(0));
        t.exec("DELETE FROM blocklist WHERE domain = $1 AND username = $2",
               {owner.domain, owner.user});
        return removed;
      }
      for (const auto& jid : jids) {
        auto r = t.exec("DELETE FROM blocklist WHERE domain = $1 AND username = $2 AND jid = $3",
                        {owner.domain, owner.user, jid});
        if (r.affected > 0) removed.push_back(jid);
      }
      return removed;
    });
  }

  std::vector<AbuseReport> reports(const std::string& domain, size_t limit) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) {
      // LIMIT -1 is not portable; a huge limit stands for "all".
      const int64_t n = limit ? static_cast<int64_t>(limit) : int64_t{1} << 62;
      auto r = domain.empty()
                   ? t.exec(
                         "SELECT id, domain, username, reported, reason, text, created "
                         "FROM abuse_reports ORDER BY id DESC LIMIT $1",
                         {n})
                   : t.exec(
                         "SELECT id, domain, username, reported, reason, text, created "
                         "FROM abuse_reports WHERE domain = $1 ORDER BY id DESC LIMIT $2",
                         {domain, n});
      std::vector<AbuseReport> out;
      out.reserve(r.rows.size());
      for (const auto& row : r.rows) {
        AbuseReport a;
        a.id = row.integer(0);
        a.reporter = {row.text(1), row.text(2)};
        a.reported = row.text(3);
        a.reason = row.text(4);
        a.text = row.text(5);
        a.created = from_micros(row.integer(6));
        out.push_back(std::move(a));
      }
      return out;
    });
  }

 private:
  Database& db_;
};

class SqlStorage final : public Storage {
 public:
  explicit SqlStorage(std::unique_ptr<Database> db)
      : db_(std::move(db)),
        accounts_(*db_),
        roster_(*db_),
        offline_(*db_),
        keyval_(*db_),
        blocklist_(*db_) {}

  AccountStore& accounts() override { return accounts_; }
  RosterStore& roster() override { return roster_; }
  OfflineStore& offline() override { return offline_; }
  KeyValueStore& keyval() override { return keyval_; }
  BlockListStore& blocklist() override { return blocklist_; }
  std::string backend_name() const override { return db_->backend_name(); }

  int schema_version() override {
    return in_tx(*db_, Mode::Read, [](Transaction& t) {
      return static_cast<int>(
          t.exec("SELECT COALESCE(MAX(version), 0) FROM schema_version").scalar());
    });
  }

  void flush() override { db_->flush(); }

  void migrate(const std::vector<Migration>& migrations) {
    int latest = 0;
    for (const auto& m : migrations) {
      if (m.version != latest + 1) {
        throw StorageError("storage: migrations must be numbered 1, 2, 3, ...");
      }
      latest = m.version;
    }
    in_tx(*db_, Mode::Write, [&](Transaction& t) {
      // Two servers starting at once on one PostgreSQL database: the second
      // waits here, then finds the migrations applied.
      t.lock("migrations");
      t.exec_script(
          "CREATE TABLE IF NOT EXISTS schema_version ("
          "version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)");
      int current =
          static_cast<int>(t.exec("SELECT COALESCE(MAX(version), 0) FROM schema_version").scalar());
      if (current > latest) {
        throw StorageError("storage: the " + db_->backend_name() + " database has schema version " +
                           std::to_string(current) + ", newer than this build of parley (" +
                           std::to_string(latest) + ")");
      }
      for (const auto& m : migrations) {
        if (m.version <= current) continue;
        for (const auto& statement : m.statements) t.exec_script(statement);
        t.exec("INSERT INTO schema_version (version, applied) VALUES ($1, $2)",
               {int64_t{m.version}, to_micros(Clock::now())});
      }
    });
  }

 private:
  std::unique_ptr<Database> db_;
  SqlAccountStore accounts_;
  SqlRosterStore roster_;
  SqlOfflineStore offline_;
  SqlKeyValueStore keyval_;
  SqlBlockListStore blocklist_;
};

}  // namespace

std::unique_ptr<Storage> make_sql_storage(std::unique_ptr<Database> db,
                                          const std::vector<Migration>& migrations) {
  auto storage = std::make_unique<SqlStorage>(std::move(db));
  storage->migrate(migrations);
  return storage;
}

}  // namespace parley::storage::sql

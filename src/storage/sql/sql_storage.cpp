// The account, roster, offline and key/value stores, written once against
// sql::Database (see database.hpp) and shared by both backends.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

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
      t.lock(lock_name("archive", key));
      static constexpr const char* kTables[] = {
          "DELETE FROM credentials WHERE domain = $1 AND username = $2",
          "DELETE FROM roster_groups WHERE domain = $1 AND username = $2",
          "DELETE FROM roster_items WHERE domain = $1 AND username = $2",
          "DELETE FROM roster_versions WHERE domain = $1 AND username = $2",
          "DELETE FROM roster_pending_in WHERE domain = $1 AND username = $2",
          "DELETE FROM offline WHERE domain = $1 AND username = $2",
          "DELETE FROM keyval WHERE domain = $1 AND username = $2",
          "DELETE FROM archive WHERE domain = $1 AND username = $2",
          "DELETE FROM archive_prefs WHERE domain = $1 AND username = $2",
          "DELETE FROM archive_retention WHERE domain = $1 AND username = $2",
          "DELETE FROM blocklist WHERE domain = $1 AND username = $2",
      };
      for (const char* sql : kTables) t.exec(sql, {key.domain, key.user});
      // Affiliations in rooms: a name registered again inherits nothing.
      std::string bare = key.user;
      bare += '@';
      bare += key.domain;
      t.exec("DELETE FROM muc_affiliations WHERE jid = $1", {bare});
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

  size_t expire(const std::string& domain, Timestamp cutoff) override {
    return in_tx(db_, Mode::Write, [&](Transaction& t) {
      return static_cast<size_t>(t.exec("DELETE FROM offline WHERE domain = $1 AND stored < $2",
                                        {domain, to_micros(cutoff)})
                                     .affected);
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

// JID lists in archive_prefs: one JID per line (a JID cannot contain a newline).
std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += '\n';
    out += item;
  }
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

// Row counts of one archive INSERT, largest first; the last must be 1.
constexpr size_t kRowsPerInsert[] = {64, 16, 4, 1};

// "INSERT INTO archive (...) VALUES ($1, ..., $9), ($10, ...)" for `rows` rows.
const std::string& insert_rows_sql(size_t rows) {
  static const std::array<std::string, std::size(kRowsPerInsert)> statements = [] {
    std::array<std::string, std::size(kRowsPerInsert)> out;
    for (size_t k = 0; k < out.size(); ++k) {
      std::string sql =
          "INSERT INTO archive (domain, username, id, stamp, with_bare, with_resource, outgoing, "
          "stanza, body) VALUES ";
      int param = 0;
      for (size_t row = 0; row < kRowsPerInsert[k]; ++row) {
        sql += row ? ", (" : "(";
        for (int column = 0; column < 9; ++column)
          sql += (column ? ", $" : "$") + std::to_string(++param);
        sql += ")";
      }
      out[k] = std::move(sql);
    }
    return out;
  }();
  for (size_t k = 0; k < statements.size(); ++k)
    if (kRowsPerInsert[k] == rows) return statements[k];
  throw std::logic_error("no archive insert for that many rows");
}

class SqlArchiveStore final : public ArchiveStore {
 public:
  explicit SqlArchiveStore(Database& db) : db_(db) {}

  void append_batch(std::span<const ArchiveAppend> entries) override {
    if (entries.empty()) return;
    // The owners' locks in one global order, so two batches cannot deadlock.
    std::vector<std::string> locks;
    locks.reserve(entries.size());
    for (const auto& a : entries) locks.push_back(lock_name("archive", a.owner));
    std::sort(locks.begin(), locks.end());
    locks.erase(std::unique(locks.begin(), locks.end()), locks.end());
    in_tx(db_, Mode::Write, [&](Transaction& t) {
      // Serialises appends per owner so that seq order is commit order: a
      // reader paging "after" the newest seq can never miss one committed later.
      for (const auto& name : locks) t.lock(name);
      // Several rows per statement: SQLite's FTS5 flushes its pending index
      // data at each statement, so a statement per row wrote an index segment
      // per message (and merged them later); PostgreSQL saves round trips.
      // A few fixed sizes keep the prepared-statement cache small. Rows of
      // one VALUES list are inserted, and numbered, in their order.
      std::vector<Param> params;
      size_t done = 0;
      while (done < entries.size()) {
        const size_t left = entries.size() - done;
        const size_t rows = *std::find_if(std::begin(kRowsPerInsert), std::end(kRowsPerInsert),
                                          [left](size_t n) { return n <= left; });
        params.clear();
        for (const auto& [owner, e] : entries.subspan(done, rows)) {
          params.insert(
              params.end(),
              {std::string_view(owner.domain), std::string_view(owner.user), std::string_view(e.id),
               to_micros(e.stamp), std::string_view(e.with_bare), std::string_view(e.with_resource),
               e.outgoing, std::string_view(e.stanza_xml), std::string_view(e.body)});
        }
        t.exec_params(insert_rows_sql(rows), params);
        done += rows;
      }
    });
  }

  bool replace_with_tombstone(const AccountKey& owner, const std::string& id,
                              const std::string& stanza_xml) override {
    return in_tx(db_, Mode::Write, [&](Transaction& t) {
      t.lock(lock_name("archive", owner));
      auto r = t.exec(
          "SELECT seq, stamp, with_bare, with_resource, outgoing FROM archive "
          "WHERE domain = $1 AND username = $2 AND id = $3",
          {owner.domain, owner.user, id});
      if (r.rows.empty()) return false;
      const Row& row = r.rows[0];
      const int64_t seq = row.integer(0);
      // Delete and insert again at the same seq rather than UPDATE: the
      // backends' full-text indexes follow inserts and deletes.
      t.exec("DELETE FROM archive WHERE seq = $1", {seq});
      t.exec(
          "INSERT INTO archive (seq, domain, username, id, stamp, with_bare, with_resource, "
          "outgoing, stanza, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '')",
          {seq, owner.domain, owner.user, id, row.integer(1), row.text(2), row.text(3),
           row.boolean(4), stanza_xml});
      return true;
    });
  }

  ArchivePage query(const AccountKey& owner, const ArchiveQuery& q) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) {
      ArchivePage page;
      // Every id the query names must exist in this owner's archive.
      auto seq_of = [&](const std::string& id) -> std::optional<int64_t> {
        auto r = t.exec("SELECT seq FROM archive WHERE domain = $1 AND username = $2 AND id = $3",
                        {owner.domain, owner.user, id});
        if (r.rows.empty()) return std::nullopt;
        return r.rows[0].integer(0);
      };
      std::optional<int64_t> after, before, page_after, page_before;
      std::vector<int64_t> id_seqs;
      for (auto [id, out] : {std::pair{&q.after_id, &after}, std::pair{&q.before_id, &before},
                             std::pair{&q.page_after, &page_after}}) {
        if (!*id) continue;
        *out = seq_of(**id);
        if (!*out) {
          page.ids_found = false;
          return page;
        }
      }
      if (q.page_before && !q.page_before->empty()) {
        page_before = seq_of(*q.page_before);
        if (!page_before) {
          page.ids_found = false;
          return page;
        }
      }
      for (const auto& id : q.ids) {
        auto seq = seq_of(id);
        if (!seq) {
          page.ids_found = false;
          return page;
        }
        id_seqs.push_back(*seq);
      }

      // The filter, shared by the count and the page queries.
      std::string where = "domain = $1 AND username = $2";
      std::vector<Param> params{std::string_view(owner.domain), std::string_view(owner.user)};
      auto add = [&](std::string_view condition, Param p) {
        params.push_back(p);
        where += " AND " + std::string(condition) + "$" + std::to_string(params.size());
      };
      if (q.with_bare) add("with_bare = ", std::string_view(*q.with_bare));
      if (q.with_bare && q.with_resource)
        add("with_resource = ", std::string_view(*q.with_resource));
      if (q.start) add("stamp >= ", to_micros(*q.start));
      if (q.end) add("stamp <= ", to_micros(*q.end));
      if (after) add("seq > ", *after);
      if (before) add("seq < ", *before);
      if (!q.ids.empty()) {
        where += " AND seq IN (";
        for (size_t i = 0; i < id_seqs.size(); ++i) {
          params.push_back(id_seqs[i]);
          where += (i ? ", $" : "$") + std::to_string(params.size());
        }
        where += ")";
      }
      std::string fulltext;
      if (q.fulltext && !blank(*q.fulltext)) {
        fulltext = db_.fulltext_param(*q.fulltext);
        params.push_back(std::string_view(fulltext));
        where += " AND " + db_.fulltext_condition("$" + std::to_string(params.size()));
      }

      page.count = static_cast<size_t>(
          t.exec_params("SELECT COUNT(*) FROM archive WHERE " + where, params).scalar());

      const bool backwards = q.page_before.has_value();
      std::string sql = "SELECT seq, id, stamp, stanza FROM archive WHERE " + where;
      std::vector<Param> page_params = params;
      if (backwards && page_before) {
        page_params.push_back(*page_before);
        sql += " AND seq < $" + std::to_string(page_params.size());
      } else if (!backwards && page_after) {
        page_params.push_back(*page_after);
        sql += " AND seq > $" + std::to_string(page_params.size());
      }
      page_params.push_back(static_cast<int64_t>(q.max) + 1);
      sql += backwards ? " ORDER BY seq DESC" : " ORDER BY seq ASC";
      sql += " LIMIT $" + std::to_string(page_params.size());
      auto rows = t.exec_params(sql, page_params).rows;
      page.complete = rows.size() <= q.max;
      if (rows.size() > q.max) rows.resize(q.max);
      if (backwards) std::reverse(rows.begin(), rows.end());
      page.messages.reserve(rows.size());
      for (const auto& row : rows) {
        page.messages.push_back({row.text(1), from_micros(row.integer(2)), row.text(3)});
      }
      if (!rows.empty()) {
        std::vector<Param> index_params = params;
        index_params.push_back(rows.front().integer(0));
        page.first_index = static_cast<size_t>(
            t.exec_params("SELECT COUNT(*) FROM archive WHERE " + where + " AND seq < $" +
                              std::to_string(index_params.size()),
                          index_params)
                .scalar());
      }
      return page;
    });
  }

  std::optional<std::pair<ArchivedMessage, ArchivedMessage>> bounds(
      const AccountKey& owner) override {
    return in_tx(db_, Mode::Read,
                 [&](Transaction& t) -> std::optional<std::pair<ArchivedMessage, ArchivedMessage>> {
                   auto first = t.exec(
                       "SELECT id, stamp, stanza FROM archive WHERE domain = $1 AND username = $2 "
                       "ORDER BY seq ASC LIMIT 1",
                       {owner.domain, owner.user});
                   if (first.rows.empty()) return std::nullopt;
                   auto last = t.exec(
                       "SELECT id, stamp, stanza FROM archive WHERE domain = $1 AND username = $2 "
                       "ORDER BY seq DESC LIMIT 1",
                       {owner.domain, owner.user});
                   auto message = [](const Row& row) {
                     return ArchivedMessage{row.text(0), from_micros(row.integer(1)), row.text(2)};
                   };
                   return std::pair{message(first.rows.at(0)), message(last.rows.at(0))};
                 });
  }

  size_t count(const AccountKey& owner) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) {
      return static_cast<size_t>(
          t.exec("SELECT COUNT(*) FROM archive WHERE domain = $1 AND username = $2",
                 {owner.domain, owner.user})
              .scalar());
    });
  }

  size_t expire(const std::string& domain, Timestamp now, int default_days) override {
    constexpr int64_t kDayMicros = int64_t{86400} * 1000 * 1000;
    return in_tx(db_, Mode::Write, [&](Transaction& t) {
      size_t deleted = 0;
      // Accounts on the server's retention: one range delete on the stamp index.
      if (default_days > 0)
        deleted += t.exec(
                        "DELETE FROM archive WHERE domain = $1 AND stamp < $2 AND username NOT IN "
                        "(SELECT username FROM archive_retention WHERE domain = $1)",
                        {domain, to_micros(now) - default_days * kDayMicros})
                       .affected;
      // Accounts with their own (few, set by an admin).
      auto own = t.exec(
          "SELECT username, days FROM archive_retention WHERE domain = $1 AND days > 0", {domain});
      for (const auto& row : own.rows)
        deleted += t.exec("DELETE FROM archive WHERE domain = $1 AND username = $2 AND stamp < $3",
                          {domain, row.text(0), to_micros(now) - row.integer(1) * kDayMicros})
                       .affected;
      return deleted;
    });
  }

  std::optional<int> retention_days(const AccountKey& owner) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) -> std::optional<int> {
      auto r = t.exec("SELECT days FROM archive_retention WHERE domain = $1 AND username = $2",
                      {owner.domain, owner.user});
      if (r.rows.empty()) return std::nullopt;
      return static_cast<int>(r.rows[0].integer(0));
    });
  }

  void set_retention_days(const AccountKey& owner, std::optional<int> days) override {
    in_tx(db_, Mode::Write, [&](Transaction& t) {
      if (!days) {
        t.exec("DELETE FROM archive_retention WHERE domain = $1 AND username = $2",
               {owner.domain, owner.user});
        return;
      }
      t.exec(
          "INSERT INTO archive_retention (domain, username, days) VALUES ($1, $2, $3) "
          "ON CONFLICT (domain, username) DO UPDATE SET days = excluded.days",
          {owner.domain, owner.user, int64_t{*days}});
    });
  }

  std::optional<ArchivePrefs> prefs(const AccountKey& owner) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) -> std::optional<ArchivePrefs> {
      auto r = t.exec(
          "SELECT default_mode, always_jids, never_jids FROM archive_prefs "
          "WHERE domain = $1 AND username = $2",
          {owner.domain, owner.user});
      if (r.rows.empty()) return std::nullopt;
      return ArchivePrefs{r.rows[0].text(0), split_lines(r.rows[0].text(1)),
                          split_lines(r.rows[0].text(2))};
    });
  }

  void set_prefs(const AccountKey& owner, const ArchivePrefs& prefs) override {
    const std::string always = join_lines(prefs.always);
    const std::string never = join_lines(prefs.never);
    in_tx(db_, Mode::Write, [&](Transaction& t) {
      t.exec(
          "INSERT INTO archive_prefs (domain, username, default_mode, always_jids, never_jids) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (domain, username) DO UPDATE SET "
          "default_mode = excluded.default_mode, always_jids = excluded.always_jids, "
          "never_jids = excluded.never_jids",
          {owner.domain, owner.user, prefs.default_mode, always, never});
    });
  }

 private:
  Database& db_;
};

// Block lists and abuse reports (XEP-0191, XEP-0377).
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

// Multi-user chat rooms and affiliations (XEP-0045).
class SqlMucStore final : public MucStore {
 public:
  explicit SqlMucStore(Database& db) : db_(db) {}

  void put_room(const MucRoom& room) override {
    in_tx(db_, Mode::Write, [&](Transaction& t) {
      t.exec(
          "INSERT INTO muc_rooms (service, room, config, subject, created) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (service, room) DO UPDATE SET "
          "config = excluded.config, subject = excluded.subject",
          {room.service, room.room, room.config, room.subject, to_micros(room.created)});
    });
  }

  bool remove_room(const std::string& service, const std::string& room) override {
    return in_tx(db_, Mode::Write, [&](Transaction& t) {
      t.exec("DELETE FROM muc_affiliations WHERE service = $1 AND room = $2", {service, room});
      // The room's archive is kept like an account's, owner (service, room).
      t.exec("DELETE FROM archive WHERE domain = $1 AND username = $2", {service, room});
      return t.exec("DELETE FROM muc_rooms WHERE service = $1 AND room = $2", {service, room})
                 .affected > 0;
    });
  }

  std::vector<MucRoom> rooms(const std::string& service) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) {
      std::vector<MucRoom> out;
      auto r = t.exec(
          "SELECT room, config, subject, created FROM muc_rooms WHERE service = $1 ORDER BY room",
          {service});
      out.reserve(r.rows.size());
      for (const auto& row : r.rows)
        out.push_back({service, row.text(0), row.text(1), row.text(2), from_micros(row.integer(3))});
      return out;
    });
  }

  std::vector<MucAffiliation> affiliations(const std::string& service,
                                           const std::string& room) override {
    return in_tx(db_, Mode::Read, [&](Transaction& t) {
      std::vector<MucAffiliation> out;
      auto r = t.exec(
          "SELECT jid, affiliation, nick, reason FROM muc_affiliations "
          "WHERE service = $1 AND room = $2 ORDER BY jid",
          {service, room});
      out.reserve(r.rows.size());
      for (const auto& row : r.rows)
        out.push_back({row.text(0), row.text(1), row.text(2), row.text(3)});
      return out;
    });
  }

  void set_affiliation(const std::string& service, const std::string& room,
                       const MucAffiliation& a) override {
    in_tx(db_, Mode::Write, [&](Transaction& t) {
      if (a.affiliation == "none") {
        t.exec("DELETE FROM muc_affiliations WHERE service = $1 AND room = $2 AND jid = $3",
               {service, room, a.jid});
        return;
      }
      t.exec(
          "INSERT INTO muc_affiliations (service, room, jid, affiliation, nick, reason) "
          "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (service, room, jid) DO UPDATE SET "
          "affiliation = excluded.affiliation, nick = excluded.nick, reason = excluded.reason",
          {service, room, a.jid, a.affiliation, a.nick, a.reason});
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
        archive_(*db_),
        blocklist_(*db_),
        muc_(*db_) {}

  AccountStore& accounts() override { return accounts_; }
  RosterStore& roster() override { return roster_; }
  OfflineStore& offline() override { return offline_; }
  KeyValueStore& keyval() override { return keyval_; }
  ArchiveStore& archive() override { return archive_; }
  BlockListStore& blocklist() override { return blocklist_; }
  MucStore& muc() override { return muc_; }
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
  SqlArchiveStore archive_;
  SqlBlockListStore blocklist_;
  SqlMucStore muc_;
};

}  // namespace

std::unique_ptr<Storage> make_sql_storage(std::unique_ptr<Database> db,
                                          const std::vector<Migration>& migrations) {
  auto storage = std::make_unique<SqlStorage>(std::move(db));
  storage->migrate(migrations);
  return storage;
}

}  // namespace parley::storage::sql

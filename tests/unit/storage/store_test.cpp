// The store interfaces against both backends. Every TEST_P runs once on SQLite
// and once on PostgreSQL (PARLEY_TEST_PG_URI; skipped without it unless
// PARLEY_REQUIRE_PG=1). Each test gets a fresh database.
#include "storage/store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "store_test_support.hpp"

namespace parley::storage {
namespace {

using namespace std::chrono_literals;
using test::TestDatabase;

// Timestamps are stored with microsecond precision.
Timestamp now_us() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
}

sasl::ScramCredential cred(sasl::Hash hash, std::string salt, uint32_t iterations,
                           std::string stored_key, std::string server_key) {
  sasl::ScramCredential c;
  c.hash = hash;
  c.salt = std::move(salt);
  c.iterations = iterations;
  c.stored_key = std::move(stored_key);
  c.server_key = std::move(server_key);
  return c;
}

bool same(const sasl::ScramCredential& a, const sasl::ScramCredential& b) {
  return a.hash == b.hash && a.salt == b.salt && a.iterations == b.iterations &&
         a.stored_key == b.stored_key && a.server_key == b.server_key;
}

// Raw key material: NUL, high bytes, quote and backslash must survive.
const std::string kBinary("\x00\x01\xff\xfe'\\\"x\x00", 9);

RosterItem item(std::string jid, std::string name, Subscription sub,
                std::vector<std::string> groups = {}) {
  RosterItem i;
  i.jid = std::move(jid);
  i.name = std::move(name);
  i.subscription = sub;
  i.groups = std::move(groups);
  return i;
}

// The number of migrations both backends ship.
constexpr int kSchemaVersion = 5;

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql" && !test::pg_uri()) {
      if (test::pg_required()) {
        FAIL() << "PARLEY_REQUIRE_PG=1 but PARLEY_TEST_PG_URI is not set";
      }
      GTEST_SKIP() << "PARLEY_TEST_PG_URI is not set (see tests/support/pg_cluster.sh)";
    }
    db_ = test::make_test_database(GetParam());
    storage_ = open_storage(db_->config());
  }

  void TearDown() override {
    storage_.reset();
    db_.reset();
  }

  void reopen() {
    storage_.reset();
    storage_ = open_storage(db_->config());
  }

  Account account(const std::string& domain, const std::string& user, bool admin = false) {
    Account a;
    a.key = {domain, user};
    a.admin = admin;
    a.created = now_us();
    a.credentials = {cred(sasl::Hash::Sha256, "salt256", 4096, "stored256", "server256")};
    return a;
  }

  int64_t rows_for(const std::string& table, const AccountKey& k) {
    return db_->query_int("SELECT COUNT(*) FROM " + table + " WHERE domain = '" + k.domain +
                          "' AND username = '" + k.user + "'");
  }

  AccountStore& accounts() { return storage_->accounts(); }
  RosterStore& roster() { return storage_->roster(); }
  OfflineStore& offline() { return storage_->offline(); }
  KeyValueStore& keyval() { return storage_->keyval(); }
  BlockListStore& blocklist() { return storage_->blocklist(); }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Storage> storage_;
  const AccountKey alice_{"example.org", "alice"};
  const AccountKey bob_{"example.org", "bob"};
};

// --- general ------------------------------------------------------------------

TEST_P(StoreTest, BackendNameAndSchemaVersion) {
  EXPECT_EQ(storage_->backend_name(), GetParam());
  EXPECT_EQ(storage_->schema_version(), kSchemaVersion);
  EXPECT_EQ(db_->query_int("SELECT COUNT(*) FROM schema_version"), kSchemaVersion);
  storage_->flush();
}

TEST_P(StoreTest, ReopenKeepsDataAndDoesNotRerunMigrations) {
  ASSERT_TRUE(accounts().create(account("example.org", "alice")));
  roster().put_item(alice_, item("bob@example.org", "Bob", Subscription::Both, {"Friends"}));
  ASSERT_TRUE(offline().push(alice_, "<message/>", now_us(), 0));
  keyval().put(alice_, "vcard", "", "<vCard/>");
  int64_t applied = db_->query_int("SELECT applied FROM schema_version WHERE version = 1");
  storage_->flush();

  reopen();
  reopen();

  EXPECT_EQ(storage_->schema_version(), kSchemaVersion);
  EXPECT_EQ(db_->query_int("SELECT COUNT(*) FROM schema_version"), kSchemaVersion);
  EXPECT_EQ(db_->query_int("SELECT applied FROM schema_version WHERE version = 1"), applied);
  EXPECT_TRUE(accounts().exists(alice_));
  auto r = roster().get(alice_);
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].groups, std::vector<std::string>{"Friends"});
  EXPECT_EQ(r.version, 1u);
  EXPECT_EQ(offline().count(alice_), 1u);
  EXPECT_EQ(keyval().get(alice_, "vcard", ""), "<vCard/>");
  // The next version continues from the stored one.
  EXPECT_EQ(roster().put_item(alice_, item("carol@example.org", "", Subscription::None)), 2u);
}

TEST_P(StoreTest, RefusesSchemaNewerThanThisBuild) {
  storage_.reset();
  db_->exec("INSERT INTO schema_version (version, applied) VALUES (99, 0)");
  try {
    storage_ = open_storage(db_->config());
    FAIL() << "opened a database with schema version 99";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("99"), std::string::npos) << e.what();
  }
}

TEST_P(StoreTest, ConcurrentOpensApplyMigrationsOnce) {
  // Two servers starting at once on the same database.
  storage_.reset();
  db_ = test::make_test_database(GetParam());  // fresh, unmigrated
  std::vector<std::unique_ptr<Storage>> opened(4);
  std::vector<std::string> errors(opened.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < opened.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        opened[i] = open_storage(db_->config());
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < opened.size(); ++i) {
    EXPECT_TRUE(opened[i]) << errors[i];
  }
  EXPECT_EQ(db_->query_int("SELECT COUNT(*) FROM schema_version"), kSchemaVersion);
  ASSERT_TRUE(opened[0]);
  EXPECT_TRUE(opened[0]->accounts().create(account("example.org", "alice")));
  ASSERT_TRUE(opened[1]);
  EXPECT_TRUE(opened[1]->accounts().exists(alice_));
}

// --- accounts -----------------------------------------------------------------

TEST_P(StoreTest, AccountCreateGetAndDuplicateRefused) {
  Account a = account("example.org", "alice", true);
  a.credentials = {
      cred(sasl::Hash::Sha1, kBinary, 4096, std::string(20, '\x01'), kBinary),
      cred(sasl::Hash::Sha256, "s\xff", 10000, std::string(32, '\0'), std::string(32, '\xee'))};
  EXPECT_FALSE(accounts().exists(alice_));
  EXPECT_FALSE(accounts().get(alice_));
  ASSERT_TRUE(accounts().create(a));
  EXPECT_TRUE(accounts().exists(alice_));

  auto got = accounts().get(alice_);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->key, alice_);
  EXPECT_TRUE(got->admin);
  EXPECT_EQ(got->created, a.created);
  ASSERT_EQ(got->credentials.size(), 2u);
  // Ordered by hash name: SHA-1, then SHA-256.
  EXPECT_TRUE(same(got->credentials[0], a.credentials[0]));
  EXPECT_TRUE(same(got->credentials[1], a.credentials[1]));

  // Duplicate refused; the original is untouched.
  Account again = account("example.org", "alice", false);
  EXPECT_FALSE(accounts().create(again));
  got = accounts().get(alice_);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->admin);
  EXPECT_EQ(got->credentials.size(), 2u);

  // Same user name in another domain is another account.
  EXPECT_TRUE(accounts().create(account("example.net", "alice")));
}

TEST_P(StoreTest, AccountWithoutCredentialsAndEmptySalt) {
  Account a = account("example.org", "alice");
  a.credentials.clear();
  ASSERT_TRUE(accounts().create(a));
  auto got = accounts().get(alice_);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->credentials.empty());
  EXPECT_FALSE(got->admin);

  auto empty = cred(sasl::Hash::Sha256, "", 1, "", "");
  ASSERT_TRUE(accounts().set_credentials(alice_, {empty}));
  got = accounts().get(alice_);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->credentials.size(), 1u);
  EXPECT_TRUE(same(got->credentials[0], empty));
}

TEST_P(StoreTest, SetCredentialsReplacesAll) {
  ASSERT_TRUE(accounts().create(account("example.org", "alice")));
  auto sha1 = cred(sasl::Hash::Sha1, "new-salt", 8192, kBinary, "sk1");
  ASSERT_TRUE(accounts().set_credentials(alice_, {sha1}));
  auto got = accounts().get(alice_);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->credentials.size(), 1u);
  EXPECT_TRUE(same(got->credentials[0], sha1));

  auto sha256 = cred(sasl::Hash::Sha256, "s2", 4096, "k2", "k3");
  ASSERT_TRUE(accounts().set_credentials(alice_, {sha256, sha1}));
  got = accounts().get(alice_);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->credentials.size(), 2u);
  EXPECT_TRUE(same(got->credentials[0], sha1));
  EXPECT_TRUE(same(got->credentials[1], sha256));

  EXPECT_FALSE(accounts().set_credentials(bob_, {sha1}));
  EXPECT_FALSE(accounts().exists(bob_));

  // Two credentials for one hash: refused, and nothing changed.
  EXPECT_THROW(accounts().set_credentials(alice_, {sha1, sha1}), StorageError);
  got = accounts().get(alice_);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->credentials.size(), 2u);
}

TEST_P(StoreTest, SetAdmin) {
  ASSERT_TRUE(accounts().create(account("example.org", "alice")));
  EXPECT_FALSE(accounts().get(alice_)->admin);
  EXPECT_TRUE(accounts().set_admin(alice_, true));
  EXPECT_TRUE(accounts().get(alice_)->admin);
  EXPECT_TRUE(accounts().set_admin(alice_, true));  // unchanged is still success
  EXPECT_TRUE(accounts().set_admin(alice_, false));
  EXPECT_FALSE(accounts().get(alice_)->admin);
  EXPECT_FALSE(accounts().set_admin(bob_, true));
}

TEST_P(StoreTest, ListByDomainIsSortedAndIsolated) {
  for (const char* u : {"zoe", "alice", "bob"}) {
    ASSERT_TRUE(accounts().create(account("example.org", u)));
  }
  ASSERT_TRUE(accounts().create(account("example.net", "mallory")));
  ASSERT_TRUE(accounts().create(account("sub.example.org", "carol")));
  EXPECT_EQ(accounts().list("example.org"), (std::vector<std::string>{"alice", "bob", "zoe"}));
  EXPECT_EQ(accounts().list("example.net"), std::vector<std::string>{"mallory"});
  EXPECT_TRUE(accounts().list("nowhere.example").empty());
  EXPECT_TRUE(accounts().list("").empty());
  EXPECT_TRUE(accounts().list("%").empty());  // no LIKE
}

TEST_P(StoreTest, RemoveCascadesToEverythingOfThatAccountOnly) {
  for (const AccountKey* k : {&alice_, &bob_}) {
    ASSERT_TRUE(accounts().create(account(k->domain, k->user)));
    roster().put_item(*k, item("x@example.com", "X", Subscription::Both, {"G1", "G2"}));
    roster().put_pending_in(*k, "y@example.com", "<presence type='subscribe'/>");
    ASSERT_TRUE(offline().push(*k, "<message/>", now_us(), 0));
    keyval().put(*k, "vcard", "", "<vCard/>");
    blocklist().block(*k, {"spam@example.com"}, {});
  }
  const AccountKey other_domain{"example.net", "alice"};
  ASSERT_TRUE(accounts().create(account(other_domain.domain, other_domain.user)));
  keyval().put(other_domain, "vcard", "", "<vCard/>");

  ASSERT_TRUE(accounts().remove(alice_));

  EXPECT_FALSE(accounts().exists(alice_));
  EXPECT_FALSE(accounts().get(alice_));
  Roster r = roster().get(alice_);
  EXPECT_TRUE(r.items.empty());
  EXPECT_EQ(r.version, 0u);
  EXPECT_TRUE(roster().pending_in(alice_).empty());
  EXPECT_EQ(offline().count(alice_), 0u);
  EXPECT_FALSE(keyval().get(alice_, "vcard", ""));
  for (const char* table :
       {"accounts", "credentials", "roster_items", "roster_groups", "roster_versions",
        "roster_pending_in", "offline", "keyval", "blocklist"}) {
    EXPECT_EQ(rows_for(table, alice_), 0) << table;
  }

  // Bob and the other domain's alice are untouched.
  EXPECT_TRUE(accounts().exists(bob_));
  EXPECT_EQ(accounts().get(bob_)->credentials.size(), 1u);
  Roster rb = roster().get(bob_);
  ASSERT_EQ(rb.items.size(), 1u);
  EXPECT_EQ(rb.items[0].groups, (std::vector<std::string>{"G1", "G2"}));
  EXPECT_EQ(rb.version, 1u);
  EXPECT_EQ(roster().pending_in(bob_).size(), 1u);
  EXPECT_EQ(offline().count(bob_), 1u);
  EXPECT_EQ(keyval().get(bob_, "vcard", ""), "<vCard/>");
  EXPECT_EQ(blocklist().get(bob_), std::vector<std::string>{"spam@example.com"});
  EXPECT_TRUE(accounts().exists(other_domain));
  EXPECT_EQ(keyval().get(other_domain, "vcard", ""), "<vCard/>");

  EXPECT_FALSE(accounts().remove(alice_));
  // The name can be registered again, with a clean slate.
  ASSERT_TRUE(accounts().create(account("example.org", "alice")));
  EXPECT_EQ(roster().get(alice_).version, 0u);
}

TEST_P(StoreTest, RemoveDeletesDataLeftWithoutAnAccount) {
  roster().put_item(alice_, item("x@example.com", "", Subscription::None));
  keyval().put(alice_, "private", "k", "v");
  EXPECT_FALSE(accounts().remove(alice_));          // no account row...
  EXPECT_TRUE(roster().get(alice_).items.empty());  // ...but its data is gone
  EXPECT_FALSE(keyval().get(alice_, "private", "k"));
}

// --- roster -------------------------------------------------------------------

TEST(Subscription, StringsRoundTrip) {
  for (auto s : {Subscription::None, Subscription::To, Subscription::From, Subscription::Both,
                 Subscription::Remove}) {
    EXPECT_EQ(subscription_from_string(to_string(s)), s);
  }
  EXPECT_STREQ(to_string(Subscription::None), "none");
  EXPECT_STREQ(to_string(Subscription::To), "to");
  EXPECT_STREQ(to_string(Subscription::From), "from");
  EXPECT_STREQ(to_string(Subscription::Both), "both");
  EXPECT_STREQ(to_string(Subscription::Remove), "remove");
  EXPECT_FALSE(subscription_from_string(""));
  EXPECT_FALSE(subscription_from_string("Both"));
  EXPECT_FALSE(subscription_from_string("both "));
}

TEST_P(StoreTest, RosterPutGetUpdateRemoveWithVersions) {
  Roster empty = roster().get(alice_);
  EXPECT_TRUE(empty.items.empty());
  EXPECT_EQ(empty.version, 0u);
  EXPECT_FALSE(roster().get_item(alice_, "bob@example.org"));

  RosterItem b = item("bob@example.org", "Bob", Subscription::To, {"Friends", "Work"});
  b.ask_out = true;
  EXPECT_EQ(roster().put_item(alice_, b), 1u);
  RosterItem c = item("carol@example.org", "", Subscription::None);
  c.approved = true;
  EXPECT_EQ(roster().put_item(alice_, c), 2u);

  Roster r = roster().get(alice_);
  EXPECT_EQ(r.version, 2u);
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0], b);
  EXPECT_EQ(r.items[1], c);
  EXPECT_EQ(roster().get_item(alice_, "bob@example.org"), b);
  EXPECT_EQ(roster().get_item(alice_, "carol@example.org"), c);

  // Update: every field replaced, groups shrink.
  RosterItem b2 = item("bob@example.org", "Robert", Subscription::Both, {"Work"});
  b2.approved = true;
  EXPECT_EQ(roster().put_item(alice_, b2), 3u);
  EXPECT_EQ(roster().get_item(alice_, "bob@example.org"), b2);
  // Writing the same item again is still a change of version.
  EXPECT_EQ(roster().put_item(alice_, b2), 4u);

  EXPECT_EQ(roster().remove_item(alice_, "carol@example.org"), 5u);
  EXPECT_FALSE(roster().get_item(alice_, "carol@example.org"));
  EXPECT_EQ(roster().remove_item(alice_, "carol@example.org"), std::nullopt);
  EXPECT_EQ(roster().remove_item(alice_, "nobody@example.org"), std::nullopt);
  r = roster().get(alice_);
  EXPECT_EQ(r.version, 5u);  // failed removals are no change
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0], b2);

  // Versions are per account; JIDs are matched exactly.
  EXPECT_EQ(roster().get(bob_).version, 0u);
  EXPECT_EQ(roster().put_item(bob_, item("alice@example.org", "", Subscription::From)), 1u);
  EXPECT_FALSE(roster().get_item(alice_, "BOB@example.org"));
  EXPECT_EQ(roster().get(alice_).version, 5u);

  // Removing the last item leaves an empty roster with a non-zero version.
  EXPECT_EQ(roster().remove_item(alice_, "bob@example.org"), 6u);
  r = roster().get(alice_);
  EXPECT_TRUE(r.items.empty());
  EXPECT_EQ(r.version, 6u);
}

TEST_P(StoreTest, RosterAllSubscriptionStates) {
  const Subscription states[] = {Subscription::None, Subscription::To, Subscription::From,
                                 Subscription::Both};
  for (auto s : states) {
    roster().put_item(alice_, item(std::string("c-") + to_string(s) + "@example.org", "", s));
  }
  for (auto s : states) {
    auto got = roster().get_item(alice_, std::string("c-") + to_string(s) + "@example.org");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->subscription, s);
  }
}

TEST_P(StoreTest, RosterTextIsStoredLiterally) {
  const std::string evil = "'; DROP TABLE accounts;--";
  ASSERT_TRUE(accounts().create(account("example.org", "alice")));
  RosterItem i =
      item("o'brien@example.org", evil, Subscription::Both,
           {"Zeta", "alpha", "Ärzte 🚑", "\"quoted\"", evil, "Robert'); DROP TABLE roster_items;--",
            "back\\slash", "$1 ?1 %s", "", "Zeta"});  // duplicates and empty names kept, order kept
  EXPECT_EQ(roster().put_item(alice_, i), 1u);
  RosterItem j = item("日本@例え.jp", "名前 «ñ» 😀", Subscription::To, {"友達"});
  EXPECT_EQ(roster().put_item(alice_, j), 2u);

  EXPECT_EQ(roster().get_item(alice_, "o'brien@example.org"), i);
  EXPECT_EQ(roster().get_item(alice_, "日本@例え.jp"), j);
  Roster r = roster().get(alice_);
  ASSERT_EQ(r.items.size(), 2u);
  auto it = std::find_if(r.items.begin(), r.items.end(),
                         [](const RosterItem& x) { return x.jid == "o'brien@example.org"; });
  ASSERT_NE(it, r.items.end());
  EXPECT_EQ(*it, i);

  // The same strings as keys elsewhere.
  keyval().put(alice_, evil, evil, evil);
  EXPECT_EQ(keyval().get(alice_, evil, evil), evil);
  roster().put_pending_in(alice_, evil, evil);
  EXPECT_EQ(roster().pending_in(alice_),
            (std::vector<std::pair<std::string, std::string>>{{evil, evil}}));

  EXPECT_TRUE(accounts().exists(alice_));
  EXPECT_EQ(db_->query_int("SELECT COUNT(*) FROM accounts"), 1);
  EXPECT_EQ(db_->query_int("SELECT COUNT(*) FROM roster_items"), 2);
}

TEST_P(StoreTest, TextWithNulIsRefusedInBothBackends) {
  EXPECT_THROW(keyval().put(alice_, std::string("a\0b", 3), "k", "v"), StorageError);
  // Values are binary and may hold anything.
  keyval().put(alice_, "s", "k", kBinary);
  EXPECT_EQ(keyval().get(alice_, "s", "k"), kBinary);
}

TEST_P(StoreTest, PendingInOrderedReplacedAndRemovable) {
  roster().put_pending_in(alice_, "carol@example.org", "<presence from='carol' n='1'/>");
  roster().put_pending_in(alice_, "alan@example.org", "<presence from='alan'/>");
  roster().put_pending_in(alice_, "bob@example.org", "<presence from='bob'/>");
  roster().put_pending_in(bob_, "zed@example.org", "<presence from='zed'/>");

  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(roster().pending_in(alice_),
            (Pairs{{"carol@example.org", "<presence from='carol' n='1'/>"},
                   {"alan@example.org", "<presence from='alan'/>"},
                   {"bob@example.org", "<presence from='bob'/>"}}));

  // A repeated request keeps its place, with the latest stanza.
  roster().put_pending_in(alice_, "carol@example.org", "<presence from='carol' n='2'/>");
  EXPECT_EQ(
      roster().pending_in(alice_).front(),
      (std::pair<std::string, std::string>{"carol@example.org", "<presence from='carol' n='2'/>"}));
  EXPECT_EQ(roster().pending_in(alice_).size(), 3u);

  roster().remove_pending_in(alice_, "alan@example.org");
  roster().remove_pending_in(alice_, "nobody@example.org");  // no-op
  EXPECT_EQ(roster().pending_in(alice_),
            (Pairs{{"carol@example.org", "<presence from='carol' n='2'/>"},
                   {"bob@example.org", "<presence from='bob'/>"}}));
  // Pending-in does not touch the roster version.
  EXPECT_EQ(roster().get(alice_).version, 0u);
  EXPECT_EQ(roster().pending_in(bob_), (Pairs{{"zed@example.org", "<presence from='zed'/>"}}));
}

// --- offline ------------------------------------------------------------------

TEST_P(StoreTest, OfflinePushKeepsOrderAndTimestamps) {
  Timestamp t0 = now_us();
  std::vector<std::string> stanzas;
  for (int i = 0; i < 5; ++i) {
    stanzas.push_back("<message id='" + std::to_string(i) + "'>ü</message>");
    // Deliberately not in time order: order is arrival order.
    ASSERT_TRUE(offline().push(alice_, stanzas.back(), t0 - std::chrono::seconds(i), 0));
  }
  ASSERT_TRUE(offline().push(bob_, "<message to='bob'/>", t0, 0));

  auto msgs = offline().peek(alice_);
  ASSERT_EQ(msgs.size(), 5u);
  for (size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_EQ(msgs[i].stanza_xml, stanzas[i]);
    EXPECT_EQ(msgs[i].stored, t0 - std::chrono::seconds(i));
    if (i > 0) {
      EXPECT_GT(msgs[i].id, msgs[i - 1].id);
    }
  }
  EXPECT_EQ(offline().count(alice_), 5u);
  EXPECT_EQ(offline().peek(alice_).size(), 5u);  // peek does not consume
  EXPECT_EQ(offline().count(bob_), 1u);
  EXPECT_TRUE(offline().peek({"example.net", "alice"}).empty());
}

TEST_P(StoreTest, OfflineQuotaEnforced) {
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(offline().push(alice_, "<m/>", now_us(), 3));
  EXPECT_FALSE(offline().push(alice_, "<m/>", now_us(), 3));
  EXPECT_EQ(offline().count(alice_), 3u);
  EXPECT_TRUE(offline().push(alice_, "<m/>", now_us(), 4));  // a larger quota
  EXPECT_FALSE(offline().push(alice_, "<m/>", now_us(), 4));
  EXPECT_TRUE(offline().push(bob_, "<m/>", now_us(), 1));  // per account
  // Delivering makes room again.
  auto msgs = offline().peek(alice_);
  offline().remove_up_to(alice_, msgs[0].id);
  EXPECT_TRUE(offline().push(alice_, "<m/>", now_us(), 4));
  EXPECT_FALSE(offline().push(alice_, "<m/>", now_us(), 4));
  // 0 = unlimited.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(offline().push(alice_, "<m/>", now_us(), 0));
  EXPECT_EQ(offline().count(alice_), 14u);
}

TEST_P(StoreTest, OfflineQuotaIsAtomicUnderConcurrency) {
  // Several rounds of simultaneous pushes racing for the last free places.
  constexpr int kThreads = 4, kPushes = 4, kQuota = 6, kRounds = 15;
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<int> accepted{0}, ready{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ++ready;
        while (ready.load() < kThreads) std::this_thread::yield();
        for (int i = 0; i < kPushes; ++i) {
          if (offline().push(alice_, "<m t='" + std::to_string(t) + "'/>", now_us(), kQuota)) {
            ++accepted;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(accepted.load(), kQuota) << "round " << round;
    ASSERT_EQ(offline().count(alice_), static_cast<size_t>(kQuota)) << "round " << round;
    offline().remove_up_to(alice_, offline().peek(alice_).back().id);
  }
}

TEST_P(StoreTest, OfflinePeekThenRemoveUpTo) {
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(offline().push(alice_, "<m n='" + std::to_string(i) + "'/>", now_us(), 0));
  }
  ASSERT_TRUE(offline().push(bob_, "<m/>", now_us(), 0));
  auto msgs = offline().peek(alice_);
  ASSERT_EQ(msgs.size(), 4u);

  offline().remove_up_to(alice_, msgs[1].id);
  auto rest = offline().peek(alice_);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].id, msgs[2].id);
  EXPECT_EQ(rest[0].stanza_xml, "<m n='2'/>");
  EXPECT_EQ(rest[1].id, msgs[3].id);
  EXPECT_EQ(offline().count(bob_), 1u);  // ids are global; bob's is not touched

  // A message arriving after the peek is kept by remove_up_to of the peeked ids.
  ASSERT_TRUE(offline().push(alice_, "<m n='late'/>", now_us(), 0));
  offline().remove_up_to(alice_, rest.back().id);
  rest = offline().peek(alice_);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].stanza_xml, "<m n='late'/>");
  EXPECT_GT(rest[0].id, msgs[3].id);

  offline().remove_up_to(alice_, 0);  // nothing
  EXPECT_EQ(offline().count(alice_), 1u);
  // Ids are never reused, even after everything was removed.
  offline().remove_up_to(alice_, rest[0].id);
  EXPECT_EQ(offline().count(alice_), 0u);
  ASSERT_TRUE(offline().push(alice_, "<m/>", now_us(), 0));
  EXPECT_GT(offline().peek(alice_)[0].id, rest[0].id);
}

TEST_P(StoreTest, OfflineExpireByStoredTimestamp) {
  Timestamp now = now_us();
  ASSERT_TRUE(offline().push(alice_, "<old/>", now - 240h, 0));
  ASSERT_TRUE(offline().push(alice_, "<mid/>", now - 120h, 0));
  ASSERT_TRUE(offline().push(alice_, "<new/>", now, 0));
  ASSERT_TRUE(offline().push(bob_, "<old/>", now - 200h, 0));

  EXPECT_EQ(offline().expire("example.org", now - 300h), 0u);
  EXPECT_EQ(offline().expire("example.org", now - 144h), 2u);  // alice's and bob's oldest
  EXPECT_EQ(offline().count(bob_), 0u);
  auto msgs = offline().peek(alice_);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].stanza_xml, "<mid/>");
  // Strictly before the cutoff.
  EXPECT_EQ(offline().expire("example.org", now - 120h), 0u);
  EXPECT_EQ(offline().expire("example.org", now - 120h + 1us), 1u);
  EXPECT_EQ(offline().expire("example.org", now + 1us), 1u);
  EXPECT_EQ(offline().count(alice_), 0u);
  EXPECT_EQ(offline().expire("example.org", now + 1000h), 0u);
  // Another domain's messages keep their own retention.
  const AccountKey carol{"example.net", "carol"};
  ASSERT_TRUE(offline().push(carol, "<old/>", now - 240h, 0));
  EXPECT_EQ(offline().expire("example.org", now), 0u);
  EXPECT_EQ(offline().count(carol), 1u);
  EXPECT_EQ(offline().expire("example.net", now), 1u);
}

// --- key/value ----------------------------------------------------------------

TEST_P(StoreTest, KeyValuePutGetOverwriteRemove) {
  EXPECT_FALSE(keyval().get(alice_, "vcard", ""));
  keyval().put(alice_, "vcard", "", "<vCard><FN>Alice</FN></vCard>");
  keyval().put(alice_, "private", "storage:bookmarks", "<storage/>");
  keyval().put(alice_, "private", "other:ns", "<x/>");
  keyval().put(bob_, "vcard", "", "<vCard><FN>Bob</FN></vCard>");
  keyval().put(alice_, "empty", "k", "");

  EXPECT_EQ(keyval().get(alice_, "vcard", ""), "<vCard><FN>Alice</FN></vCard>");
  EXPECT_EQ(keyval().get(alice_, "private", "storage:bookmarks"), "<storage/>");
  EXPECT_EQ(keyval().get(alice_, "private", "other:ns"), "<x/>");
  EXPECT_EQ(keyval().get(bob_, "vcard", ""), "<vCard><FN>Bob</FN></vCard>");
  EXPECT_EQ(keyval().get(alice_, "empty", "k"), "");
  EXPECT_FALSE(keyval().get(alice_, "vcard", "x"));
  EXPECT_FALSE(keyval().get(alice_, "VCARD", ""));

  keyval().put(alice_, "vcard", "", "<vCard><FN>Alice 2 ✓</FN></vCard>");
  EXPECT_EQ(keyval().get(alice_, "vcard", ""), "<vCard><FN>Alice 2 ✓</FN></vCard>");
  EXPECT_EQ(rows_for("keyval", alice_), 4);

  keyval().remove(alice_, "private", "storage:bookmarks");
  keyval().remove(alice_, "private", "missing");  // no-op
  EXPECT_FALSE(keyval().get(alice_, "private", "storage:bookmarks"));
  EXPECT_EQ(keyval().get(alice_, "private", "other:ns"), "<x/>");
  EXPECT_EQ(keyval().get(bob_, "vcard", ""), "<vCard><FN>Bob</FN></vCard>");

  std::string big(1 << 20, 'x');  // a vCard with a photo
  keyval().put(alice_, "vcard", "", big);
  EXPECT_EQ(keyval().get(alice_, "vcard", ""), big);
}

// --- block lists and abuse reports ----------------------------------------------

TEST_P(StoreTest, BlockListAddRemoveAndUnblockAll) {
  EXPECT_TRUE(blocklist().get(alice_).empty());
  EXPECT_EQ(blocklist().block(alice_, {"b@x.org", "x.org", "c@y.org/phone"}, {}),
            (std::vector<std::string>{"b@x.org", "x.org", "c@y.org/phone"}));
  // Blocking again adds only what is new.
  EXPECT_EQ(blocklist().block(alice_, {"x.org", "d@z.org"}, {}),
            std::vector<std::string>{"d@z.org"});
  blocklist().block(bob_, {"b@x.org"}, {});
  EXPECT_EQ(blocklist().get(alice_),
            (std::vector<std::string>{"b@x.org", "c@y.org/phone", "d@z.org", "x.org"}));
  EXPECT_EQ(blocklist().all("example.org").size(), 5u);
  EXPECT_TRUE(blocklist().all("example.net").empty());

  EXPECT_EQ(blocklist().unblock(alice_, {"x.org", "never@blocked.org"}),
            std::vector<std::string>{"x.org"});
  EXPECT_EQ(blocklist().unblock(alice_, {}),
            (std::vector<std::string>{"b@x.org", "c@y.org/phone", "d@z.org"}));
  EXPECT_TRUE(blocklist().get(alice_).empty());
  EXPECT_EQ(blocklist().get(bob_), std::vector<std::string>{"b@x.org"});
}

TEST_P(StoreTest, AbuseReportsRecordedWithBlocksAndKeptAfterAccountRemoval) {
  ASSERT_TRUE(accounts().create(account("example.org", "alice")));
  AbuseReport r;
  r.reporter = alice_;
  r.reported = "spammer@evil.example";
  r.reason = "urn:xmpp:reporting:spam";
  r.text = "Buy ✓ now & <cheap>";
  r.created = now_us();
  blocklist().block(alice_, {"spammer@evil.example"}, {r});
  AbuseReport r2 = r;
  r2.reporter = {"example.net", "carol"};
  r2.reason = "urn:xmpp:reporting:abuse";
  r2.text = "";
  blocklist().block(r2.reporter, {"spammer@evil.example"}, {r2});

  auto all = blocklist().reports("", 0);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].reporter, r2.reporter);  // newest first
  EXPECT_EQ(all[1].reporter, alice_);
  EXPECT_EQ(all[1].reported, "spammer@evil.example");
  EXPECT_EQ(all[1].reason, "urn:xmpp:reporting:spam");
  EXPECT_EQ(all[1].text, "Buy ✓ now & <cheap>");
  EXPECT_EQ(all[1].created, r.created);
  EXPECT_GT(all[0].id, all[1].id);
  EXPECT_EQ(blocklist().reports("example.org", 0).size(), 1u);
  EXPECT_EQ(blocklist().reports("", 1).size(), 1u);

  ASSERT_TRUE(accounts().remove(alice_));
  EXPECT_TRUE(blocklist().get(alice_).empty());
  EXPECT_EQ(blocklist().reports("example.org", 0).size(), 1u);
}

// --- concurrency and failures ---------------------------------------------------

TEST_P(StoreTest, ConcurrentRosterWritesGetDistinctVersions) {
  constexpr int kThreads = 4, kWrites = 10;
  std::vector<std::vector<uint64_t>> versions(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        versions[t].push_back(
            roster().put_item(alice_, item("c" + std::to_string(t) + "-" + std::to_string(i) + "@x",
                                           "", Subscription::None, {"g"})));
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<uint64_t> all;
  for (const auto& v : versions) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kWrites));
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), static_cast<uint64_t>(kThreads * kWrites));
  Roster r = roster().get(alice_);
  EXPECT_EQ(r.version, static_cast<uint64_t>(kThreads * kWrites));
  EXPECT_EQ(r.items.size(), static_cast<size_t>(kThreads * kWrites));
}

TEST_P(StoreTest, SurvivesLostServerConnections) {
  ASSERT_TRUE(accounts().create(account("example.org", "alice")));
  // Use every pooled connection, then have the server drop them all.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) EXPECT_TRUE(accounts().exists(alice_));
    });
  }
  for (auto& t : threads) t.join();
  db_->kill_connections();
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(accounts().exists(alice_));
    EXPECT_TRUE(offline().push(alice_, "<m/>", now_us(), 0));
  }
  EXPECT_EQ(offline().count(alice_), 8u);
}

TEST_P(StoreTest, ArchiveTombstoneKeepsPlaceAndLeavesTheSearchIndex) {
  ArchiveStore& archive = storage_->archive();
  const AccountKey room{"conference.example.org", "lobby"};
  for (const char* id : {"a", "b", "c"}) {
    ArchiveEntry e;
    e.id = id;
    e.stamp = now_us();
    e.with_bare = "lobby@conference.example.org";
    e.stanza_xml = std::string("<message>") + id + "</message>";
    e.body = std::string("secret word ") + id;
    archive.append(room, e);
  }
  ArchiveQuery search;
  search.fulltext = "secret";
  EXPECT_EQ(archive.query(room, search).messages.size(), 3u);
  EXPECT_TRUE(archive.replace_with_tombstone(room, "b", "<message>tombstone</message>"));
  EXPECT_FALSE(archive.replace_with_tombstone(room, "nope", "<message/>"));
  auto all = archive.query(room, ArchiveQuery{});
  ASSERT_EQ(all.messages.size(), 3u);
  EXPECT_EQ(all.messages[1].id, "b");
  EXPECT_EQ(all.messages[1].stanza_xml, "<message>tombstone</message>");
  auto found = archive.query(room, search);
  ASSERT_EQ(found.messages.size(), 2u);
  EXPECT_EQ(found.messages[0].id, "a");
  EXPECT_EQ(found.messages[1].id, "c");
  // Still in place for paging after it.
  ArchiveQuery after;
  after.page_after = "b";
  auto page = archive.query(room, after);
  ASSERT_EQ(page.messages.size(), 1u);
  EXPECT_EQ(page.messages[0].id, "c");
}

// --- multi-user chat rooms ----------------------------------------------------

TEST_P(StoreTest, MucRoomsAndAffiliationsRoundTripAndGoWithTheRoom) {
  MucStore& muc = storage_->muc();
  const std::string service = "conference.example.org";
  EXPECT_TRUE(muc.rooms(service).empty());
  MucRoom room{service, "lobby", "persistent=1\nname=L'obby \"x\"", "", now_us()};
  muc.put_room(room);
  muc.put_room({service, "attic", "persistent=1", "dust", now_us()});
  muc.put_room({"conference.example.net", "lobby", "x", "", now_us()});
  auto rooms = muc.rooms(service);
  ASSERT_EQ(rooms.size(), 2u);
  EXPECT_EQ(rooms[0].room, "attic");
  EXPECT_EQ(rooms[1], room);
  // Replacing keeps one row and the creation time.
  room.subject = "new subject";
  muc.put_room({service, "lobby", room.config, room.subject, now_us() + 1h});
  rooms = muc.rooms(service);
  ASSERT_EQ(rooms.size(), 2u);
  EXPECT_EQ(rooms[1], room);

  muc.set_affiliation(service, "lobby", {"alice@example.org", "owner", "", ""});
  muc.set_affiliation(service, "lobby", {"bob@example.org", "member", "bobby", ""});
  muc.set_affiliation(service, "lobby", {"eve@example.org", "outcast", "", "spam"});
  muc.set_affiliation(service, "attic", {"bob@example.org", "admin", "", ""});
  muc.set_affiliation(service, "lobby", {"bob@example.org", "admin", "bob", ""});  // replaces
  auto affs = muc.affiliations(service, "lobby");
  ASSERT_EQ(affs.size(), 3u);
  EXPECT_EQ(affs[0], (MucAffiliation{"alice@example.org", "owner", "", ""}));
  EXPECT_EQ(affs[1], (MucAffiliation{"bob@example.org", "admin", "bob", ""}));
  EXPECT_EQ(affs[2], (MucAffiliation{"eve@example.org", "outcast", "", "spam"}));
  muc.set_affiliation(service, "lobby", {"eve@example.org", "none", "", ""});
  EXPECT_EQ(muc.affiliations(service, "lobby").size(), 2u);

  reopen();
  EXPECT_EQ(storage_->muc().rooms(service).size(), 2u);
  EXPECT_TRUE(storage_->muc().remove_room(service, "lobby"));
  EXPECT_FALSE(storage_->muc().remove_room(service, "lobby"));
  EXPECT_TRUE(storage_->muc().affiliations(service, "lobby").empty());
  EXPECT_EQ(storage_->muc().affiliations(service, "attic").size(), 1u);
  EXPECT_EQ(storage_->muc().rooms(service).size(), 1u);
  EXPECT_EQ(storage_->muc().rooms("conference.example.net").size(), 1u);

  // Deleting an account deletes its affiliations in every room.
  ASSERT_TRUE(accounts().create(account("example.org", "bob")));
  storage_->muc().set_affiliation(service, "attic", {"carol@example.org", "member", "", ""});
  ASSERT_TRUE(accounts().remove(bob_));
  auto left = storage_->muc().affiliations(service, "attic");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].jid, "carol@example.org");
}

std::string backend_test_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param == "sqlite" ? "SQLite" : "PostgreSQL";
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgresql"),
                         backend_test_name);

TEST(SqliteStorage, UsesWalAndFlushTruncatesIt) {
  auto db = test::make_test_database("sqlite");
  auto storage = open_storage(db->config());
  EXPECT_EQ(db->query_text("PRAGMA journal_mode"), "wal");
  const AccountKey alice{"example.org", "alice"};
  ASSERT_TRUE(storage->offline().push(alice, std::string(100000, 'x'), now_us(), 0));
  std::string wal = db->config().sqlite_path + "-wal";
  ASSERT_TRUE(std::filesystem::exists(wal));
  EXPECT_GT(std::filesystem::file_size(wal), 0u);
  storage->flush();
  EXPECT_EQ(std::filesystem::file_size(wal), 0u);
  EXPECT_EQ(storage->offline().count(alice), 1u);
}

TEST(SqliteStorage, SecondProcessStyleConnectionSeesCommittedData) {
  // parleyctl may open the file while parleyd runs: two independent handles.
  auto db = test::make_test_database("sqlite");
  auto server = open_storage(db->config());
  auto ctl = open_storage(db->config());
  Account a;
  a.key = {"example.org", "admin"};
  ASSERT_TRUE(ctl->accounts().create(a));
  EXPECT_TRUE(server->accounts().exists(a.key));
  EXPECT_TRUE(server->accounts().set_admin(a.key, true));
  EXPECT_TRUE(ctl->accounts().get(a.key)->admin);
  EXPECT_FALSE(server->accounts().create(a));
}

// --- PostgreSQL only ---------------------------------------------------------

TEST(PostgresqlStorage, RetriesATransactionWhoseConnectionBroke) {
  if (!test::pg_uri()) {
    if (test::pg_required()) FAIL() << "PARLEY_REQUIRE_PG=1 but PARLEY_TEST_PG_URI is not set";
    GTEST_SKIP() << "PARLEY_TEST_PG_URI is not set";
  }
  auto db = test::make_test_database("postgresql");
  auto storage = open_storage(db->config());
  const AccountKey alice{"example.org", "alice"};

  // Hold the per-account offline lock so that push() blocks mid-transaction.
  pqxx::connection holder(db->config().postgresql_uri);
  auto hold = std::make_unique<pqxx::work>(holder);
  hold->exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))", 0x50524C59,
                    std::string("offline\nexample.org\nalice"));

  pqxx::connection admin(db->config().postgresql_uri);
  std::atomic<int> result{-1};
  std::string error;
  // The backend blocked on the advisory lock, other than `except`; 0 if none
  // shows up within 10 s or push() returned meanwhile.
  auto waiting_pid = [&](int except) -> int {
    for (int i = 0; i < 1000 && result.load() == -1; ++i) {
      pqxx::nontransaction n(admin);
      auto r = n.exec(
          "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
          "AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND pid <> " +
          std::to_string(except));
      if (!r.empty()) return r[0][0].as<int>();
      std::this_thread::sleep_for(10ms);
    }
    return 0;
  };

  std::thread pusher([&] {
    try {
      result = storage->offline().push(alice, "<m/>", now_us(), 0) ? 1 : 0;
    } catch (const std::exception& e) {
      error = e.what();
      result = 2;
    }
  });
  int first = waiting_pid(0);
  EXPECT_NE(first, 0);
  {
    pqxx::nontransaction n(admin);
    n.exec("SELECT pg_terminate_backend(" + std::to_string(first) + ")");
  }
  // The retry, on a new connection, blocks on the same lock again.
  int second = waiting_pid(first);
  EXPECT_NE(second, 0) << (result.load() != -1 ? error : "");
  EXPECT_EQ(result.load(), -1);
  hold->commit();
  pusher.join();
  EXPECT_EQ(result.load(), 1) << error;
  EXPECT_EQ(storage->offline().count(alice), 1u);  // once, not twice
}

// --- opening --------------------------------------------------------------------

TEST(OpenStorage, UnknownBackendThrowsNamingTheValidOnes) {
  StorageConfig c;
  c.backend = "mysql";
  try {
    open_storage(c);
    FAIL() << "opened backend 'mysql'";
  } catch (const StorageError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("mysql"), std::string::npos) << msg;
    EXPECT_NE(msg.find("sqlite"), std::string::npos) << msg;
    EXPECT_NE(msg.find("postgresql"), std::string::npos) << msg;
  }
}

TEST(OpenStorage, SqliteErrorsAreStorageErrors) {
  StorageConfig c;
  c.backend = "sqlite";
  c.sqlite_path = "";
  EXPECT_THROW(open_storage(c), StorageError);
  c.sqlite_path = "/nonexistent-dir-for-parley-tests/x/parley.db";
  EXPECT_THROW(open_storage(c), StorageError);
}

TEST(OpenStorage, SqliteInMemoryWorks) {
  StorageConfig c;
  c.backend = "sqlite";
  c.sqlite_path = ":memory:";
  auto s = open_storage(c);
  EXPECT_EQ(s->schema_version(), kSchemaVersion);
  Account a;
  a.key = {"example.org", "alice"};
  EXPECT_TRUE(s->accounts().create(a));
  EXPECT_TRUE(s->accounts().exists(a.key));
  s->flush();
}

TEST(OpenStorage, UnreachablePostgresqlIsStorageError) {
  StorageConfig c;
  c.backend = "postgresql";
  c.postgresql_uri = "host=127.0.0.1 port=1 user=nobody password=secret connect_timeout=5";
  try {
    open_storage(c);
    FAIL() << "connected to port 1";
  } catch (const StorageError& e) {
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
  }
  c.pool_size = 0;
  EXPECT_THROW(open_storage(c), StorageError);
}

TEST(OpenStorage, ConnInfoDbnameReplacement) {
  EXPECT_EQ(test::with_dbname("host=127.0.0.1 port=5432 user=postgres dbname=postgres", "t1"),
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres dbname='t1'");
  EXPECT_EQ(test::with_dbname("postgresql://u@localhost:5433/db", "t2"),
            "postgresql://u@localhost:5433/t2");
  EXPECT_EQ(test::with_dbname("postgres://u@h/db?sslmode=disable", "t3"),
            "postgres://u@h/t3?sslmode=disable");
  EXPECT_EQ(test::with_dbname("postgresql://h:1?sslmode=disable", "t4"),
            "postgresql://h:1/t4?sslmode=disable");
  EXPECT_EQ(test::with_dbname("postgresql://h", "t5"), "postgresql://h/t5");
}

}  // namespace
}  // namespace parley::storage

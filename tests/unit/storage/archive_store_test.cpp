// The message archive store (XEP-0313) against both backends: order, paging in
// both directions with exact completeness, filters, unknown ids, full-text
// search over plaintext only, preferences, expiry and account removal. Every
// TEST_P runs once on SQLite and once on PostgreSQL (see store_test.cpp).
#include <gtest/gtest.h>

#include "storage/store.hpp"
#include "store_test_support.hpp"

namespace parley::storage {
namespace {

using namespace std::chrono_literals;

Timestamp now_us() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
}

class ArchiveStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql" && !test::pg_uri()) {
      if (test::pg_required()) FAIL() << "PARLEY_REQUIRE_PG=1 but PARLEY_TEST_PG_URI is not set";
      GTEST_SKIP() << "PARLEY_TEST_PG_URI is not set (see tests/support/pg_cluster.sh)";
    }
    db_ = test::make_test_database(GetParam());
    storage_ = open_storage(db_->config());
  }
  void TearDown() override {
    storage_.reset();
    db_.reset();
  }

  ArchiveStore& archive() { return storage_->archive(); }

  // Appends message `n` (id "m<n>", body "<n> ...") from/to `with`.
  void put(const AccountKey& owner, int n, std::string with = "bob@example.org",
           Timestamp stamp = {}, std::string body = {}, std::string resource = "phone") {
    ArchiveEntry e;
    e.id = "m" + std::to_string(n);
    e.stamp = stamp == Timestamp{} ? now_us() : stamp;
    e.with_bare = std::move(with);
    e.with_resource = std::move(resource);
    e.outgoing = n % 2 == 0;
    e.stanza_xml = "<message><body>" + std::to_string(n) + "</body></message>";
    e.body = body.empty() ? "message number " + std::to_string(n) : std::move(body);
    archive().append(owner, e);
  }

  static std::vector<std::string> ids(const ArchivePage& page) {
    std::vector<std::string> out;
    for (const auto& m : page.messages) out.push_back(m.id);
    return out;
  }

  std::unique_ptr<test::TestDatabase> db_;
  std::unique_ptr<Storage> storage_;
  const AccountKey alice_{"example.org", "alice"};
  const AccountKey bob_{"example.org", "bob"};
};

TEST_P(ArchiveStoreTest, ForwardPagingIsExact) {
  for (int i = 1; i <= 5; ++i) put(alice_, i);
  ArchiveQuery q;
  q.max = 2;
  auto p1 = archive().query(alice_, q);
  EXPECT_EQ(ids(p1), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_FALSE(p1.complete);
  EXPECT_EQ(p1.count, 5u);
  EXPECT_EQ(p1.first_index, 0u);
  EXPECT_EQ(p1.messages[0].stanza_xml, "<message><body>1</body></message>");

  q.page_after = "m2";
  auto p2 = archive().query(alice_, q);
  EXPECT_EQ(ids(p2), (std::vector<std::string>{"m3", "m4"}));
  EXPECT_FALSE(p2.complete);
  EXPECT_EQ(p2.first_index, 2u);

  q.page_after = "m4";
  auto p3 = archive().query(alice_, q);
  EXPECT_EQ(ids(p3), (std::vector<std::string>{"m5"}));
  EXPECT_TRUE(p3.complete);
  EXPECT_EQ(p3.first_index, 4u);

  // Exactly max left: still complete, no empty extra page needed.
  q.page_after = "m3";
  auto p4 = archive().query(alice_, q);
  EXPECT_EQ(ids(p4), (std::vector<std::string>{"m4", "m5"}));
  EXPECT_TRUE(p4.complete);

  q.page_after = "m5";
  auto p5 = archive().query(alice_, q);
  EXPECT_TRUE(p5.messages.empty());
  EXPECT_TRUE(p5.complete);
}

TEST_P(ArchiveStoreTest, BackwardPagingFromTheEnd) {
  for (int i = 1; i <= 5; ++i) put(alice_, i);
  ArchiveQuery q;
  q.max = 2;
  q.page_before = "";
  auto p1 = archive().query(alice_, q);
  EXPECT_EQ(ids(p1), (std::vector<std::string>{"m4", "m5"}));  // oldest first within the page
  EXPECT_FALSE(p1.complete);
  EXPECT_EQ(p1.first_index, 3u);

  q.page_before = "m4";
  auto p2 = archive().query(alice_, q);
  EXPECT_EQ(ids(p2), (std::vector<std::string>{"m2", "m3"}));
  EXPECT_FALSE(p2.complete);

  q.page_before = "m2";
  auto p3 = archive().query(alice_, q);
  EXPECT_EQ(ids(p3), (std::vector<std::string>{"m1"}));
  EXPECT_TRUE(p3.complete);
  EXPECT_EQ(p3.first_index, 0u);

  q.page_before = "m3";
  EXPECT_TRUE(archive().query(alice_, q).complete);  // m1, m2: exactly max, nothing before
}

TEST_P(ArchiveStoreTest, OrderIsAppendOrderNotTimestampOrder) {
  // A clock stepped backwards between two messages does not reorder them.
  const Timestamp t = now_us();
  put(alice_, 1, "bob@example.org", t);
  put(alice_, 2, "bob@example.org", t - 1h);
  put(alice_, 3, "bob@example.org", t - 2h);
  EXPECT_EQ(ids(archive().query(alice_, {})), (std::vector<std::string>{"m1", "m2", "m3"}));
  auto b = archive().bounds(alice_);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first.id, "m1");
  EXPECT_EQ(b->first.stamp, t);
  EXPECT_EQ(b->second.id, "m3");
  EXPECT_EQ(b->second.stamp, t - 2h);
}

TEST_P(ArchiveStoreTest, ABatchAppendsInOrderForEveryOwner) {
  auto entry = [](std::string id, std::string body) {
    ArchiveEntry e;
    e.id = std::move(id);
    e.stamp = now_us();
    e.with_bare = "carol@example.org";
    e.stanza_xml = "<message><body>" + body + "</body></message>";
    e.body = std::move(body);
    return e;
  };
  const std::vector<ArchiveAppend> batch{{alice_, entry("a1", "first")},
                                         {bob_, entry("b1", "second")},
                                         {alice_, entry("a2", "third")},
                                         {bob_, entry("b2", "fourth")}};
  archive().append_batch(batch);
  EXPECT_EQ(ids(archive().query(alice_, {})), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(ids(archive().query(bob_, {})), (std::vector<std::string>{"b1", "b2"}));
  ArchiveQuery search;
  search.fulltext = "third";
  EXPECT_EQ(ids(archive().query(alice_, search)), std::vector<std::string>{"a2"});
}

TEST_P(ArchiveStoreTest, ABatchIsAllOrNothing) {
  put(alice_, 1);
  ArchiveEntry fresh;
  fresh.id = "new";
  fresh.stamp = now_us();
  fresh.with_bare = "bob@example.org";
  fresh.stanza_xml = "<message/>";
  ArchiveEntry duplicate = fresh;
  duplicate.id = "m1";  // already in alice's archive
  const std::vector<ArchiveAppend> batch{{bob_, fresh}, {alice_, duplicate}};
  EXPECT_THROW(archive().append_batch(batch), StorageError);
  EXPECT_EQ(archive().count(bob_), 0u);
  EXPECT_EQ(archive().count(alice_), 1u);
}

TEST_P(ArchiveStoreTest, ALargeBatchKeepsOrderFieldsAndSearchAcrossItsStatements) {
  // 87 rows: more than one multi-row INSERT of each size (64 + 16 + 4 + 1 + 1 + 1).
  constexpr int kRows = 87;
  std::vector<ArchiveAppend> batch;
  const Timestamp t0 = now_us();
  for (int i = 0; i < kRows; ++i) {
    ArchiveEntry e;
    e.id = "x" + std::to_string(i);
    e.stamp = t0 + std::chrono::microseconds(i);
    e.with_bare = i % 2 ? "bob@example.org" : "carol@example.org";
    e.with_resource = i % 3 ? "" : "phone";
    e.outgoing = i % 5 == 0;
    e.body = "word" + std::to_string(i) + " common";
    e.stanza_xml = "<message><body>" + e.body + "</body></message>";
    batch.push_back({i % 4 ? alice_ : bob_, std::move(e)});
  }
  archive().append_batch(batch);
  std::vector<std::string> alice_ids, bob_ids;
  for (const auto& [owner, e] : batch) (owner == alice_ ? alice_ids : bob_ids).push_back(e.id);
  ArchiveQuery all;
  all.max = 1000;
  const ArchivePage alice_page = archive().query(alice_, all);
  EXPECT_EQ(ids(alice_page), alice_ids) << "rows keep batch order across statements";
  EXPECT_EQ(ids(archive().query(bob_, all)), bob_ids);
  // Every column of a row from the last, one-row statement and of one from the first.
  for (int i : {1, 86}) {
    ArchiveQuery one;
    one.ids = {batch[i].entry.id};
    one.with_bare = batch[i].entry.with_bare;
    one.with_resource = batch[i].entry.with_resource;
    one.start = one.end = batch[i].entry.stamp;
    const ArchivePage page = archive().query(batch[i].owner, one);
    ASSERT_EQ(page.messages.size(), 1u) << i;
    EXPECT_EQ(page.messages[0].stanza_xml, batch[i].entry.stanza_xml);
  }
  ArchiveQuery search;
  search.fulltext = "word86";
  EXPECT_EQ(ids(archive().query(batch[86].owner, search)), std::vector<std::string>{"x86"});
  search.fulltext = "common";
  search.max = 1000;
  EXPECT_EQ(archive().query(alice_, search).messages.size(), alice_ids.size())
      << "every row of every statement is indexed for search";
}

TEST_P(ArchiveStoreTest, AFailureInALaterStatementUndoesTheEarlierOnes) {
  put(alice_, 1);
  std::vector<ArchiveAppend> batch;
  for (int i = 0; i < 70; ++i) {
    ArchiveEntry e;
    e.id = "y" + std::to_string(i);
    e.stamp = now_us();
    e.with_bare = "bob@example.org";
    e.stanza_xml = "<message/>";
    batch.push_back({bob_, std::move(e)});
  }
  batch[68].owner = alice_;
  batch[68].entry.id = "m1";  // already in alice's archive, in the second statement
  EXPECT_THROW(archive().append_batch(batch), StorageError);
  EXPECT_EQ(archive().count(bob_), 0u) << "the first 64-row statement was rolled back";
  EXPECT_EQ(archive().count(alice_), 1u);
}

TEST_P(ArchiveStoreTest, FiltersCombine) {
  const Timestamp t0 = now_us() - 10h;
  put(alice_, 1, "bob@example.org", t0);
  put(alice_, 2, "carol@example.org", t0 + 1h, {}, "laptop");
  put(alice_, 3, "bob@example.org", t0 + 2h, {}, "laptop");
  put(alice_, 4, "bob@example.org", t0 + 3h);
  put(alice_, 5, "carol@example.org", t0 + 4h);

  ArchiveQuery q;
  q.with_bare = "bob@example.org";
  EXPECT_EQ(ids(archive().query(alice_, q)), (std::vector<std::string>{"m1", "m3", "m4"}));
  q.with_resource = "laptop";
  EXPECT_EQ(ids(archive().query(alice_, q)), (std::vector<std::string>{"m3"}));

  ArchiveQuery time;
  time.start = t0 + 1h;  // inclusive
  time.end = t0 + 3h;    // inclusive
  EXPECT_EQ(ids(archive().query(alice_, time)), (std::vector<std::string>{"m2", "m3", "m4"}));

  ArchiveQuery range;
  range.after_id = "m1";  // exclusive
  range.before_id = "m5";
  auto p = archive().query(alice_, range);
  EXPECT_EQ(ids(p), (std::vector<std::string>{"m2", "m3", "m4"}));
  EXPECT_EQ(p.count, 3u);
  EXPECT_TRUE(p.complete);

  ArchiveQuery some;
  some.ids = {"m4", "m2"};
  EXPECT_EQ(ids(archive().query(alice_, some)), (std::vector<std::string>{"m2", "m4"}));

  // Another owner's ids are unknown here.
  put(bob_, 9);
  ArchiveQuery foreign;
  foreign.ids = {"m9"};
  EXPECT_FALSE(archive().query(alice_, foreign).ids_found);
  EXPECT_TRUE(archive().query(bob_, foreign).ids_found);
}

TEST_P(ArchiveStoreTest, UnknownIdsAreReported) {
  put(alice_, 1);
  for (auto set : std::vector<std::function<void(ArchiveQuery&)>>{
           [](ArchiveQuery& q) { q.after_id = "nope"; },
           [](ArchiveQuery& q) { q.before_id = "nope"; },
           [](ArchiveQuery& q) { q.page_after = "nope"; },
           [](ArchiveQuery& q) { q.page_before = "nope"; },
           [](ArchiveQuery& q) {
             q.ids = {"m1", "nope"};
           },
       }) {
    ArchiveQuery q;
    set(q);
    auto page = archive().query(alice_, q);
    EXPECT_FALSE(page.ids_found);
    EXPECT_TRUE(page.messages.empty());
  }
  ArchiveQuery ok;
  ok.page_before = "";  // "the last page", not an id
  EXPECT_TRUE(archive().query(alice_, ok).ids_found);
}

TEST_P(ArchiveStoreTest, FulltextMatchesIndexedWordsOnly) {
  put(alice_, 1, "bob@example.org", {}, "Meet me at the Harbour tomorrow");
  put(alice_, 2, "bob@example.org", {}, "harbour tour");
  // An encrypted message: archived, but nothing indexed.
  ArchiveEntry encrypted;
  encrypted.id = "enc";
  encrypted.stamp = now_us();
  encrypted.with_bare = "bob@example.org";
  encrypted.stanza_xml = "<message><body>harbour secret</body></message>";
  archive().append(alice_, encrypted);
  put(bob_, 4, "alice@example.org", {}, "harbour");

  ArchiveQuery q;
  q.fulltext = "harbour";
  EXPECT_EQ(ids(archive().query(alice_, q)), (std::vector<std::string>{"m1", "m2"}));
  q.fulltext = "HARBOUR  tomorrow";  // every word, any case
  EXPECT_EQ(ids(archive().query(alice_, q)), (std::vector<std::string>{"m1"}));
  q.fulltext = "secret";
  EXPECT_TRUE(archive().query(alice_, q).messages.empty());
  q.fulltext = "\"harbour OR NEAR( *";  // query syntax is just text
  EXPECT_TRUE(archive().query(alice_, q).messages.empty());
  EXPECT_EQ(archive().count(alice_), 3u);

  // Deleted rows leave the index too.
  EXPECT_EQ(archive().expire("example.org", now_us() + 24h + 1s, 1), 4u);
  q.fulltext = "harbour";
  EXPECT_TRUE(archive().query(alice_, q).messages.empty());
  put(alice_, 5, "bob@example.org", {}, "harbour again");
  EXPECT_EQ(ids(archive().query(alice_, q)), (std::vector<std::string>{"m5"}));
}

TEST_P(ArchiveStoreTest, MaxZeroCountsOnly) {
  for (int i = 1; i <= 3; ++i) put(alice_, i);
  ArchiveQuery q;
  q.max = 0;
  auto p = archive().query(alice_, q);
  EXPECT_TRUE(p.messages.empty());
  EXPECT_EQ(p.count, 3u);
  EXPECT_FALSE(p.complete);
  EXPECT_FALSE(archive().bounds(bob_));
}

TEST_P(ArchiveStoreTest, ExpireDeletesOnlyOldMessages) {
  put(alice_, 1, "bob@example.org", now_us() - 400 * 24h);
  put(bob_, 2, "alice@example.org", now_us() - 400 * 24h);
  put(alice_, 3);
  EXPECT_EQ(archive().expire("example.org", now_us(), 0), 0u);    // 0 = keep forever
  EXPECT_EQ(archive().expire("example.net", now_us(), 365), 0u);  // another domain
  EXPECT_EQ(archive().expire("example.org", now_us(), 365), 2u);
  EXPECT_EQ(ids(archive().query(alice_, {})), (std::vector<std::string>{"m3"}));
  EXPECT_EQ(archive().count(bob_), 0u);
}

TEST_P(ArchiveStoreTest, AnAccountsOwnRetentionOverridesTheServers) {
  const AccountKey carol{"example.org", "carol"};
  EXPECT_FALSE(archive().retention_days(alice_));
  archive().set_retention_days(alice_, 7);    // shorter than the server's
  archive().set_retention_days(bob_, 0);      // forever
  archive().set_retention_days(carol, 1000);  // longer
  EXPECT_EQ(archive().retention_days(alice_), 7);
  EXPECT_EQ(archive().retention_days(bob_), 0);
  for (const AccountKey* who : {&alice_, &bob_, &carol}) {
    put(*who, 1, "x@example.org", now_us() - 10 * 24h);
    put(*who, 2, "x@example.org", now_us() - 500 * 24h);
    put(*who, 3, "x@example.org", now_us());
  }
  const AccountKey dave{"example.org", "dave"};  // on the server's 365 days
  put(dave, 4, "x@example.org", now_us() - 400 * 24h);
  put(dave, 5, "x@example.org", now_us() - 10 * 24h);

  EXPECT_EQ(archive().expire("example.org", now_us(), 365), 3u);
  EXPECT_EQ(ids(archive().query(alice_, {})), (std::vector<std::string>{"m3"}));
  EXPECT_EQ(archive().count(bob_), 3u);
  EXPECT_EQ(archive().count(carol), 3u);
  EXPECT_EQ(ids(archive().query(dave, {})), (std::vector<std::string>{"m5"}));

  // Back to the server's default.
  archive().set_retention_days(bob_, std::nullopt);
  EXPECT_FALSE(archive().retention_days(bob_));
  EXPECT_EQ(archive().expire("example.org", now_us(), 365), 1u);
  EXPECT_EQ(archive().count(bob_), 2u);
}

TEST_P(ArchiveStoreTest, PrefsRoundTrip) {
  EXPECT_FALSE(archive().prefs(alice_));
  ArchivePrefs p{"roster", {"romeo@example.net", "nurse@example.net/r"}, {"tybalt@example.net"}};
  archive().set_prefs(alice_, p);
  EXPECT_EQ(archive().prefs(alice_), p);
  ArchivePrefs q{"never", {}, {}};
  archive().set_prefs(alice_, q);
  EXPECT_EQ(archive().prefs(alice_), q);
  EXPECT_FALSE(archive().prefs(bob_));
}

TEST_P(ArchiveStoreTest, AccountRemovalDeletesArchiveAndPrefs) {
  Account a;
  a.key = alice_;
  a.created = now_us();
  ASSERT_TRUE(storage_->accounts().create(a));
  put(alice_, 1);
  put(bob_, 2);
  archive().set_prefs(alice_, {"never", {}, {}});
  archive().set_retention_days(alice_, 30);
  ASSERT_TRUE(storage_->accounts().remove(alice_));
  EXPECT_EQ(archive().count(alice_), 0u);
  EXPECT_FALSE(archive().prefs(alice_));
  EXPECT_FALSE(archive().retention_days(alice_));
  EXPECT_EQ(archive().count(bob_), 1u);
  // Ids are unique per owner, so a new account of the same name starts afresh.
  put(alice_, 1);
  EXPECT_EQ(archive().count(alice_), 1u);
}

TEST_P(ArchiveStoreTest, SurvivesReopen) {
  put(alice_, 1);
  storage_->flush();
  storage_.reset();
  storage_ = open_storage(db_->config());
  put(alice_, 2);
  EXPECT_EQ(ids(archive().query(alice_, {})), (std::vector<std::string>{"m1", "m2"}));
}

std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param == "sqlite" ? "SQLite" : "PostgreSQL";
}

INSTANTIATE_TEST_SUITE_P(Backends, ArchiveStoreTest, ::testing::Values("sqlite", "postgresql"),
                         backend_name);

}  // namespace
}  // namespace parley::storage

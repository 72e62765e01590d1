// Hostile cases 49 and 51 (reliability note §5 items 45-46): the database goes
// away in the middle of traffic and comes back; the disk fills up and space is
// freed again. Senders get an error for what could not be stored (never a
// silent loss), logins a temporary-auth-failure, and the server recovers by
// itself.
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>

#include "hostile/hostile_support.hpp"
#include "storage/store.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley::test::hostile {
namespace {

using namespace std::chrono_literals;

using HostileFaults = Hostile;

// Refuses (or allows again) every connection to the server's database, and
// cuts the open ones: to parleyd this is the database being down.
void set_database_reachable(const TestServer& server, bool reachable) {
  pqxx::connection admin(std::getenv("PARLEY_TEST_PG_URI"));
  pqxx::nontransaction tx(admin);
  const std::string db = tx.quote_name(server.pg_database());
  tx.exec("ALTER DATABASE " + db + " ALLOW_CONNECTIONS " + (reachable ? "true" : "false"));
  if (!reachable)
    tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " +
            tx.quote(server.pg_database()));
}

TEST_F(HostileFaults, Case49_DatabaseDownGivesWaitErrorsThenRecovers) {
  if (server_.backend() != "postgresql") GTEST_SKIP() << "needs the PostgreSQL backend";
  auto alice = raw_alice("a");
  ASSERT_TRUE(alice);

  set_database_reachable(server_, false);
  alice->send("<message to='bob@localhost' id='lost' type='chat'><body>1</body></message>");
  auto bounced = reply_with_id(*alice, "lost");
  ASSERT_TRUE(bounced) << alice->received();
  EXPECT_EQ(bounced->attr_or("type"), "error");
  const xml::Element* error = bounced->child("error");
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->attr_or("type"), "wait");

  // Logging in needs the credentials: a temporary failure, not a wrong password.
  RawClient login(server_.c2s_port());
  ASSERT_TRUE(open_stream(login));
  ASSERT_TRUE(start_tls(login));
  std::string plain = std::string(1, '\0');
  plain += "bob";
  plain += '\0';
  plain += "secret";
  login.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
             sasl::base64_encode(plain) + "</auth>");
  ASSERT_TRUE(login.read_until("</failure>", 15s)) << login.received();
  EXPECT_NE(login.received().find("<temporary-auth-failure/>"), std::string::npos)
      << login.received();

  set_database_reachable(server_, true);
  // Back without a restart: stored, then delivered at bob's next login.
  alice->clear();
  alice->send("<message to='bob@localhost' id='kept' type='chat'><body>2</body></message>");
  alice->send("<iq type='get' id='sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(reply_with_id(*alice, "sync"));
  bool stored = false;
  for (int i = 0; i < 100 && !stored; ++i) {
    stored = server_.open_storage()->offline().count({"localhost", "bob"}) == 1;
    if (!stored) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(stored);
  EXPECT_EQ(alice->received().find("type='error'"), std::string::npos) << alice->received();
  XmppClient bob(server_, "bob@localhost", "secret", {.resource = "b"});
  ASSERT_TRUE(bob.connect()) << bob.error();
  bob.available();
  auto got = bob.expect([](const xml::Element& el) { return el.attr_or("id") == "kept"; });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->child_text("body"), "2");
}

// The files parleyd writes may grow no further than `bytes` (RLIMIT_FSIZE on
// the running process): every write that would extend one fails with EFBIG,
// which is what a full disk looks like to SQLite and the logger. RLIM_INFINITY
// frees the space again.
void limit_file_size(pid_t pid, rlim_t bytes) {
  // Only the soft limit moves: raising a hard limit again needs privileges.
  rlimit limit{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, nullptr, &limit), 0) << std::strerror(errno);
  limit.rlim_cur = std::min(bytes, limit.rlim_max);
  ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, &limit, nullptr), 0) << std::strerror(errno);
}

TEST_F(HostileFaults, Case51_FullDiskGivesErrorsNotACrashAndNothingIsLost) {
  if (server_.backend() != "sqlite") GTEST_SKIP() << "the disk of the embedded store";
  auto alice = raw_alice("a");
  ASSERT_TRUE(alice);
  namespace fs = std::filesystem;
  const fs::path db = fs::path(server_.dir()) / "data" / "parley.db";
  uintmax_t largest = fs::file_size(db);
  if (fs::exists(db.string() + "-wal"))
    largest = std::max(largest, fs::file_size(db.string() + "-wal"));
  limit_file_size(server_.pid(), largest);

  // Offline messages for bob, 48 KiB each, until the store refuses one.
  std::string body(48 * 1024, 'x');
  std::set<std::string> sent;
  std::set<std::string> bounced;
  // The store answers after the pings do (it runs off the I/O thread), so
  // bounces are looked for in everything received so far.
  auto collect_bounces = [&] {
    for (const auto& id : sent) {
      if (bounced.count(id) || alice->received().find("id='" + id + "'") == std::string::npos)
        continue;
      auto bounce = reply_with_id(*alice, id);
      ASSERT_TRUE(bounce) << alice->received().substr(0, 2000);
      ASSERT_EQ(bounce->attr_or("type"), "error");
      const xml::Element* error = bounce->child("error");
      ASSERT_NE(error, nullptr);
      EXPECT_EQ(error->attr_or("type"), "wait");
      bounced.insert(id);
    }
  };
  for (int i = 0; i < 200 && bounced.empty(); ++i) {
    const std::string id = "m" + std::to_string(i);
    std::string message = "<message to='bob@localhost' type='chat' id='";
    message += id;
    message += "'><body>";
    message += body;
    message += "</body></message>";
    alice->send(message);
    sent.insert(id);
    const std::string sync = "sync" + std::to_string(i);
    alice->send("<iq type='get' id='" + sync +
                "' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    ASSERT_TRUE(reply_with_id(*alice, sync)) << "the server stopped answering at " << i;
    alice->read_until("type='error'", 300ms);
    collect_bounces();
  }
  alice->read_until("\x01never", 1s);  // bounces of the last messages
  collect_bounces();
  ASSERT_FALSE(bounced.empty()) << "no write failed: the limit did not bite";

  // Space is freed: storage works again without a restart.
  limit_file_size(server_.pid(), RLIM_INFINITY);
  alice->send("<message to='bob@localhost' type='chat' id='after'><body>after</body></message>");
  sent.insert("after");
  alice->send("<iq type='get' id='sync-after' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(reply_with_id(*alice, "sync-after"));

  // Every message was either refused to its sender or is delivered, once.
  XmppClient bob(server_, "bob@localhost", "secret", {.resource = "b"});
  ASSERT_TRUE(bob.connect()) << bob.error();
  bob.available();
  std::multiset<std::string> delivered;
  while (auto got = bob.expect([](const xml::Element& el) { return el.name() == "message"; }, 3s))
    delivered.insert(got->attr_or("id"));
  std::multiset<std::string> expected;
  for (const auto& id : sent)
    if (!bounced.count(id)) expected.insert(id);
  EXPECT_EQ(delivered, expected);
}

}  // namespace
}  // namespace parley::test::hostile

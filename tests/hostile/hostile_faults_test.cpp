// Hostile case 49 (reliability note §5 item 45): the database goes away in the
// middle of traffic and comes back. Senders get a temporary (wait) error for
// what could not be stored, logins a temporary-auth-failure, and the server
// recovers by itself.
#include <cstdlib>
#include <pqxx/pqxx>
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

}  // namespace
}  // namespace parley::test::hostile

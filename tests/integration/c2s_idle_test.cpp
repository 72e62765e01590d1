// Dead connections are noticed: an authenticated client that stays silent is
// probed (XEP-0198 <r/> or an XEP-0199 ping), and one that does not answer is
// dropped — a resumable session then hibernates, keeping what the client has
// not acknowledged. A client that answers stays connected.
#include <gtest/gtest.h>

#include <thread>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

using namespace std::chrono_literals;

class C2SIdle : public ::testing::Test {
 protected:
  C2SIdle()
      : server_([] {
          TestServerOptions o;
          o.limits = "client_idle_seconds = 5\nidle_ping_timeout_seconds = 2\n";
          return o;
        }()) {}
  void SetUp() override {
    server_.create_user("alice", "wonderland");
    server_.create_user("bob", "builder");
    server_.start();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  TestServer server_;
};

TEST_F(C2SIdle, IdleSecondsAreAdvertised) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(raw_login(c, "alice", "wonderland"));
  EXPECT_NE(c.received().find("<idle-seconds>5</idle-seconds>"), std::string::npos) << c.received();
}

TEST_F(C2SIdle, ClientAnsweringPingsStaysThenSilentOneIsDropped) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(raw_login(c, "alice", "wonderland"));
  ASSERT_FALSE(raw_bind(c, "quiet").empty());
  c.clear();
  // First probe: a ping, answered.
  ASSERT_TRUE(c.read_until("<ping xmlns='urn:xmpp:ping'/>", 9s)) << c.received();
  EXPECT_NE(c.received().find("id='idle-probe'"), std::string::npos) << c.received();
  c.send("<iq type='result' id='idle-probe' to='localhost'/>");
  c.clear();
  // Still there well past the probe timeout; then probed again, and silent.
  EXPECT_FALSE(c.read_until_closed(3s));
  ASSERT_TRUE(c.read_until("<ping xmlns='urn:xmpp:ping'/>", 9s)) << c.received();
  EXPECT_TRUE(c.read_until_closed(5s)) << "a silent client must be dropped";
  // Its session is gone: a message to it now goes to offline storage.
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(bob.connect());
  bob.send("<message to='alice@localhost/quiet' id='later' type='chat'><body>x</body></message>");
  EXPECT_TRUE(
      bob.nothing([](const xml::Element& el) { return el.attr_or("type") == "error"; }, 700ms));
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "again"});
  ASSERT_TRUE(alice.connect());
  alice.available();
  EXPECT_TRUE(alice.expect([](const xml::Element& el) { return el.attr_or("id") == "later"; }));
}

TEST_F(C2SIdle, SilentStreamManagementClientHibernatesAndResumes) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(raw_login(c, "alice", "wonderland"));
  ASSERT_FALSE(raw_bind(c, "phone").empty());
  c.clear();
  c.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
  ASSERT_TRUE(c.read_until("<enabled"));
  ASSERT_TRUE(c.read_until("/>"));
  const std::string& in = c.received();
  const size_t id_at = in.find("id='") + 4;
  const std::string sm_id = in.substr(id_at, in.find('\'', id_at) - id_at);
  c.clear();
  // Under XEP-0198 the probe is an ack request; no answer, so dropped.
  ASSERT_TRUE(c.read_until("<r xmlns='urn:xmpp:sm:3'/>", 9s)) << c.received();
  EXPECT_TRUE(c.read_until_closed(5s));
  // The session waits for resumption; a new connection takes it over.
  RawClient again(server_.c2s_port());
  ASSERT_TRUE(raw_login(again, "alice", "wonderland"));
  again.clear();
  again.send("<resume xmlns='urn:xmpp:sm:3' previd='" + sm_id + "' h='0'/>");
  EXPECT_TRUE(again.read_until("<resumed")) << again.received();
}

}  // namespace
}  // namespace parley::test

// XMPP Ping (XEP-0199) end to end.
#include <gtest/gtest.h>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

class PingModule : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.create_user("alice", "wonderland");
    server_.start();
    ASSERT_TRUE(alice_.connect()) << alice_.error();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  TestServer server_;
  XmppClient alice_{server_, "alice@localhost", "wonderland", {.resource = "a"}};
};

TEST_F(PingModule, ServerAnswersPing) {
  auto r = alice_.iq("<iq type='get' to='localhost' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  EXPECT_EQ(r->attr_or("from"), "localhost");
  EXPECT_EQ(r->attr_or("to"), "alice@localhost/a");
  EXPECT_EQ(r->element_count(), 0u);
}

TEST_F(PingModule, PingToOwnAccountOrWithoutToIsAnswered) {
  auto bare = alice_.iq("<iq type='get' to='alice@localhost' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->attr_or("type"), "result") << to_xml(*bare);
  auto none = alice_.iq("<iq type='get' id='p3'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->attr_or("type"), "result") << to_xml(*none);
}

TEST_F(PingModule, PingSetIsNotAPing) {
  auto r = alice_.iq("<iq type='set' to='localhost' id='p4'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "error");
}

}  // namespace
}  // namespace parley::test

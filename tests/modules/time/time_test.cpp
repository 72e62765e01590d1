// Entity Time (XEP-0202) end to end.
#include <gtest/gtest.h>

#include <ctime>
#include <regex>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

class TimeModule : public ::testing::Test {
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

TEST_F(TimeModule, UtcTimeWithZeroOffset) {
  auto r = alice_.iq("<iq type='get' to='localhost' id='t1'><time xmlns='urn:xmpp:time'/></iq>");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  const xml::Element* t = r->child("time", "urn:xmpp:time");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->child_text("tzo", "urn:xmpp:time"), "+00:00");
  const std::string utc = t->child_text("utc", "urn:xmpp:time");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(utc, m, std::regex(R"((\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z)"))) << utc;
  std::tm tm{};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = std::stoi(m[6]);
  const std::time_t server_time = timegm(&tm);
  EXPECT_LE(std::llabs(static_cast<long long>(server_time - std::time(nullptr))), 60);
}

}  // namespace
}  // namespace parley::test

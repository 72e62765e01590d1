// Software Version (XEP-0092) end to end.
#include <gtest/gtest.h>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

// Server options with extra TOML appended to the generated configuration.
TestServerOptions with_config(std::string toml) {
  TestServerOptions options;
  options.extra_config = std::move(toml);
  return options;
}

class VersionModule : public ::testing::Test {
 protected:
  explicit VersionModule(TestServerOptions options = {}) : server_(std::move(options)) {}
  void SetUp() override {
    server_.create_user("alice", "wonderland");
    server_.start();
    ASSERT_TRUE(alice_.connect()) << alice_.error();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  std::optional<xml::Element> ask() {
    auto r = alice_.iq("<iq type='get' to='localhost' id='v1'><query xmlns='jabber:iq:version'/></iq>");
    if (!r || r->attr_or("type") != "result") return std::nullopt;
    const xml::Element* q = r->child("query", "jabber:iq:version");
    if (!q) return std::nullopt;
    return *q;
  }
  TestServer server_;
  XmppClient alice_{server_, "alice@localhost", "wonderland", {.resource = "a"}};
};

TEST_F(VersionModule, NameAndVersionWithoutOs) {
  auto q = ask();
  ASSERT_TRUE(q);
  EXPECT_EQ(q->child_text("name", "jabber:iq:version"), "Parley");
  EXPECT_EQ(q->child_text("version", "jabber:iq:version"), PARLEY_VERSION);
  EXPECT_EQ(q->child("os", "jabber:iq:version"), nullptr);
}

class VersionModuleWithOs : public VersionModule {
 protected:
  VersionModuleWithOs() : VersionModule(with_config("[modules.version]\nshow_os = true\n")) {}
};

TEST_F(VersionModuleWithOs, OsWhenConfigured) {
  auto q = ask();
  ASSERT_TRUE(q);
  EXPECT_FALSE(q->child_text("os", "jabber:iq:version").empty());
}

}  // namespace
}  // namespace parley::test

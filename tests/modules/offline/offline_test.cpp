// Offline messages (XEP-0160) end to end: storage while the recipient is
// offline, delivery in order with delay stamps at the next login (also after
// a server restart), what is not stored, and the per-account quota.
#include <gtest/gtest.h>

#include <regex>
#include <thread>

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

Predicate is_error_message() {
  return [](const xml::Element& el) {
    return el.name() == "message" && el.attr_or("type") == "error";
  };
}

Predicate is_chat_message() {
  return [](const xml::Element& el) {
    return el.name() == "message" && el.attr_or("type") != "error";
  };
}

std::string chat(const std::string& to, const std::string& body, const std::string& extra = "",
                 const std::string& type = "chat") {
  return "<message to='" + to + "' type='" + type + "'><body>" + body + "</body>" + extra +
         "</message>";
}

class OfflineModule : public ::testing::Test {
 protected:
  explicit OfflineModule(TestServerOptions options = {}) : server_(std::move(options)) {}
  void SetUp() override {
    server_.create_user("alice", "wonderland");
    server_.create_user("bob", "builder");
    server_.start();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  // Messages for bob, read at login until nothing more comes.
  std::vector<xml::Element> bob_logs_in_and_reads(std::chrono::milliseconds window = 800ms) {
    XmppClient bob(server_, "bob@localhost", "builder",
                   {.resource = "r" + std::to_string(++logins_)});
    EXPECT_TRUE(bob.connect()) << bob.error();
    bob.available();
    std::vector<xml::Element> out;
    for (auto& el : bob.drain(window))
      if (el.name() == "message") out.push_back(std::move(el));
    return out;
  }
  TestServer server_;
  int logins_ = 0;
};

TEST_F(OfflineModule, DeliveredInOrderWithDelayAtNextLogin) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  for (int i = 1; i <= 5; ++i) alice.send(chat("bob@localhost", "m" + std::to_string(i)));
  EXPECT_TRUE(alice.nothing(is_error_message(), 500ms));

  auto messages = bob_logs_in_and_reads();
  ASSERT_EQ(messages.size(), 5u);
  const std::regex stamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)");
  for (int i = 0; i < 5; ++i) {
    const auto& m = messages[static_cast<size_t>(i)];
    EXPECT_EQ(m.child_text("body"), "m" + std::to_string(i + 1));
    EXPECT_EQ(m.attr_or("from"), "alice@localhost/a");
    EXPECT_EQ(m.attr_or("type"), "chat");
    const xml::Element* delay = m.child("delay", "urn:xmpp:delay");
    ASSERT_NE(delay, nullptr) << to_xml(m);
    EXPECT_EQ(delay->attr_or("from"), "localhost");
    EXPECT_TRUE(std::regex_match(delay->attr_or("stamp"), stamp)) << delay->attr_or("stamp");
  }
  // Delivered once: the next login finds nothing.
  EXPECT_TRUE(bob_logs_in_and_reads(500ms).empty());
}

TEST_F(OfflineModule, SurvivesAServerRestart) {
  {
    XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
    ASSERT_TRUE(alice.connect());
    alice.send(chat("bob@localhost", "before restart 1"));
    alice.send(chat("bob@localhost", "before restart 2"));
    EXPECT_TRUE(alice.nothing(is_error_message(), 500ms));
  }
  server_.restart();
  auto messages = bob_logs_in_and_reads();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].child_text("body"), "before restart 1");
  EXPECT_EQ(messages[1].child_text("body"), "before restart 2");
  EXPECT_NE(messages[0].child("delay", "urn:xmpp:delay"), nullptr);
}

TEST_F(OfflineModule, ForgedServerDelayIsReplaced) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  alice.send(chat("bob@localhost", "forged",
                  "<delay xmlns='urn:xmpp:delay' from='localhost' stamp='1999-01-01T00:00:00Z'/>"));
  EXPECT_TRUE(alice.nothing(is_error_message(), 500ms));
  auto messages = bob_logs_in_and_reads();
  ASSERT_EQ(messages.size(), 1u);
  auto delays = messages[0].children("delay", "urn:xmpp:delay");
  ASSERT_EQ(delays.size(), 1u);
  EXPECT_NE(delays[0]->attr_or("stamp"), "1999-01-01T00:00:00Z");
}

TEST_F(OfflineModule, HeadlineAndChatStatesAreNotStoredAndNotBounced) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  alice.send(chat("bob@localhost", "news", "", "headline"));
  alice.send(
      "<message to='bob@localhost' type='chat'>"
      "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
  alice.send(chat("bob@localhost", "real"));
  EXPECT_TRUE(alice.nothing(is_error_message(), 500ms));
  auto messages = bob_logs_in_and_reads();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].child_text("body"), "real");
}

TEST_F(OfflineModule, NoStoreHintIsHonoured) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  alice.send(chat("bob@localhost", "ephemeral", "<no-store xmlns='urn:xmpp:hints'/>"));
  // Not stored: the sender learns it was not delivered.
  auto error = alice.expect(is_error_message());
  ASSERT_TRUE(error);
  EXPECT_EQ(error_condition(*error), "service-unavailable");
  EXPECT_EQ(error->attr_or("from"), "bob@localhost");
  EXPECT_TRUE(bob_logs_in_and_reads(500ms).empty());
}

TEST_F(OfflineModule, NoPermanentStoreMessageIsStillDeliveredLater) {
  // How disappearing messages travel: kept until delivery, never archived.
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  alice.send(chat("bob@localhost", "vanishing", "<no-permanent-store xmlns='urn:xmpp:hints'/>"));
  EXPECT_TRUE(alice.nothing(is_error_message(), 500ms));
  auto messages = bob_logs_in_and_reads();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].child_text("body"), "vanishing");
  EXPECT_NE(messages[0].child("delay", "urn:xmpp:delay"), nullptr);
}

TEST_F(OfflineModule, StoredMessageIsNotDeliveredToNegativePriority) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  alice.send(chat("bob@localhost", "later"));
  EXPECT_TRUE(alice.nothing(is_error_message(), 500ms));
  {
    XmppClient bob(server_, "bob@localhost", "builder", {.resource = "bot"});
    ASSERT_TRUE(bob.connect());
    bob.available("<priority>-1</priority>");
    EXPECT_TRUE(bob.nothing(is_chat_message(), 600ms));
  }
  auto messages = bob_logs_in_and_reads();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].child_text("body"), "later");
}

class OfflineQuota : public OfflineModule {
 protected:
  OfflineQuota() : OfflineModule(with_config("[modules.offline]\nquota = 2\n")) {}
};

TEST_F(OfflineQuota, OverQuotaIsBouncedToTheSender) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  alice.send(chat("bob@localhost", "one"));
  alice.send(chat("bob@localhost", "two"));
  alice.send(chat("bob@localhost", "three"));
  auto error = alice.expect(is_error_message());
  ASSERT_TRUE(error);
  EXPECT_EQ(error_condition(*error), "service-unavailable");
  EXPECT_EQ(error->child_text("body"), "three");
  EXPECT_TRUE(alice.nothing(is_error_message(), 300ms));

  auto messages = bob_logs_in_and_reads();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].child_text("body"), "one");
  EXPECT_EQ(messages[1].child_text("body"), "two");
  // Delivered messages no longer count against the quota.
  alice.send(chat("bob@localhost", "four"));
  EXPECT_TRUE(alice.nothing(is_error_message(), 500ms));
}

}  // namespace
}  // namespace parley::test

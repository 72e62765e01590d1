// Last Activity (XEP-0012) end to end: server uptime, and an account's last
// logout for contacts it shares its presence with.
#include <gtest/gtest.h>

#include <thread>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

class LastModule : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.create_user("alice", "wonderland");
    server_.create_user("bob", "builder");
    server_.create_user("carol", "singer");
    server_.start();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  std::optional<xml::Element> ask(XmppClient& c, const std::string& to) {
    return c.iq("<iq type='get' to='" + to + "' id='" + c.next_id() +
                "'><query xmlns='jabber:iq:last'/></iq>");
  }
  // bob approves alice's subscription: bob's roster has alice with 'from'.
  void alice_subscribes_to_bob(XmppClient& alice, XmppClient& bob) {
    ASSERT_TRUE(bob.iq("<iq type='get' id='" + bob.next_id() + "'><query xmlns='jabber:iq:roster'/></iq>"));
    ASSERT_TRUE(alice.iq("<iq type='get' id='" + alice.next_id() + "'><query xmlns='jabber:iq:roster'/></iq>"));
    bob.available();
    alice.available();
    bob.drain();
    alice.drain();
    alice.send("<presence to='bob@localhost' type='subscribe'/>");
    auto req = bob.expect(is_presence_from("alice@localhost", "subscribe"));
    if (!req) for (auto& el : bob.drain(500ms)) std::cerr << "BOB GOT " << to_xml(el) << "\n";
    if (!req) for (auto& el : alice.drain(500ms)) std::cerr << "ALICE GOT " << to_xml(el) << "\n";
    ASSERT_TRUE(req);
    bob.send("<presence to='alice@localhost' type='subscribed'/>");
    ASSERT_TRUE(alice.expect(is_presence_from("bob@localhost", "subscribed")));
  }
  TestServer server_;
};

TEST_F(LastModule, ServerUptime) {
  XmppClient alice(server_, "alice@localhost", "wonderland");
  ASSERT_TRUE(alice.connect());
  std::this_thread::sleep_for(1100ms);
  auto r = ask(alice, "localhost");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  const xml::Element* q = r->child("query", "jabber:iq:last");
  ASSERT_NE(q, nullptr);
  const long seconds = std::stol(q->attr_or("seconds", "-1"));
  EXPECT_GE(seconds, 1);
  EXPECT_LT(seconds, 600);
}

TEST_F(LastModule, UnsubscribedIsForbidden) {
  XmppClient carol(server_, "carol@localhost", "singer");
  ASSERT_TRUE(carol.connect());
  auto r = ask(carol, "bob@localhost");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*r), "forbidden");
}

TEST_F(LastModule, MissingAccountIsServiceUnavailable) {
  XmppClient carol(server_, "carol@localhost", "singer");
  ASSERT_TRUE(carol.connect());
  auto r = ask(carol, "nobody@localhost");
  ASSERT_TRUE(r);
  EXPECT_EQ(error_condition(*r), "service-unavailable");
}

TEST_F(LastModule, SubscribedSeesZeroWhileOnlineThenLogoutTimeAndStatus) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  auto bob = std::make_unique<XmppClient>(server_, "bob@localhost", "builder", XmppClient::Options{.resource = "b"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob->connect());
  alice_subscribes_to_bob(alice, *bob);
  if (HasFatalFailure()) return;

  auto online = ask(alice, "bob@localhost");
  ASSERT_TRUE(online);
  ASSERT_EQ(online->attr_or("type"), "result") << to_xml(*online);
  EXPECT_EQ(online->child("query", "jabber:iq:last")->attr_or("seconds"), "0");

  bob->send("<presence type='unavailable'><status>Heading Home</status></presence>");
  bob->disconnect();
  bob.reset();
  std::this_thread::sleep_for(1200ms);

  // The logout is recorded asynchronously: allow it a moment.
  std::optional<xml::Element> r;
  for (int i = 0; i < 20; ++i) {
    r = ask(alice, "bob@localhost");
    if (r && r->attr_or("type") == "result" && r->child("query", "jabber:iq:last")->attr_or("seconds") != "0")
      break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(r);
  ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  const xml::Element* q = r->child("query", "jabber:iq:last");
  ASSERT_NE(q, nullptr);
  const long seconds = std::stol(q->attr_or("seconds", "-1"));
  EXPECT_GE(seconds, 1);
  EXPECT_LT(seconds, 60);
  EXPECT_EQ(q->text(), "Heading Home");

  // bob did not subscribe to alice: he may not ask about her.
  XmppClient bob2(server_, "bob@localhost", "builder", {.resource = "b2"});
  ASSERT_TRUE(bob2.connect());
  auto reverse = ask(bob2, "alice@localhost");
  ASSERT_TRUE(reverse);
  EXPECT_EQ(error_condition(*reverse), "forbidden");
}

TEST_F(LastModule, OwnAccountWhileOnlineIsZero) {
  XmppClient alice(server_, "alice@localhost", "wonderland");
  ASSERT_TRUE(alice.connect());
  alice.available();
  auto r = ask(alice, "alice@localhost");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  EXPECT_EQ(r->child("query", "jabber:iq:last")->attr_or("seconds"), "0");
}

}  // namespace
}  // namespace parley::test

// Presence subscriptions (RFC 6121 §3, Appendix A) end to end, and the pure
// state machine behind them.
#include <gtest/gtest.h>

#include "modules/roster/roster_support.hpp"
#include "modules/roster/subscription.hpp"
#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

using namespace roster_support;
using parley::roster::inbound;
using parley::roster::outbound;
using parley::roster::SubState;
using parley::roster::SubType;
using storage::Subscription;

// ------------------------------------------------------------ state machine

SubState state(Subscription sub, bool out = false, bool in = false, bool approved = false) {
  return SubState{true, sub, out, in, approved};
}

TEST(SubscriptionStateMachine, OutboundSubscribe) {
  auto o = outbound(SubType::Subscribe, SubState{}, true);
  EXPECT_TRUE(o.forward);
  EXPECT_TRUE(o.item_changed);
  EXPECT_TRUE(o.next.exists);
  EXPECT_TRUE(o.next.pending_out);
  // To / Both: no change, still routed.
  o = outbound(SubType::Subscribe, state(Subscription::Both), true);
  EXPECT_FALSE(o.item_changed);
  EXPECT_TRUE(o.forward);
  o = outbound(SubType::Subscribe, state(Subscription::From), true);
  EXPECT_TRUE(o.next.pending_out);
  EXPECT_EQ(o.next.sub, Subscription::From);
}

TEST(SubscriptionStateMachine, OutboundSubscribedApprovesOrPreApproves) {
  auto o = outbound(SubType::Subscribed, state(Subscription::None, true, true), true);
  EXPECT_EQ(o.next.sub, Subscription::From);
  EXPECT_TRUE(o.next.pending_out);  // None+PendingOut/In -> From+PendingOut
  EXPECT_FALSE(o.next.pending_in);
  EXPECT_TRUE(o.forward && o.send_presence && o.pending_in_changed);
  o = outbound(SubType::Subscribed, state(Subscription::To, false, true), true);
  EXPECT_EQ(o.next.sub, Subscription::Both);
  // No request: pre-approval, not routed.
  o = outbound(SubType::Subscribed, SubState{}, true);
  EXPECT_FALSE(o.forward);
  EXPECT_TRUE(o.next.approved && o.item_changed && o.next.exists);
  o = outbound(SubType::Subscribed, SubState{}, false);
  EXPECT_FALSE(o.forward || o.item_changed);
  o = outbound(SubType::Subscribed, state(Subscription::Both), true);
  EXPECT_FALSE(o.forward || o.item_changed);
}

TEST(SubscriptionStateMachine, OutboundUnsubscribeAndUnsubscribed) {
  auto o = outbound(SubType::Unsubscribe, state(Subscription::Both), true);
  EXPECT_EQ(o.next.sub, Subscription::From);
  o = outbound(SubType::Unsubscribe, state(Subscription::None, true, true), true);
  EXPECT_EQ(o.next, state(Subscription::None, false, true));
  o = outbound(SubType::Unsubscribed, state(Subscription::Both), true);
  EXPECT_EQ(o.next.sub, Subscription::To);
  EXPECT_TRUE(o.send_unavailable);
  o = outbound(SubType::Unsubscribed, state(Subscription::None, true, true), true);
  EXPECT_EQ(o.next, state(Subscription::None, true, false));
  EXPECT_FALSE(o.send_unavailable);
  o = outbound(SubType::Unsubscribed, state(Subscription::None, false, false, true), true);
  EXPECT_FALSE(o.next.approved);  // pre-approval withdrawn
}

TEST(SubscriptionStateMachine, InboundTables) {
  // A.3.1 subscribe
  auto o = inbound(SubType::Subscribe, SubState{});
  EXPECT_TRUE(o.forward && o.next.pending_in && o.pending_in_changed);
  EXPECT_FALSE(o.item_changed);
  o = inbound(SubType::Subscribe, SubState{false, Subscription::None, false, true, false});
  EXPECT_FALSE(o.forward);  // duplicate
  o = inbound(SubType::Subscribe, state(Subscription::From));
  EXPECT_TRUE(o.auto_subscribed && !o.forward);
  o = inbound(SubType::Subscribe, state(Subscription::To, false, false, true));
  EXPECT_TRUE(o.auto_subscribed);
  EXPECT_EQ(o.next.sub, Subscription::Both);
  EXPECT_FALSE(o.next.approved);
  // A.3.3 subscribed
  o = inbound(SubType::Subscribed, state(Subscription::None, true));
  EXPECT_EQ(o.next.sub, Subscription::To);
  EXPECT_TRUE(o.forward);
  o = inbound(SubType::Subscribed, state(Subscription::None));
  EXPECT_FALSE(o.forward || o.item_changed);
  o = inbound(SubType::Subscribed, state(Subscription::From, true));
  EXPECT_EQ(o.next.sub, Subscription::Both);
  // A.3.2 unsubscribe
  o = inbound(SubType::Unsubscribe, state(Subscription::Both));
  EXPECT_EQ(o.next.sub, Subscription::To);
  EXPECT_TRUE(o.forward && o.send_unavailable);
  o = inbound(SubType::Unsubscribe, state(Subscription::To));
  EXPECT_FALSE(o.forward || o.item_changed);
  // A.3.4 unsubscribed
  o = inbound(SubType::Unsubscribed, state(Subscription::Both));
  EXPECT_EQ(o.next.sub, Subscription::From);
  EXPECT_TRUE(o.forward);
  o = inbound(SubType::Unsubscribed, state(Subscription::From));
  EXPECT_FALSE(o.forward || o.item_changed);
}

// ------------------------------------------------------------ end to end

class Subscriptions : public ::testing::Test {
 protected:
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

TEST_F(Subscriptions, HandshakeBothWays) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob.connect());
  ASSERT_TRUE(get_roster(alice));
  ASSERT_TRUE(get_roster(bob));
  online(alice);
  online(bob, "<status>building</status>");
  alice.drain();
  bob.drain();

  // alice asks (§3.1.1-3.1.3): pushed with ask='subscribe', delivered bare-to-bare.
  alice.send("<presence to='bob@localhost/b' type='subscribe'><status>hi</status></presence>");
  auto push = alice.expect(is_push_for("bob@localhost", "none"));
  ASSERT_TRUE(push);
  EXPECT_EQ(push_item(*push)->attr_or("ask"), "subscribe");
  auto request = bob.expect(is_presence_from("alice@localhost", "subscribe"));
  ASSERT_TRUE(request);
  EXPECT_EQ(request->attr_or("from"), "alice@localhost");
  EXPECT_EQ(request->attr_or("to"), "bob@localhost");
  EXPECT_EQ(request->child_text("status"), "hi");
  // Nothing in bob's roster yet (a pending request is not an item).
  EXPECT_EQ(subscription_of(bob, "alice@localhost"), "absent");

  // bob approves (§3.1.5-3.1.6).
  bob.send("<presence to='alice@localhost' type='subscribed'/>");
  EXPECT_TRUE(bob.expect(is_push_for("alice@localhost", "from")));
  auto approved = alice.expect(is_presence_from("bob@localhost", "subscribed"));
  ASSERT_TRUE(approved);
  EXPECT_EQ(approved->attr_or("from"), "bob@localhost");
  push = alice.expect(is_push_for("bob@localhost", "to"));
  ASSERT_TRUE(push);
  EXPECT_FALSE(push_item(*push)->has_attr("ask"));
  // ... and bob's current presence follows.
  auto presence = alice.expect(is_presence_from("bob@localhost/b"));
  ASSERT_TRUE(presence);
  EXPECT_EQ(presence->child_text("status"), "building");

  // The other way round.
  bob.send("<presence to='alice@localhost' type='subscribe'/>");
  push = bob.expect(is_push_for("alice@localhost", "from"));
  ASSERT_TRUE(push);
  EXPECT_EQ(push_item(*push)->attr_or("ask"), "subscribe");
  ASSERT_TRUE(alice.expect(is_presence_from("bob@localhost", "subscribe")));
  alice.send("<presence to='bob@localhost' type='subscribed'/>");
  EXPECT_TRUE(alice.expect(is_push_for("bob@localhost", "both")));
  EXPECT_TRUE(bob.expect(is_presence_from("alice@localhost", "subscribed")));
  EXPECT_TRUE(bob.expect(is_push_for("alice@localhost", "both")));
  EXPECT_TRUE(bob.expect(is_presence_from("alice@localhost/a")));

  EXPECT_EQ(subscription_of(alice, "bob@localhost"), "both");
  EXPECT_EQ(subscription_of(bob, "alice@localhost"), "both");

  // Now presence flows both ways.
  alice.send("<presence><show>away</show></presence>");
  auto away = bob.expect(is_presence_from("alice@localhost/a"));
  ASSERT_TRUE(away);
  EXPECT_EQ(away->child_text("show"), "away");
}

TEST_F(Subscriptions, DuplicateSubscribeIsNotDeliveredTwice) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob.connect());
  online(bob);
  alice.send("<presence to='bob@localhost' type='subscribe'/>");
  ASSERT_TRUE(bob.expect(is_presence_from("alice@localhost", "subscribe")));
  alice.send("<presence to='bob@localhost' type='subscribe'/>");
  EXPECT_TRUE(bob.nothing(is_presence_from("alice@localhost", "subscribe")));
}

TEST_F(Subscriptions, PreApproval) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob.connect());
  ASSERT_TRUE(get_roster(alice));
  ASSERT_TRUE(get_roster(bob));
  online(alice);
  online(bob);

  // bob approves before being asked (§3.4): an item with approved='true', nothing routed.
  bob.send("<presence to='alice@localhost' type='subscribed'/>");
  auto push = bob.expect(is_push_for("alice@localhost", "none"));
  ASSERT_TRUE(push);
  EXPECT_EQ(push_item(*push)->attr_or("approved"), "true");
  EXPECT_TRUE(alice.nothing(is_presence_from("bob@localhost", "subscribed")));

  // alice's request is answered by the server at once; bob never sees it.
  alice.send("<presence to='bob@localhost' type='subscribe'/>");
  EXPECT_TRUE(alice.expect(is_presence_from("bob@localhost", "subscribed")));
  EXPECT_TRUE(alice.expect(is_push_for("bob@localhost", "to")));
  push = bob.expect(is_push_for("alice@localhost", "from"));
  ASSERT_TRUE(push);
  EXPECT_FALSE(push_item(*push)->has_attr("approved"));
  EXPECT_TRUE(bob.nothing(is_presence_from("alice@localhost", "subscribe")));
  EXPECT_TRUE(alice.expect(is_presence_from("bob@localhost/b")));
}

TEST_F(Subscriptions, UnsubscribeAndUnsubscribed) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob.connect());
  ASSERT_TRUE(get_roster(alice));
  ASSERT_TRUE(get_roster(bob));
  online(alice);
  online(bob);
  befriend(alice, "alice@localhost", bob, "bob@localhost");

  // alice stops following bob (§3.3): alice Both->From, bob Both->To, and bob's
  // server tells alice bob is unavailable.
  alice.send("<presence to='bob@localhost' type='unsubscribe'/>");
  EXPECT_TRUE(alice.expect(is_push_for("bob@localhost", "from")));
  EXPECT_TRUE(bob.expect(is_presence_from("alice@localhost", "unsubscribe")));
  EXPECT_TRUE(bob.expect(is_push_for("alice@localhost", "to")));
  EXPECT_TRUE(alice.expect(is_presence_from("bob@localhost/b", "unavailable")));

  // bob's presence no longer reaches alice.
  bob.send("<presence><status>new</status></presence>");
  EXPECT_TRUE(alice.nothing(is_presence_from("bob@localhost/b")));

  // alice cancels bob's subscription (§3.2): alice From->None, bob To->None.
  alice.send("<presence to='bob@localhost' type='unsubscribed'/>");
  EXPECT_TRUE(alice.expect(is_push_for("bob@localhost", "none")));
  EXPECT_TRUE(bob.expect(is_presence_from("alice@localhost", "unsubscribed")));
  EXPECT_TRUE(bob.expect(is_push_for("alice@localhost", "none")));
  EXPECT_TRUE(bob.expect(is_presence_from("alice@localhost/a", "unavailable")));
}

TEST_F(Subscriptions, DecliningARequest) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob.connect());
  ASSERT_TRUE(get_roster(alice));
  online(alice);  // the answer is delivered to available resources
  online(bob);
  alice.send("<presence to='bob@localhost' type='subscribe'/>");
  ASSERT_TRUE(alice.expect(is_push_for("bob@localhost", "none")));
  ASSERT_TRUE(bob.expect(is_presence_from("alice@localhost", "subscribe")));
  bob.send("<presence to='alice@localhost' type='unsubscribed'/>");
  ASSERT_TRUE(alice.expect(is_presence_from("bob@localhost", "unsubscribed")));
  auto push = alice.expect(is_push_for("bob@localhost", "none"));
  ASSERT_TRUE(push);
  EXPECT_FALSE(push_item(*push)->has_attr("ask"));
  // The request is gone: not shown again at bob's next login.
  bob.disconnect();
  XmppClient bob2(server_, "bob@localhost", "builder", {.resource = "c"});
  ASSERT_TRUE(bob2.connect());
  online(bob2);
  EXPECT_TRUE(bob2.nothing(is_presence_from("alice@localhost", "subscribe")));
}

TEST_F(Subscriptions, SubscribeToNonexistentAccountIsDeclined) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(get_roster(alice));
  online(alice);
  alice.send("<presence to='nobody@localhost' type='subscribe'/>");
  ASSERT_TRUE(alice.expect(is_push_for("nobody@localhost", "none")));
  EXPECT_TRUE(alice.expect(is_presence_from("nobody@localhost", "unsubscribed")));
  auto push = alice.expect(is_push_for("nobody@localhost", "none"));
  ASSERT_TRUE(push);
  EXPECT_FALSE(push_item(*push)->has_attr("ask"));
}

TEST_F(Subscriptions, PendingRequestIsShownAtLoginAndSurvivesRestart) {
  {
    XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
    ASSERT_TRUE(alice.connect());
    alice.send("<presence to='bob@localhost' type='subscribe'><status>let me in</status></presence>");
    // Make sure it was processed (the roster shows the pending-out state).
    bool pending = false;
    for (int i = 0; i < 50 && !pending; ++i) {
      auto r = get_roster(alice);
      const xml::Element* item = r && query_of(*r) ? find_item(*query_of(*r), "bob@localhost") : nullptr;
      pending = item && item->attr_or("ask") == "subscribe";
    }
    ASSERT_TRUE(pending);
  }
  // bob was offline; the request waits across a restart.
  server_.restart();
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(bob.connect());
  EXPECT_TRUE(bob.nothing(is_presence_from("alice@localhost", "subscribe"), std::chrono::milliseconds(300)));
  online(bob);
  auto request = bob.expect(is_presence_from("alice@localhost", "subscribe"));
  ASSERT_TRUE(request);
  EXPECT_EQ(request->child_text("status"), "let me in");
  // It can be approved after the restart.
  ASSERT_TRUE(get_roster(bob));
  bob.send("<presence to='alice@localhost' type='subscribed'/>");
  EXPECT_TRUE(bob.expect(is_push_for("alice@localhost", "from")));
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  EXPECT_TRUE(wait_subscription(alice, "bob@localhost", "to"));
}

TEST_F(Subscriptions, RemovingAContactCancelsBothDirections) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob.connect());
  ASSERT_TRUE(get_roster(alice));
  ASSERT_TRUE(get_roster(bob));
  online(alice);
  online(bob);
  befriend(alice, "alice@localhost", bob, "bob@localhost");

  ASSERT_EQ(roster_set(alice, "<item jid='bob@localhost' subscription='remove'/>")->attr_or("type"),
            "result");
  EXPECT_TRUE(alice.expect(is_push_for("bob@localhost", "remove")));
  EXPECT_TRUE(bob.expect(is_presence_from("alice@localhost", "unsubscribe")));
  EXPECT_TRUE(bob.expect(is_presence_from("alice@localhost", "unsubscribed")));
  EXPECT_TRUE(bob.expect(is_presence_from("alice@localhost/a", "unavailable")));
  EXPECT_TRUE(wait_subscription(bob, "alice@localhost", "none"));
}

}  // namespace
}  // namespace parley::test

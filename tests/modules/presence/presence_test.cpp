// Presence (RFC 6121 §4) end to end: broadcast, probes, unavailable on
// logout, directed presence and priorities.
#include <gtest/gtest.h>

#include "modules/presence/presence_state.hpp"
#include "modules/roster/roster_support.hpp"
#include "support/test_client.hpp"
#include "support/test_server.hpp"
#include "xmpp/stanza.hpp"

namespace parley::test {
namespace {

using namespace roster_support;

TEST(PresencePriority, ParsesTheRangeAndFallsBackToZero) {
  auto with = [](const std::string& text) {
    xml::Element p = make_presence("", "a@b/c", "");
    p.add_child("priority", "jabber:client").add_text(text);
    return presence::parse_priority(p);
  };
  EXPECT_EQ(presence::parse_priority(make_presence("", "a@b/c", "")), 0);
  EXPECT_EQ(with("5"), 5);
  EXPECT_EQ(with(" -1 "), -1);
  EXPECT_EQ(with("+7"), 7);
  EXPECT_EQ(with("127"), 127);
  EXPECT_EQ(with("-128"), -128);
  EXPECT_EQ(with("128"), 0);
  EXPECT_EQ(with("-129"), 0);
  EXPECT_EQ(with("abc"), 0);
  EXPECT_EQ(with("1.5"), 0);
  EXPECT_EQ(with(""), 0);
}

class Presence : public ::testing::Test {
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
  // alice and bob subscribe to each other; both sessions end available.
  void make_friends() {
    XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "setup-a"});
    XmppClient bob(server_, "bob@localhost", "builder", {.resource = "setup-b"});
    ASSERT_TRUE(alice.connect());
    ASSERT_TRUE(bob.connect());
    ASSERT_TRUE(get_roster(alice));
    ASSERT_TRUE(get_roster(bob));
    online(alice);
    online(bob);
    befriend(alice, "alice@localhost", bob, "bob@localhost");
  }
  TestServer server_;
};

TEST_F(Presence, BroadcastReachesSubscribersAndOwnResourcesOnly) {
  make_friends();
  XmppClient a1(server_, "alice@localhost", "wonderland", {.resource = "one"});
  XmppClient a2(server_, "alice@localhost", "wonderland", {.resource = "two"});
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  XmppClient carol(server_, "carol@localhost", "singer", {.resource = "c"});
  ASSERT_TRUE(a1.connect());
  ASSERT_TRUE(a2.connect());
  ASSERT_TRUE(bob.connect());
  ASSERT_TRUE(carol.connect());
  online(a2);
  online(bob);
  online(carol);
  a1.drain();
  a2.drain();
  bob.drain();

  a1.send("<presence><show>dnd</show><status>busy</status><priority>3</priority></presence>");
  auto at_bob = bob.expect(is_presence_from("alice@localhost/one"));
  ASSERT_TRUE(at_bob);
  EXPECT_EQ(at_bob->child_text("status"), "busy");
  EXPECT_EQ(at_bob->attr_or("to"), "bob@localhost");
  EXPECT_TRUE(a2.expect(is_presence_from("alice@localhost/one")));
  // The sender gets its own presence back (§4.2.2).
  EXPECT_TRUE(a1.expect(is_presence_from("alice@localhost/one")));
  // No subscription, no presence.
  EXPECT_TRUE(carol.nothing(is_presence_from("alice@localhost")));

  // Subsequent broadcast (§4.4).
  a1.send("<presence><status>free</status></presence>");
  auto again = bob.expect(is_presence_from("alice@localhost/one"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->child_text("status"), "free");
}

TEST_F(Presence, InitialPresenceProbesContacts) {
  make_friends();
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(bob.connect());
  online(bob, "<status>at work</status>");

  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  EXPECT_TRUE(alice.nothing(is_presence_from("bob@localhost/b"), std::chrono::milliseconds(300)));
  online(alice);
  auto probed = alice.expect(is_presence_from("bob@localhost/b"));
  ASSERT_TRUE(probed);
  EXPECT_EQ(probed->child_text("status"), "at work");
  // bob learns about alice too.
  EXPECT_TRUE(bob.expect(is_presence_from("alice@localhost/a")));
}

TEST_F(Presence, IdleTimePassesThroughBroadcastsAndProbes) {
  // XEP-0319: the server relays <idle/> untouched, live and in probe answers.
  const std::string idle = "<idle xmlns='urn:xmpp:idle:1' since='2026-11-28T08:00:00Z'/>";
  make_friends();
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(bob.connect());
  online(bob, "<show>away</show>" + idle);

  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  online(alice);
  auto probed = alice.expect(is_presence_from("bob@localhost/b"));
  ASSERT_TRUE(probed);
  const xml::Element* since = probed->child("idle", "urn:xmpp:idle:1");
  ASSERT_NE(since, nullptr);
  EXPECT_EQ(since->attr_or("since"), "2026-11-28T08:00:00Z");

  bob.send(
      "<presence><show>xa</show><idle xmlns='urn:xmpp:idle:1' "
      "since='2026-11-28T07:00:00Z'/></presence>");
  auto live = alice.expect([](const xml::Element& el) {
    return el.name() == "presence" && el.attr_or("from") == "bob@localhost/b" &&
           el.child_text("show") == "xa";
  });
  ASSERT_TRUE(live);
  ASSERT_NE(live->child("idle", "urn:xmpp:idle:1"), nullptr);
  EXPECT_EQ(live->child("idle", "urn:xmpp:idle:1")->attr_or("since"), "2026-11-28T07:00:00Z");
}

TEST_F(Presence, ProbeOfAnOfflineContactIsAnsweredUnavailable) {
  make_friends();
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  online(alice);
  auto reply = alice.expect(is_presence_from("bob@localhost", "unavailable"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->attr_or("from"), "bob@localhost");
}

TEST_F(Presence, NewResourceSeesTheOtherResources) {
  XmppClient a1(server_, "alice@localhost", "wonderland", {.resource = "one"});
  ASSERT_TRUE(a1.connect());
  online(a1, "<status>first</status>");
  XmppClient a2(server_, "alice@localhost", "wonderland", {.resource = "two"});
  ASSERT_TRUE(a2.connect());
  online(a2);
  auto other = a2.expect(is_presence_from("alice@localhost/one"));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->child_text("status"), "first");
  EXPECT_TRUE(a1.expect(is_presence_from("alice@localhost/two")));
}

TEST_F(Presence, DisconnectBroadcastsUnavailable) {
  make_friends();
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  XmppClient a2(server_, "alice@localhost", "wonderland", {.resource = "a2"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(a2.connect());
  online(alice);
  online(a2);
  {
    XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
    ASSERT_TRUE(bob.connect());
    online(bob);
    ASSERT_TRUE(alice.expect(is_presence_from("bob@localhost/b")));
    bob.disconnect();
  }
  EXPECT_TRUE(alice.expect(is_presence_from("bob@localhost/b", "unavailable")));
  EXPECT_TRUE(a2.expect(is_presence_from("bob@localhost/b", "unavailable")));

  // An own resource going away is seen by the others.
  a2.disconnect();
  EXPECT_TRUE(alice.expect(is_presence_from("alice@localhost/a2", "unavailable")));
}

TEST_F(Presence, ExplicitUnavailable) {
  make_friends();
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob.connect());
  online(alice);
  online(bob);
  ASSERT_TRUE(alice.expect(is_presence_from("bob@localhost/b")));
  bob.send("<presence type='unavailable'><status>gone fishing</status></presence>");
  auto gone = alice.expect(is_presence_from("bob@localhost/b", "unavailable"));
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->child_text("status"), "gone fishing");
  bob.drain();  // alice's presence from bob's first login
  // Unavailable: presence to bob's bare JID no longer reaches this resource,
  // and a probe finds nobody.
  alice.send("<presence><status>hello?</status></presence>");
  EXPECT_TRUE(bob.nothing(is_presence_from("alice@localhost/a")));
  // Becoming available again is initial presence once more: bob's contacts
  // see him and he gets their presence.
  online(bob);
  EXPECT_TRUE(alice.expect(is_presence_from("bob@localhost/b")));
  auto back = bob.expect(is_presence_from("alice@localhost/a"));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->child_text("status"), "hello?");
}

TEST_F(Presence, DirectedPresenceIsFollowedByUnavailableOnLogout) {
  XmppClient carol(server_, "carol@localhost", "singer", {.resource = "c"});
  ASSERT_TRUE(carol.connect());
  online(carol);
  {
    XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
    ASSERT_TRUE(alice.connect());
    online(alice);
    alice.send("<presence to='carol@localhost/c'><status>psst</status></presence>");
    auto directed = carol.expect(is_presence_from("alice@localhost/a"));
    ASSERT_TRUE(directed);
    EXPECT_EQ(directed->child_text("status"), "psst");
    alice.disconnect();
  }
  EXPECT_TRUE(carol.expect(is_presence_from("alice@localhost/a", "unavailable")));
}

TEST_F(Presence, DirectedUnavailableForgetsTheRecipient) {
  XmppClient carol(server_, "carol@localhost", "singer", {.resource = "c"});
  ASSERT_TRUE(carol.connect());
  online(carol);
  {
    XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
    ASSERT_TRUE(alice.connect());
    online(alice);
    alice.send("<presence to='carol@localhost'/>");
    ASSERT_TRUE(carol.expect(is_presence_from("alice@localhost/a")));
    alice.send("<presence to='carol@localhost' type='unavailable'/>");
    ASSERT_TRUE(carol.expect(is_presence_from("alice@localhost/a", "unavailable")));
    alice.disconnect();
  }
  EXPECT_TRUE(carol.nothing(is_presence_from("alice@localhost/a", "unavailable")));
}

TEST_F(Presence, ProbeFromAStrangerRevealsNothing) {
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(bob.connect());
  online(bob, "<status>secret</status>");
  XmppClient carol(server_, "carol@localhost", "singer", {.resource = "c"});
  ASSERT_TRUE(carol.connect());
  online(carol);
  carol.send("<presence to='bob@localhost' type='probe'/>");
  EXPECT_TRUE(carol.nothing(is_presence_from("bob@localhost/b")));
}

TEST_F(Presence, NegativePriorityGetsNoBareJidMessages) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  XmppClient low(server_, "bob@localhost", "builder", {.resource = "low"});
  XmppClient high(server_, "bob@localhost", "builder", {.resource = "high"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(low.connect());
  ASSERT_TRUE(high.connect());
  online(low, "<priority>-1</priority>");
  online(high, "<priority>1</priority>");
  alice.send("<message to='bob@localhost' type='chat'><body>to the bare jid</body></message>");
  EXPECT_TRUE(high.expect(has_body("to the bare jid")));
  EXPECT_TRUE(low.nothing(has_body("to the bare jid")));
  // A full-JID message still reaches the negative-priority resource.
  alice.send("<message to='bob@localhost/low' type='chat'><body>direct</body></message>");
  EXPECT_TRUE(low.expect(has_body("direct")));
}

TEST_F(Presence, InvalidPriorityCountsAsZero) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob.connect());
  online(bob, "<priority>-500</priority>");
  alice.send("<message to='bob@localhost' type='chat'><body>reaches</body></message>");
  EXPECT_TRUE(bob.expect(has_body("reaches")));
}

}  // namespace
}  // namespace parley::test

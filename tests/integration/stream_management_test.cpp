// Stream Management (XEP-0198) against a real parleyd: acks, the durability
// of what the server acknowledges, resumption after a dropped connection (on
// the same or another listener, by a raw client and by libstrophe), and what
// happens to unacknowledged messages when a session ends without resuming.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <thread>

#include "storage/store.hpp"
#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

constexpr const char* kSm = "urn:xmpp:sm:3";

std::string attr_of(const std::string& text, const std::string& tag, const std::string& name) {
  std::smatch m;
  const std::regex re("<" + tag + "\\b[^>]*\\b" + name + "='([^']*)'");
  return std::regex_search(text, m, re) ? m[1].str() : std::string();
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

// Highest h of every <a/> the server sent so far.
int64_t highest_ack(const std::string& text) {
  int64_t best = -1;
  const std::regex re("<a xmlns='urn:xmpp:sm:3' h='([0-9]+)'/>");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it)
    best = std::max<int64_t>(best, std::stoll((*it)[1].str()));
  return best;
}

std::string chat_to(const std::string& to, const std::string& body) {
  return "<message to='" + to + "' type='chat'><body>" + body + "</body></message>";
}

class StreamManagement : public ::testing::Test {
 protected:
  explicit StreamManagement(TestServerOptions options = {}) : server_(std::move(options)) {}
  void SetUp() override {
    server_.create_user("alice", "wonderland");
    server_.create_user("bob", "builder");
    server_.start();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  // A raw client logged in as alice, bound to `resource`, with SM enabled;
  // returns the SM-ID ("" if resumption was not granted).
  std::string alice_enables(RawClient& c, const std::string& resource = "phone",
                            const std::string& enable_attrs = " resume='true'") {
    EXPECT_TRUE(raw_login(c, "alice", "wonderland"));
    EXPECT_EQ(raw_bind(c, resource), "alice@localhost/" + resource);
    c.clear();
    c.send(std::string("<enable xmlns='") + kSm + "'" + enable_attrs + "/>");
    EXPECT_TRUE(c.read_until("<enabled")) << c.received();
    EXPECT_TRUE(c.read_until("/>"));
    return attr_of(c.received(), "enabled", "id");
  }
  TestServer server_;
};

TEST_F(StreamManagement, IsAdvertisedAndEnabledWithResumption) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(raw_login(c, "alice", "wonderland"));
  EXPECT_NE(c.received().find("<sm xmlns='urn:xmpp:sm:3'/>"), std::string::npos) << c.received();
  ASSERT_FALSE(raw_bind(c, "phone").empty());
  c.clear();
  c.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
  ASSERT_TRUE(c.read_until("<enabled"));
  ASSERT_TRUE(c.read_until("/>"));
  EXPECT_GE(attr_of(c.received(), "enabled", "id").size(), 16u);
  EXPECT_EQ(attr_of(c.received(), "enabled", "resume"), "true");
  EXPECT_EQ(attr_of(c.received(), "enabled", "max"), "86400");  // the default window
}

TEST_F(StreamManagement, ClientMayAskForAShorterWindowButNotALongerOne) {
  RawClient shorter(server_.c2s_port());
  alice_enables(shorter, "a", " resume='true' max='60'");
  EXPECT_EQ(attr_of(shorter.received(), "enabled", "max"), "60");
  RawClient longer(server_.c2s_port());
  alice_enables(longer, "b", " resume='true' max='999999'");
  EXPECT_EQ(attr_of(longer.received(), "enabled", "max"), "86400");
}

TEST_F(StreamManagement, WithoutResumeThereIsNoId) {
  RawClient c(server_.c2s_port());
  EXPECT_EQ(alice_enables(c, "phone", ""), "");
  EXPECT_EQ(c.received().find("resume="), std::string::npos) << c.received();
}

TEST_F(StreamManagement, AckCountsEveryStanzaHandled) {
  RawClient c(server_.c2s_port());
  alice_enables(c);
  c.clear();
  c.send("<presence/>");
  c.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  c.send(chat_to("bob@localhost", "stored for later"));  // bob is offline: offline storage
  c.send("<r xmlns='urn:xmpp:sm:3'/>");
  // The message counts once it is committed to storage; if it was not yet,
  // an unsolicited <a/> follows.
  EXPECT_TRUE(c.read_until("<a xmlns='urn:xmpp:sm:3' h='3'/>")) << c.received();
}

TEST_F(StreamManagement, ServerRequestsAnAckAfterSending) {
  RawClient c(server_.c2s_port());
  alice_enables(c);
  XmppClient bob(server_, "bob@localhost", "builder");
  ASSERT_TRUE(bob.connect());
  c.clear();
  bob.send(chat_to("alice@localhost/phone", "hello"));
  ASSERT_TRUE(c.read_until("hello"));
  EXPECT_TRUE(c.read_until("<r xmlns='urn:xmpp:sm:3'/>")) << c.received();
  c.send("<a xmlns='urn:xmpp:sm:3' h='1'/>");
  // The stream goes on: another message arrives normally.
  bob.send(chat_to("alice@localhost/phone", "again"));
  EXPECT_TRUE(c.read_until("again"));
}

TEST_F(StreamManagement, AckingMoreThanWasSentEndsTheStream) {
  RawClient c(server_.c2s_port());
  alice_enables(c);
  c.clear();
  c.send("<a xmlns='urn:xmpp:sm:3' h='5'/>");
  EXPECT_TRUE(c.read_until("<undefined-condition")) << c.received();
  EXPECT_NE(
      c.received().find("<handled-count-too-high xmlns='urn:xmpp:sm:3' h='5' send-count='0'/>"),
      std::string::npos)
      << c.received();
  EXPECT_TRUE(c.read_until_closed());
}

TEST_F(StreamManagement, MalformedAckEndsTheStream) {
  RawClient c(server_.c2s_port());
  alice_enables(c);
  c.clear();
  c.send("<a xmlns='urn:xmpp:sm:3' h='-1'/>");
  EXPECT_TRUE(c.read_until("<undefined-condition")) << c.received();
  EXPECT_TRUE(c.read_until_closed());
}

TEST_F(StreamManagement, EnableBeforeBindOrTwiceFails) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(raw_login(c, "alice", "wonderland"));
  c.clear();
  c.send("<enable xmlns='urn:xmpp:sm:3'/>");
  ASSERT_TRUE(c.read_until("<failed")) << c.received();
  EXPECT_TRUE(c.read_until("<unexpected-request"));
  // The stream survives: binding and enabling still work, once.
  ASSERT_EQ(raw_bind(c, "phone"), "alice@localhost/phone");
  c.clear();
  c.send("<enable xmlns='urn:xmpp:sm:3'/>");
  ASSERT_TRUE(c.read_until("<enabled"));
  c.clear();
  c.send("<enable xmlns='urn:xmpp:sm:3'/>");
  EXPECT_TRUE(c.read_until("<unexpected-request")) << c.received();
}

TEST_F(StreamManagement, AckRequestBeforeEnableFails) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(raw_login(c, "alice", "wonderland"));
  ASSERT_FALSE(raw_bind(c, "phone").empty());
  c.clear();
  c.send("<r xmlns='urn:xmpp:sm:3'/>");
  EXPECT_TRUE(c.read_until("<unexpected-request")) << c.received();
}

TEST_F(StreamManagement, ResumeReplaysExactlyWhatWasNotAcknowledged) {
  std::string id;
  {
    RawClient phone(server_.c2s_port());
    id = alice_enables(phone);
    ASSERT_FALSE(id.empty());
    XmppClient bob(server_, "bob@localhost", "builder");
    ASSERT_TRUE(bob.connect());
    phone.clear();
    for (const char* body : {"one", "two", "three"})
      bob.send(chat_to("alice@localhost/phone", body));
    ASSERT_TRUE(phone.read_until("three"));
    phone.send("<a xmlns='urn:xmpp:sm:3' h='1'/>");  // only "one" reached the app
    std::this_thread::sleep_for(200ms);
  }  // the connection drops without a closing handshake
  RawClient again(server_.c2s_port());
  ASSERT_TRUE(raw_login(again, "alice", "wonderland"));
  again.clear();
  again.send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='1'/>");
  ASSERT_TRUE(again.read_until("<resumed")) << again.received();
  ASSERT_TRUE(again.read_until("three")) << again.received();
  EXPECT_EQ(attr_of(again.received(), "resumed", "h"), "0");  // alice sent no stanza
  EXPECT_EQ(attr_of(again.received(), "resumed", "previd"), id);
  EXPECT_EQ(count_of(again.received(), ">one<"), 0u);
  EXPECT_EQ(count_of(again.received(), ">two<"), 1u);
  EXPECT_EQ(count_of(again.received(), ">three<"), 1u);
  EXPECT_LT(again.received().find(">two<"), again.received().find(">three<"));

  // The resumed session is alice/phone again, both ways.
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "desk"});
  ASSERT_TRUE(bob.connect());
  again.send(chat_to("bob@localhost/desk", "back"));
  auto got = bob.expect(has_body("back"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->attr_or("from"), "alice@localhost/phone");
  bob.send(chat_to("alice@localhost/phone", "four"));
  EXPECT_TRUE(again.read_until(">four<"));
}

TEST_F(StreamManagement, ResumeWorksOnTheDirectTlsListener) {
  std::string id;
  {
    RawClient phone(server_.c2s_port());
    id = alice_enables(phone);
    XmppClient bob(server_, "bob@localhost", "builder");
    ASSERT_TRUE(bob.connect());
    bob.send(chat_to("alice@localhost/phone", "unacked"));
    ASSERT_TRUE(phone.read_until("unacked"));
  }
  RawClient again(server_.direct_tls_port(), /*direct_tls=*/true);
  ASSERT_TRUE(raw_login(again, "alice", "wonderland"));
  again.clear();
  again.send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>");
  ASSERT_TRUE(again.read_until("<resumed")) << again.received();
  EXPECT_TRUE(again.read_until("unacked"));
}

TEST_F(StreamManagement, MessagesArrivingDuringTheGapAreDeliveredOnResume) {
  std::string id;
  {
    RawClient phone(server_.c2s_port());
    id = alice_enables(phone);
    phone.send("<presence/>");
    ASSERT_TRUE(phone.read_until("<presence"));
  }
  std::this_thread::sleep_for(300ms);  // the server notices the drop
  XmppClient bob(server_, "bob@localhost", "builder");
  ASSERT_TRUE(bob.connect());
  bob.send(chat_to("alice@localhost", "to the bare jid"));
  bob.send(chat_to("alice@localhost/phone", "to the full jid"));
  // Stored, not bounced: the sender sees no error.
  EXPECT_TRUE(bob.nothing([](const xml::Element& el) { return el.attr_or("type") == "error"; }));
  RawClient again(server_.c2s_port());
  ASSERT_TRUE(raw_login(again, "alice", "wonderland"));
  again.clear();
  again.send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>");
  ASSERT_TRUE(again.read_until("<resumed"));
  ASSERT_TRUE(again.read_until("to the full jid")) << again.received();
  EXPECT_EQ(count_of(again.received(), "to the bare jid"), 1u);
  EXPECT_NE(again.received().find("urn:xmpp:delay"), std::string::npos);
}

TEST_F(StreamManagement, AnotherAccountCannotResumeTheSession) {
  std::string id;
  {
    RawClient phone(server_.c2s_port());
    id = alice_enables(phone);
  }
  RawClient mallory(server_.c2s_port());
  ASSERT_TRUE(raw_login(mallory, "bob", "builder"));
  mallory.clear();
  mallory.send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>");
  ASSERT_TRUE(mallory.read_until("<failed")) << mallory.received();
  EXPECT_TRUE(mallory.read_until("<item-not-found"));
  // alice still can.
  RawClient again(server_.c2s_port());
  ASSERT_TRUE(raw_login(again, "alice", "wonderland"));
  again.clear();
  again.send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>");
  EXPECT_TRUE(again.read_until("<resumed")) << again.received();
}

TEST_F(StreamManagement, UnknownIdOrResumeAfterBindFails) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(raw_login(c, "alice", "wonderland"));
  c.clear();
  c.send("<resume xmlns='urn:xmpp:sm:3' previd='no-such-session' h='0'/>");
  ASSERT_TRUE(c.read_until("<item-not-found")) << c.received();
  // After a failed resumption the client binds a new session.
  ASSERT_EQ(raw_bind(c, "fresh"), "alice@localhost/fresh");
  c.clear();
  c.send("<resume xmlns='urn:xmpp:sm:3' previd='no-such-session' h='0'/>");
  EXPECT_TRUE(c.read_until("<unexpected-request")) << c.received();
}

TEST_F(StreamManagement, ResumingTwiceFailsTheSecondTime) {
  std::string id;
  {
    RawClient phone(server_.c2s_port());
    id = alice_enables(phone);
  }
  RawClient first(server_.c2s_port());
  ASSERT_TRUE(raw_login(first, "alice", "wonderland"));
  first.send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>");
  ASSERT_TRUE(first.read_until("<resumed"));
  RawClient second(server_.c2s_port());
  ASSERT_TRUE(raw_login(second, "alice", "wonderland"));
  second.clear();
  // The id now names the live session on `first`; taking it over from a
  // second connection is what a client does after a silent network switch.
  second.send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>");
  ASSERT_TRUE(second.read_until("<resumed")) << second.received();
  EXPECT_TRUE(first.read_until_closed());
}

TEST_F(StreamManagement, CleanCloseSendsUnacknowledgedMessagesToOfflineStorage) {
  {
    RawClient phone(server_.c2s_port());
    alice_enables(phone);
    phone.send("<presence/>");
    XmppClient bob(server_, "bob@localhost", "builder");
    ASSERT_TRUE(bob.connect());
    bob.send(chat_to("alice@localhost", "never acked"));
    ASSERT_TRUE(phone.read_until("never acked"));
    phone.send("</stream:stream>");
    EXPECT_TRUE(phone.read_until_closed());
  }
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "desk"});
  ASSERT_TRUE(alice.connect());
  alice.available();
  size_t copies = 0;
  for (const auto& el : alice.drain(1s))
    if (el.child_text("body") == "never acked") ++copies;
  EXPECT_EQ(copies, 1u);
}

class StreamManagementShortWindow : public StreamManagement {
 protected:
  StreamManagementShortWindow()
      : StreamManagement({.hosts = {"localhost"},
                          .require_starttls = true,
                          .extra_config = "",
                          .limits = "sm_resume_timeout_seconds = 1",
                          .server_extra = "",
                          .environment = {},
                          .http = "",
                          .test_modules = false}) {}
};

TEST_F(StreamManagementShortWindow, ExpiryStoresUnacknowledgedMessagesOnceAndGoesOffline) {
  XmppClient watcher(server_, "bob@localhost", "builder", {.resource = "watch"});
  ASSERT_TRUE(watcher.connect());
  {
    RawClient phone(server_.c2s_port());
    alice_enables(phone);
    // alice is available to bob through directed presence, so bob sees her go.
    phone.send("<presence to='bob@localhost/watch'/>");
    ASSERT_TRUE(watcher.expect(is_presence_from("alice@localhost/phone")));
    watcher.send(chat_to("alice@localhost/phone", "first"));
    watcher.send(chat_to("alice@localhost/phone", "second"));
    ASSERT_TRUE(phone.read_until("second"));
  }
  // While the session waits for resumption, nobody is told it is gone...
  EXPECT_TRUE(watcher.nothing(is_presence_from("alice@localhost/phone", "unavailable"), 500ms));
  // ...and once the window closes, it is.
  EXPECT_TRUE(watcher.expect(is_presence_from("alice@localhost/phone", "unavailable"), 5s));
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "desk"});
  ASSERT_TRUE(alice.connect());
  alice.available();
  std::vector<std::string> bodies;
  for (const auto& el : alice.drain(1s))
    if (el.name() == "message" && !el.child_text("body").empty())
      bodies.push_back(el.child_text("body"));
  EXPECT_EQ(bodies, (std::vector<std::string>{"first", "second"}));
}

TEST_F(StreamManagement, LibstropheResumesAfterItsConnectionDrops) {
  XmppClient alice(server_, "alice@localhost", "wonderland",
                   {.resource = "lib", .stream_management = true});
  ASSERT_TRUE(alice.connect()) << alice.error();
  alice.available();
  XmppClient bob(server_, "bob@localhost", "builder");
  ASSERT_TRUE(bob.connect());
  bob.available();
  bob.send(chat_to("alice@localhost/lib", "before"));
  ASSERT_TRUE(alice.expect(has_body("before")));
  alice.drop_connection();
  std::this_thread::sleep_for(200ms);
  bob.send(chat_to("alice@localhost/lib", "during"));
  ASSERT_TRUE(alice.reconnect()) << alice.error();
  XmppClient& resumed = alice;
  EXPECT_EQ(resumed.bound_jid(), "alice@localhost/lib");
  EXPECT_TRUE(resumed.expect(has_body("during")));
  bob.send(chat_to("alice@localhost/lib", "after"));
  EXPECT_TRUE(resumed.expect(has_body("after")));
  resumed.send(chat_to("bob@localhost", "from the resumed session"));
  auto got = bob.expect(has_body("from the resumed session"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->attr_or("from"), "alice@localhost/lib");
}

// kill -9 in the middle of a burst: every message the server acknowledged
// (XEP-0198 h) reaches its recipient after the restart.
TEST_F(StreamManagement, AnAckedMessageToAnOfflineUserIsAlreadyInOfflineStorage) {
  // Bob archives (the default), so his copy is archived first and routed to
  // offline storage afterwards; alice's ack must wait for that second commit.
  constexpr int kMessages = 60;
  RawClient c(server_.c2s_port());
  alice_enables(c);
  c.clear();
  auto store = server_.open_storage();
  for (int i = 0; i < kMessages; ++i) {
    c.send(chat_to("bob@localhost", "m" + std::to_string(i)) + "<r xmlns='urn:xmpp:sm:3'/>");
    const std::string ack = "<a xmlns='urn:xmpp:sm:3' h='" + std::to_string(i + 1) + "'/>";
    ASSERT_TRUE(c.read_until(ack)) << c.received();
    ASSERT_GE(store->offline().count({"localhost", "bob"}), static_cast<size_t>(i + 1))
        << "message " << i << " acknowledged before it was stored";
  }
}

TEST_F(StreamManagement, KillDuringABurstLosesNoAcknowledgedMessage) {
  constexpr int kMessages = 400;
  int64_t acked = -1;
  {
    RawClient c(server_.c2s_port());
    alice_enables(c);
    c.clear();
    std::string burst;
    for (int i = 0; i < kMessages; ++i) {
      burst += chat_to("bob@localhost", "burst-" + std::to_string(i));
      if (i % 10 == 9) burst += "<r xmlns='urn:xmpp:sm:3'/>";
    }
    c.send(burst);
    // Kill as soon as some, typically not all, are acknowledged.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (highest_ack(c.received()) < 10 && std::chrono::steady_clock::now() < deadline)
      c.read_until("<a xmlns", 50ms);
    server_.kill();
    c.read_until_closed(1s);
    acked = highest_ack(c.received());
  }
  ASSERT_GE(acked, 10);
  server_.start();
  XmppClient bob(server_, "bob@localhost", "builder");
  ASSERT_TRUE(bob.connect());
  bob.available();
  std::set<std::string> got;
  for (;;) {
    auto batch = bob.drain(1500ms);
    if (batch.empty()) break;
    for (const auto& el : batch)
      if (el.name() == "message") got.insert(el.child_text("body"));
  }
  for (int64_t i = 0; i < acked; ++i)
    EXPECT_TRUE(got.count("burst-" + std::to_string(i)))
        << "acknowledged message " << i << " lost (acked " << acked << ")";
}

}  // namespace
}  // namespace parley::test

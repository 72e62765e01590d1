// Client State Indication (XEP-0352) end to end: the stream feature, presence
// and chat states held back while inactive (only the latest presence of each
// contact), flushed in order on <active/> or before an urgent stanza, the
// bounded queue, and no message lost when an inactive session closes. The
// classification is unit-tested in tests/unit/modules/csi.
#include <gtest/gtest.h>

#include "storage/store.hpp"
#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

constexpr const char* kChatStates = "http://jabber.org/protocol/chatstates";

std::string chat_state(const std::string& to, const std::string& state) {
  return "<message to='" + to + "' type='chat'><" + state + " xmlns='" + kChatStates +
         "'/></message>";
}

std::string status_presence(const std::string& to, const std::string& status) {
  return "<presence to='" + to + "'><status>" + status + "</status></presence>";
}

Predicate from_alice() {
  return [](const xml::Element& el) { return el.attr_or("from").rfind("alice@localhost", 0) == 0; };
}

// "presence:<status>", "state:<name>", "body:<text>", "message" (anything
// else) or the element name, for each stanza from alice.
std::vector<std::string> describe(const std::vector<xml::Element>& stanzas) {
  std::vector<std::string> out;
  for (const auto& el : stanzas) {
    if (el.attr_or("from").rfind("alice@localhost", 0) != 0) continue;
    if (el.name() == "presence") {
      out.push_back("presence:" + el.child_text("status"));
    } else if (el.name() == "message" && el.child("body")) {
      out.push_back("body:" + el.child_text("body"));
    } else if (el.name() == "message") {
      std::string what = "message";
      for (const xml::Element* c : el.element_children())
        if (c->xmlns() == kChatStates) what = "state:" + c->name();
      out.push_back(what);
    } else {
      out.push_back(el.name());
    }
  }
  return out;
}

class Csi : public ::testing::Test {
 protected:
  explicit Csi(TestServerOptions options = {}) : server_(std::move(options)) {}
  void SetUp() override {
    server_.create_user("alice", "wonderland");
    server_.create_user("bob", "builder");
    server_.start();
    alice_ = login("alice", "wonderland", "a");
    bob_ = login("bob", "builder", "b");
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  std::unique_ptr<XmppClient> login(const std::string& user, const std::string& password,
                                    const std::string& resource) {
    auto c = std::make_unique<XmppClient>(server_, user + "@localhost", password,
                                          XmppClient::Options{.resource = resource});
    EXPECT_TRUE(c->connect()) << c->error();
    c->send("<presence/>");
    c->drain(200ms);
    return c;
  }
  static void inactive(XmppClient& c) {
    c.send("<inactive xmlns='urn:xmpp:csi:0'/>");
    c.drain(100ms);
  }
  TestServer server_;
  std::unique_ptr<XmppClient> alice_, bob_;
};

TEST_F(Csi, InactiveHoldsPresenceAndChatStatesUntilActive) {
  inactive(*bob_);
  alice_->send(status_presence("bob@localhost/b", "s1"));
  alice_->send(chat_state("bob@localhost/b", "composing"));
  alice_->send(status_presence("bob@localhost/b", "s2"));
  alice_->send(status_presence("bob@localhost/b", "s3"));
  alice_->send(chat_state("bob@localhost/b", "paused"));
  EXPECT_TRUE(bob_->nothing(from_alice(), 800ms)) << "nothing unimportant while inactive";

  bob_->send("<active xmlns='urn:xmpp:csi:0'/>");
  // Only the latest presence of alice, in the order of what was kept.
  EXPECT_EQ(describe(bob_->drain(600ms)),
            (std::vector<std::string>{"state:composing", "presence:s3", "state:paused"}));
  // Active again: everything flows at once.
  alice_->send(chat_state("bob@localhost/b", "gone"));
  EXPECT_TRUE(bob_->expect(from_alice()));
}

TEST_F(Csi, AMessageWithABodyFlushesEverythingBeforeIt) {
  inactive(*bob_);
  alice_->send(status_presence("bob@localhost/b", "p1"));
  alice_->send(chat_state("bob@localhost/b", "composing"));
  EXPECT_TRUE(bob_->nothing(from_alice(), 500ms));
  alice_->send("<message to='bob@localhost/b' type='chat'><body>hello</body><active xmlns='" +
               std::string(kChatStates) + "'/></message>");
  auto got = bob_->drain(600ms);
  EXPECT_EQ(describe(got),
            (std::vector<std::string>{"presence:p1", "state:composing", "body:hello"}));
  // Still inactive: the next chat state waits again.
  alice_->send(chat_state("bob@localhost/b", "paused"));
  EXPECT_TRUE(bob_->nothing(from_alice(), 500ms));
}

TEST_F(Csi, IqsAndCallProposalsAreUrgent) {
  inactive(*bob_);
  alice_->send(status_presence("bob@localhost/b", "p1"));
  alice_->send(
      "<message to='bob@localhost/b' type='chat'><propose xmlns='urn:xmpp:jingle-message:0' "
      "id='call1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>"
      "</message>");
  EXPECT_EQ(describe(bob_->drain(600ms)), (std::vector<std::string>{"presence:p1", "message"}));
  alice_->send(status_presence("bob@localhost/b", "p2"));
  alice_->send(
      "<iq type='get' id='v1' to='bob@localhost/b'><query xmlns='jabber:iq:version'/></iq>");
  EXPECT_EQ(describe(bob_->drain(600ms)), (std::vector<std::string>{"presence:p2", "iq"}));
}

TEST_F(Csi, CloseWhileInactiveLosesNoMessage) {
  auto bob2 = login("bob", "builder", "b2");
  inactive(*bob_);
  alice_->send(chat_state("bob@localhost/b", "composing"));
  EXPECT_TRUE(bob_->nothing(from_alice(), 500ms));
  bob2->drain(100ms);
  bob_->disconnect();
  // The held message went back to the router: bob's remaining resource gets it.
  auto got = bob2->expect([](const xml::Element& el) {
    return el.name() == "message" && el.child("composing", kChatStates);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->attr_or("from"), "alice@localhost/a");
}

TEST_F(Csi, HeldArchivedMessageIsArchivedOnceWhenItsSessionCloses) {
  // A chat state with a store hint: held by CSI, and archived (XEP-0334).
  auto bob2 = login("bob", "builder", "b2");
  inactive(*bob_);
  alice_->send("<message to='bob@localhost/b' type='chat'><composing xmlns='" +
               std::string(kChatStates) + "'/><store xmlns='urn:xmpp:hints'/></message>");
  EXPECT_TRUE(bob_->nothing(from_alice(), 500ms));
  bob2->drain(100ms);
  bob_->disconnect();
  ASSERT_TRUE(bob2->expect([](const xml::Element& el) {
    return el.name() == "message" && el.child("composing", kChatStates);
  }));
  bob2->drain(300ms);
  // Going back to the router on close must not run the archive hook again.
  auto store = server_.open_storage();
  EXPECT_EQ(store->archive().count({"localhost", "bob"}), 1u);
  EXPECT_EQ(store->archive().count({"localhost", "alice"}), 1u);
}

TEST_F(Csi, ActiveWithoutInactiveAndUnknownCsiElements) {
  bob_->send("<active xmlns='urn:xmpp:csi:0'/>");
  alice_->send(chat_state("bob@localhost/b", "composing"));
  EXPECT_TRUE(bob_->expect(from_alice()));
  bob_->send("<sleepy xmlns='urn:xmpp:csi:0'/>");
  EXPECT_TRUE(bob_->wait_disconnected());
  EXPECT_EQ(bob_->error(), "unsupported-stanza-type");
}

TEST_F(Csi, CarbonCopiesAreJudgedByWhatTheyCarry) {
  auto phone = login("bob", "builder", "phone");
  auto r = bob_->iq("<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
  ASSERT_TRUE(r && r->attr_or("type") == "result");
  inactive(*bob_);
  // Copies of alice's chat states to bob's phone wait; a copy of a message
  // with a body goes out at once, after them.
  alice_->send(chat_state("bob@localhost/phone", "composing"));
  EXPECT_TRUE(phone->expect(from_alice()));
  EXPECT_TRUE(bob_->nothing([](const xml::Element&) { return true; }, 500ms));
  alice_->send("<message to='bob@localhost/phone' type='chat'><body>ring</body></message>");
  auto got = bob_->drain(600ms);
  ASSERT_EQ(got.size(), 2u);
  for (const auto& copy : got) EXPECT_EQ(copy.attr_or("from"), "bob@localhost");
  const auto inner = [](const xml::Element& copy) -> const xml::Element* {
    const xml::Element* r = copy.child("received", "urn:xmpp:carbons:2");
    const xml::Element* f = r ? r->child("forwarded", "urn:xmpp:forward:0") : nullptr;
    return f ? f->child("message", "jabber:client") : nullptr;
  };
  ASSERT_TRUE(inner(got[0]) && inner(got[1])) << to_xml(got[0]) << to_xml(got[1]);
  EXPECT_NE(inner(got[0])->child("composing", kChatStates), nullptr);
  EXPECT_EQ(inner(got[1])->child_text("body"), "ring");
}

class CsiSmallQueue : public Csi {
 protected:
  CsiSmallQueue() : Csi(small()) {}
  static TestServerOptions small() {
    TestServerOptions o;
    o.extra_config = "[modules.csi]\nqueue_size = 3\n";
    return o;
  }
};

TEST_F(CsiSmallQueue, AFullQueueIsFlushed) {
  inactive(*bob_);
  alice_->send(chat_state("bob@localhost/b", "composing"));
  alice_->send(chat_state("bob@localhost/b", "paused"));
  EXPECT_TRUE(bob_->nothing(from_alice(), 500ms));
  alice_->send(chat_state("bob@localhost/b", "composing"));
  EXPECT_EQ(describe(bob_->drain(600ms)),
            (std::vector<std::string>{"state:composing", "state:paused", "state:composing"}));
}

// From a raw socket: the feature after authentication, and a CSI element
// before resource binding is not accepted (StreamNonza fires once bound).
TEST(CsiStream, FeatureAfterAuthAndNoNonzaBeforeBind) {
  TestServer server;
  server.create_user("alice", "wonderland");
  server.start();
  RawClient c(server.c2s_port());
  ASSERT_TRUE(c.ok());
  c.send(RawClient::stream_open());
  ASSERT_TRUE(c.read_until("</stream:features>"));
  c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  ASSERT_TRUE(c.read_until("<proceed"));
  ASSERT_TRUE(c.start_tls());
  c.clear();
  c.send(RawClient::stream_open());
  ASSERT_TRUE(c.read_until("</stream:features>"));
  EXPECT_EQ(c.received().find("urn:xmpp:csi:0"), std::string::npos) << "not before auth";
  c.send(
      "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
      "mechanism='PLAIN'>AGFsaWNlAHdvbmRlcmxhbmQ=</auth>");
  ASSERT_TRUE(c.read_until("<success"));
  c.clear();
  c.send(RawClient::stream_open());
  ASSERT_TRUE(c.read_until("</stream:features>"));
  EXPECT_NE(c.received().find("<csi xmlns='urn:xmpp:csi:0'/>"), std::string::npos) << c.received();
  c.send("<inactive xmlns='urn:xmpp:csi:0'/>");
  EXPECT_TRUE(c.read_until("<unsupported-stanza-type")) << c.received();
  EXPECT_TRUE(c.read_until_closed());
}

}  // namespace
}  // namespace parley::test

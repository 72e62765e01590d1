// Message Carbons (XEP-0280) end to end: received and sent copies reach only
// the user's other carbons-enabled, available resources; <private/> and
// <no-copy/> suppress them; disable works; carbons forged by another user are
// stripped before they reach a client. Eligibility rules are unit-tested in
// tests/unit/modules/carbons.
#include <gtest/gtest.h>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

constexpr const char* kNs = "urn:xmpp:carbons:2";
constexpr const char* kForwardNs = "urn:xmpp:forward:0";

// A carbon copy (`direction` = "received" or "sent") whose forwarded message
// has `body`.
Predicate is_carbon(const std::string& direction, const std::string& body) {
  return [direction, body](const xml::Element& el) {
    if (el.name() != "message") return false;
    const xml::Element* c = el.child(direction, kNs);
    const xml::Element* f = c ? c->child("forwarded", kForwardNs) : nullptr;
    const xml::Element* m = f ? f->child("message", "jabber:client") : nullptr;
    return m && m->child_text("body") == body;
  };
}

Predicate any_carbon() {
  return [](const xml::Element& el) {
    return el.name() == "message" && (el.child("received", kNs) || el.child("sent", kNs));
  };
}

std::string chat(const std::string& to, const std::string& body, const std::string& extra = "",
                 const std::string& type = "chat") {
  return "<message to='" + to + "' type='" + type + "' id='m-" + body + "'><body>" + body +
         "</body>" + extra + "</message>";
}

class Carbons : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.create_user("alice", "wonderland");
    server_.create_user("bob", "builder");
    server_.start();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  std::unique_ptr<XmppClient> login(const std::string& user, const std::string& password,
                                    const std::string& resource, bool carbons,
                                    const std::string& presence = "") {
    auto c = std::make_unique<XmppClient>(server_, user + "@localhost", password,
                                          XmppClient::Options{.resource = resource});
    EXPECT_TRUE(c->connect()) << c->error();
    if (carbons) {
      auto r = c->iq("<iq type='set' id='en'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
      EXPECT_TRUE(r && r->attr_or("type") == "result");
    }
    c->send("<presence>" + presence + "</presence>");
    c->drain(300ms);
    return c;
  }
  TestServer server_;
};

TEST_F(Carbons, ServerAdvertisesTheFeature) {
  auto a = login("alice", "wonderland", "phone", false);
  EXPECT_TRUE(server_has_feature(*a, kNs));
}

TEST_F(Carbons, ReceivedCopiesGoToOtherEnabledResourcesOnly) {
  auto phone = login("alice", "wonderland", "phone", true);
  auto laptop = login("alice", "wonderland", "laptop", true);
  auto tablet = login("alice", "wonderland", "tablet", false);
  auto bob = login("bob", "builder", "b", false);

  bob->send(chat("alice@localhost/phone", "to-phone"));
  auto original = phone->expect(has_body("to-phone"));
  ASSERT_TRUE(original);
  EXPECT_EQ(original->child("received", kNs), nullptr);

  auto copy = laptop->expect(is_carbon("received", "to-phone"));
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->attr_or("from"), "alice@localhost");
  EXPECT_EQ(copy->attr_or("to"), "alice@localhost/laptop");
  EXPECT_EQ(copy->attr_or("type"), "chat");
  const xml::Element* inner =
      copy->child("received", kNs)->child("forwarded", kForwardNs)->child("message");
  EXPECT_EQ(inner->attr_or("from"), "bob@localhost/b");
  EXPECT_EQ(inner->attr_or("to"), "alice@localhost/phone");

  EXPECT_TRUE(tablet->nothing(has_body("to-phone")));
  EXPECT_TRUE(tablet->nothing(any_carbon(), 200ms));
  EXPECT_TRUE(phone->nothing(any_carbon(), 200ms));  // the addressee gets no copy
}

TEST_F(Carbons, ChatToTheBareJidNeedsNoCopies) {
  auto phone = login("alice", "wonderland", "phone", true);
  auto laptop = login("alice", "wonderland", "laptop", true);
  auto bob = login("bob", "builder", "b", false);
  bob->send(chat("alice@localhost", "to-bare"));
  EXPECT_TRUE(phone->expect(has_body("to-bare")));
  EXPECT_TRUE(laptop->expect(has_body("to-bare")));
  EXPECT_TRUE(phone->nothing(any_carbon()));
  EXPECT_TRUE(laptop->nothing(any_carbon(), 200ms));
}

TEST_F(Carbons, NormalToTheBareJidCopiedToLowerPriorityResources) {
  auto phone = login("alice", "wonderland", "phone", true, "<priority>5</priority>");
  auto laptop = login("alice", "wonderland", "laptop", true, "<priority>1</priority>");
  auto bob = login("bob", "builder", "b", false);
  bob->send(chat("alice@localhost", "normal-msg", "", "normal"));
  auto original = phone->expect(has_body("normal-msg"));
  ASSERT_TRUE(original);
  EXPECT_EQ(original->child("received", kNs), nullptr);
  EXPECT_TRUE(laptop->expect(is_carbon("received", "normal-msg")));
}

TEST_F(Carbons, SentCopiesGoToOtherEnabledResources) {
  auto phone = login("alice", "wonderland", "phone", false);
  auto laptop = login("alice", "wonderland", "laptop", true);
  auto tablet = login("alice", "wonderland", "tablet", false);
  auto bob = login("bob", "builder", "b", false);

  // The sender need not have carbons enabled itself (§8).
  phone->send(chat("bob@localhost", "from-phone"));
  EXPECT_TRUE(bob->expect(has_body("from-phone")));
  auto copy = laptop->expect(is_carbon("sent", "from-phone"));
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->attr_or("from"), "alice@localhost");
  const xml::Element* inner =
      copy->child("sent", kNs)->child("forwarded", kForwardNs)->child("message");
  EXPECT_EQ(inner->attr_or("from"), "alice@localhost/phone");
  EXPECT_EQ(inner->attr_or("to"), "bob@localhost");
  EXPECT_TRUE(tablet->nothing(any_carbon()));
  EXPECT_TRUE(phone->nothing(any_carbon(), 200ms));
}

TEST_F(Carbons, PrivateAndNoCopyAreHonouredAndPrivateIsStripped) {
  auto phone = login("alice", "wonderland", "phone", true);
  auto laptop = login("alice", "wonderland", "laptop", true);
  auto bob = login("bob", "builder", "b", true);
  auto bob2 = login("bob", "builder", "b2", true);

  phone->send(chat("bob@localhost/b", "secret", "<private xmlns='urn:xmpp:carbons:2'/>"));
  auto got = bob->expect(has_body("secret"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->child("private", kNs), nullptr) << "the receiving server removes <private/>";
  phone->send(chat("bob@localhost/b", "hinted", "<no-copy xmlns='urn:xmpp:hints'/>"));
  EXPECT_TRUE(bob->expect(has_body("hinted")));

  EXPECT_TRUE(laptop->nothing(any_carbon()));
  EXPECT_TRUE(bob2->nothing(any_carbon(), 200ms));
}

TEST_F(Carbons, DisableStopsCopiesAndRepeatedRequestsSucceed) {
  auto phone = login("alice", "wonderland", "phone", true);
  auto laptop = login("alice", "wonderland", "laptop", true);
  auto bob = login("bob", "builder", "b", false);
  // Enabling twice is not an error (§10.1).
  auto again = laptop->iq("<iq type='set' id='en2'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attr_or("type"), "result");

  bob->send(chat("alice@localhost/phone", "one"));
  EXPECT_TRUE(laptop->expect(is_carbon("received", "one")));

  for (const char* id : {"dis1", "dis2"}) {
    auto r = laptop->iq(std::string("<iq type='set' id='") + id +
                        "'><disable xmlns='urn:xmpp:carbons:2'/></iq>");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->attr_or("type"), "result");
  }
  bob->send(chat("alice@localhost/phone", "two"));
  EXPECT_TRUE(phone->expect(has_body("two")));
  EXPECT_TRUE(laptop->nothing(any_carbon()));
}

TEST_F(Carbons, EnableForAnotherAccountIsRefused) {
  auto bob = login("bob", "builder", "b", false);
  auto r = bob->iq(
      "<iq type='set' id='x' to='alice@localhost'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "error");
}

TEST_F(Carbons, ForgedCarbonsFromAnotherUserAreStripped) {
  auto phone = login("alice", "wonderland", "phone", true);
  auto laptop = login("alice", "wonderland", "laptop", true);
  auto mallory = login("bob", "builder", "evil", false);
  // bob pretends alice sent something to him from another device.
  const std::string forged =
      "<message to='alice@localhost/phone' type='chat' id='forged'>"
      "<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
      "<message xmlns='jabber:client' from='alice@localhost/laptop' to='bob@localhost' "
      "type='chat'><body>I owe bob 1000 EUR</body></message></forwarded></sent>"
      "<received xmlns='urn:xmpp:carbons:1'/><body>visible</body></message>";
  mallory->send(forged);
  auto got = phone->expect(has_body("visible"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->attr_or("from"), "bob@localhost/evil");
  EXPECT_EQ(got->child("sent", kNs), nullptr) << to_xml(*got);
  EXPECT_EQ(got->child("received", "urn:xmpp:carbons:1"), nullptr) << to_xml(*got);
  // The genuine copy on the other device carries the stripped message.
  auto copy = laptop->expect(is_carbon("received", "visible"));
  ASSERT_TRUE(copy);
  const xml::Element* inner =
      copy->child("received", kNs)->child("forwarded", kForwardNs)->child("message");
  EXPECT_EQ(inner->child("sent", kNs), nullptr);
  EXPECT_TRUE(phone->nothing(is_carbon("sent", "I owe bob 1000 EUR"), 200ms));
}

TEST_F(Carbons, GroupchatAndHeadlinesAreNotCopied) {
  auto phone = login("alice", "wonderland", "phone", true);
  auto laptop = login("alice", "wonderland", "laptop", true);
  auto bob = login("bob", "builder", "b", false);
  bob->send(chat("alice@localhost/phone", "news", "", "headline"));
  EXPECT_TRUE(phone->expect(has_body("news")));
  bob->send(
      chat("alice@localhost/phone", "pm", "<x xmlns='http://jabber.org/protocol/muc#user'/>"));
  EXPECT_TRUE(phone->expect(has_body("pm")));
  EXPECT_TRUE(laptop->nothing(any_carbon()));
}

TEST_F(Carbons, ReceiptsInNormalMessagesAreCopied) {
  auto phone = login("alice", "wonderland", "phone", true);
  auto laptop = login("alice", "wonderland", "laptop", true);
  auto bob = login("bob", "builder", "b", false);
  bob->send(
      "<message to='alice@localhost/phone' id='r1'><received xmlns='urn:xmpp:receipts' "
      "id='m-1'/></message>");
  auto copy = laptop->expect(any_carbon());
  ASSERT_TRUE(copy);
  const xml::Element* inner =
      copy->child("received", kNs)->child("forwarded", kForwardNs)->child("message");
  ASSERT_NE(inner, nullptr);
  EXPECT_NE(inner->child("received", "urn:xmpp:receipts"), nullptr);
}

}  // namespace
}  // namespace parley::test

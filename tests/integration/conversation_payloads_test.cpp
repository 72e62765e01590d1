// Conversation payloads other than a body — receipts (XEP-0184), chat markers
// (XEP-0333), retractions (XEP-0424), corrections (XEP-0308) and reactions
// (XEP-0444) — travel exactly like messages: routed, carbon-copied, stored
// offline and archived, with one stanza-id per copy that matches the archive.
// And the no-permanent-store hint (XEP-0334), which clients use for
// disappearing messages (XEP-0466), delivers without ever archiving.
#include <gtest/gtest.h>

#include <thread>

#include "storage/store.hpp"
#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

constexpr const char* kCarbons = "urn:xmpp:carbons:2";
constexpr const char* kForward = "urn:xmpp:forward:0";
constexpr const char* kSid = "urn:xmpp:sid:0";
constexpr const char* kMam = "urn:xmpp:mam:2";

struct Payload {
  std::string id;
  std::string xml;  // the children of the <message/>
  std::string ns;   // the namespace that identifies it on arrival
};

const std::vector<Payload>& payloads() {
  static const std::vector<Payload> all = {
      {"p-receipt", "<received xmlns='urn:xmpp:receipts' id='m1'/>", "urn:xmpp:receipts"},
      {"p-marker", "<displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/>",
       "urn:xmpp:chat-markers:0"},
      {"p-retract", "<retract xmlns='urn:xmpp:message-retract:1' id='m1'/>",
       "urn:xmpp:message-retract:1"},
      {"p-correct", "<body>fixed</body><replace xmlns='urn:xmpp:message-correct:0' id='m1'/>",
       "urn:xmpp:message-correct:0"},
      {"p-react",
       "<reactions xmlns='urn:xmpp:reactions:0' id='m1'><reaction>\xF0\x9F\x91\x8D</reaction>"
       "</reactions>",
       "urn:xmpp:reactions:0"},
  };
  return all;
}

std::string message(const std::string& to, const Payload& p, const std::string& extra = "") {
  return "<message to='" + to + "' type='chat' id='" + p.id + "'>" + p.xml + extra + "</message>";
}

// The message inside a carbon of `direction`, or nullptr.
const xml::Element* carried(const xml::Element& el, const char* direction) {
  const xml::Element* c = el.child(direction, kCarbons);
  const xml::Element* f = c ? c->child("forwarded", kForward) : nullptr;
  return f ? f->child("message", "jabber:client") : nullptr;
}

std::string stanza_id_by(const xml::Element& message, const std::string& by) {
  for (const xml::Element* sid : message.children("stanza-id", kSid))
    if (sid->attr_or("by") == by) return sid->attr_or("id");
  return {};
}

class ConversationPayloads : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.create_user("alice", "pw");
    server_.create_user("bob", "pw");
    server_.start();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  std::unique_ptr<XmppClient> login(const std::string& user, const std::string& resource) {
    auto c = std::make_unique<XmppClient>(server_, user + "@localhost", "pw",
                                          XmppClient::Options{.resource = resource});
    EXPECT_TRUE(c->connect()) << c->error();
    auto r = c->iq("<iq type='set' id='en'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
    EXPECT_TRUE(r && r->attr_or("type") == "result");
    return c;
  }
  // The archive ids of `user`'s whole archive, oldest first.
  std::vector<std::string> archive_ids(XmppClient& c) {
    const std::string id = c.next_id();
    auto fin = c.iq("<iq type='set' id='" + id + "'><query xmlns='urn:xmpp:mam:2' queryid='" + id +
                    "'/></iq>");
    EXPECT_TRUE(fin && fin->attr_or("type") == "result");
    std::vector<std::string> ids;
    while (auto m = c.expect(
               [&](const xml::Element& el) {
                 const xml::Element* r = el.child("result", kMam);
                 return r && r->attr_or("queryid") == id;
               },
               std::chrono::milliseconds(0)))
      ids.push_back(m->child("result", kMam)->attr_or("id"));
    return ids;
  }
  TestServer server_;
};

TEST_F(ConversationPayloads, TravelLikeMessagesThroughOfflineStorageCarbonsAndTheArchive) {
  auto a1 = login("alice", "a1");
  auto a2 = login("alice", "a2");
  a1->available();
  a2->available();
  a2->drain(200ms);
  for (const auto& p : payloads()) a1->send(message("bob@localhost", p));

  // Alice's other device sees each one as a sent carbon, in order.
  for (const auto& p : payloads()) {
    auto got = a2->expect([&](const xml::Element& el) {
      const xml::Element* m = carried(el, "sent");
      return m && m->attr_or("id") == p.id;
    });
    ASSERT_TRUE(got) << p.id;
    EXPECT_EQ(got->attr_or("from"), "alice@localhost");
  }

  // Bob was offline: he gets every one on login, in order, delayed, with the
  // stanza-id of his archive.
  auto b1 = login("bob", "b1");
  b1->available();
  std::vector<std::string> delivered_ids;
  for (const auto& p : payloads()) {
    auto got = b1->expect(
        [&](const xml::Element& el) { return el.name() == "message" && el.attr_or("id") == p.id; });
    ASSERT_TRUE(got) << p.id;
    EXPECT_EQ(got->attr_or("from"), "alice@localhost/a1");
    EXPECT_NE(got->child("delay", "urn:xmpp:delay"), nullptr) << p.id;
    bool has_payload = false;
    for (const xml::Element* c : got->element_children()) has_payload |= c->xmlns() == p.ns;
    EXPECT_TRUE(has_payload) << p.id;
    delivered_ids.push_back(stanza_id_by(*got, "bob@localhost"));
    EXPECT_FALSE(delivered_ids.back().empty()) << p.id;
  }
  EXPECT_EQ(archive_ids(*b1), delivered_ids);
  EXPECT_EQ(archive_ids(*a1).size(), payloads().size());

  // Now both of Bob's devices are online: the one addressed gets the payload,
  // the other a received carbon carrying the same archive id.
  auto b2 = login("bob", "b2");
  b2->available();
  b1->drain(300ms);
  b2->drain(300ms);
  for (const auto& p : payloads()) a1->send(message("bob@localhost/b1", p));
  for (const auto& p : payloads()) {
    auto direct = b1->expect(
        [&](const xml::Element& el) { return el.name() == "message" && el.attr_or("id") == p.id; });
    ASSERT_TRUE(direct) << p.id;
    auto copy = b2->expect([&](const xml::Element& el) {
      const xml::Element* m = carried(el, "received");
      return m && m->attr_or("id") == p.id;
    });
    ASSERT_TRUE(copy) << p.id;
    const std::string sid = stanza_id_by(*direct, "bob@localhost");
    EXPECT_FALSE(sid.empty()) << p.id;
    EXPECT_EQ(stanza_id_by(*carried(*copy, "received"), "bob@localhost"), sid) << p.id;
  }
  EXPECT_EQ(archive_ids(*b2).size(), 2 * payloads().size());
}

TEST_F(ConversationPayloads, DisappearingMessagesAreDeliveredButNeverArchived) {
  const std::string hint = "<no-permanent-store xmlns='urn:xmpp:hints'/>";
  const Payload secret{"secret", "<body>self-destructs</body>", "jabber:client"};
  const Payload online{"online", "<body>also gone</body>", "jabber:client"};
  auto a1 = login("alice", "a1");
  a1->available();
  a1->send(message("bob@localhost", secret, hint));  // Bob is offline
  EXPECT_TRUE(a1->nothing([](const xml::Element& el) { return el.attr_or("type") == "error"; }));

  auto b1 = login("bob", "b1");
  b1->available();
  auto got = b1->expect([](const xml::Element& el) { return el.attr_or("id") == "secret"; });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->child_text("body"), "self-destructs");
  EXPECT_EQ(stanza_id_by(*got, "bob@localhost"), "");  // not archived, so no archive id
  a1->send(message("bob@localhost", online, hint));
  ASSERT_TRUE(b1->expect([](const xml::Element& el) { return el.attr_or("id") == "online"; }));

  EXPECT_TRUE(archive_ids(*b1).empty());
  EXPECT_TRUE(archive_ids(*a1).empty());
  auto store = server_.open_storage();
  EXPECT_EQ(store->archive().count({"localhost", "bob"}), 0u);
  EXPECT_EQ(store->offline().count({"localhost", "bob"}), 0u);  // gone once delivered
}

}  // namespace
}  // namespace parley::test

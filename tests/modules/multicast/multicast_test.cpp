// Broadcast lists (XEP-0033 multicast on the server's domain) end to end with
// real clients: each to/cc/bcc recipient gets its own copy with the sender's
// 'from', bcc stays hidden, an offline recipient gets it at login, refusals
// reach nobody, and a bad recipient bounces only its own copy. The address
// rules are unit-tested in tests/unit/modules/multicast.
#include <gtest/gtest.h>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

constexpr const char* kNs = "http://jabber.org/protocol/address";

std::string broadcast(const std::string& addresses, const std::string& body,
                      const std::string& id = "b1") {
  return "<message to='localhost' type='chat' id='" + id + "'><addresses xmlns='" +
         std::string(kNs) + "'>" + addresses + "</addresses><body>" + body + "</body></message>";
}

// The "type:jid" of every address a received copy shows.
std::vector<std::string> shown_addresses(const xml::Element& message) {
  std::vector<std::string> out;
  if (const xml::Element* header = message.child("addresses", kNs))
    for (const xml::Element* a : header->children("address", kNs)) {
      EXPECT_EQ(a->attr_or("delivered"), "true") << to_xml(message);
      out.push_back(a->attr_or("type") + ":" + a->attr_or("jid"));
    }
  return out;
}

Predicate is_error_id(const std::string& id) {
  return [id](const xml::Element& el) {
    return el.attr_or("type") == "error" && el.attr_or("id") == id;
  };
}

class Multicast : public ::testing::Test {
 protected:
  explicit Multicast(std::string extra_config = "") : server_(options(std::move(extra_config))) {}
  static TestServerOptions options(std::string extra_config) {
    TestServerOptions o;
    o.extra_config = std::move(extra_config);
    return o;
  }
  void SetUp() override {
    for (const char* user : {"alice", "bob", "carol", "dave"}) server_.create_user(user, "secret");
    server_.start();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
    EXPECT_EQ(server_.stop(), 0);
  }
  // `settle`: wait for (and discard) what login brings, such as presence.
  std::unique_ptr<XmppClient> login(const std::string& user, bool settle = true) {
    auto c = std::make_unique<XmppClient>(server_, user + "@localhost", "secret",
                                          XmppClient::Options{.resource = "r"});
    EXPECT_TRUE(c->connect()) << c->error();
    c->send("<presence/>");
    if (settle) c->drain(300ms);
    return c;
  }
  TestServer server_;
};

TEST_F(Multicast, TheServerAdvertisesTheService) {
  auto alice = login("alice");
  EXPECT_TRUE(server_has_feature(*alice, kNs));
}

TEST_F(Multicast, EachRecipientGetsItsOwnCopyAndBccStaysHidden) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  auto dave = login("dave");
  alice->send(
      broadcast("<address type='to' jid='bob@localhost'/>"
                "<address type='cc' jid='carol@localhost'/>"
                "<address type='bcc' jid='dave@localhost'/>",
                "to all"));
  const std::vector<std::string> open = {"to:bob@localhost", "cc:carol@localhost"};
  for (auto [client, jid] : {std::pair<XmppClient*, std::string>{bob.get(), "bob@localhost"},
                             std::pair<XmppClient*, std::string>{carol.get(), "carol@localhost"}}) {
    auto m = client->expect(has_body("to all"));
    ASSERT_TRUE(m) << jid;
    EXPECT_EQ(m->attr_or("from"), "alice@localhost/r");
    EXPECT_EQ(m->attr_or("to"), jid);  // sent to the bare JID
    EXPECT_EQ(m->attr_or("type"), "chat");
    EXPECT_EQ(shown_addresses(*m), open);
  }
  auto d = dave->expect(has_body("to all"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->attr_or("from"), "alice@localhost/r");
  std::vector<std::string> with_own = open;
  with_own.push_back("bcc:dave@localhost");
  EXPECT_EQ(shown_addresses(*d), with_own);
  // Exactly one copy each, and nothing back to the sender.
  EXPECT_TRUE(bob->nothing(has_body("to all"), 300ms));
  EXPECT_TRUE(dave->nothing(has_body("to all"), 100ms));
  EXPECT_TRUE(alice->nothing(is_error_id("b1"), 100ms));
}

TEST_F(Multicast, AnOfflineRecipientGetsItsCopyAtLogin) {
  auto alice = login("alice");
  auto bob = login("bob");
  alice->send(
      broadcast("<address type='to' jid='bob@localhost'/>"
                "<address type='to' jid='carol@localhost'/>",
                "while away"));
  EXPECT_TRUE(bob->expect(has_body("while away")));
  // Carol was offline: the copy waited in offline storage.
  auto carol = login("carol", /*settle=*/false);
  auto m = carol->expect(has_body("while away"));
  ASSERT_TRUE(m) << "offline copy not delivered";
  EXPECT_EQ(m->attr_or("from"), "alice@localhost/r");
}

TEST_F(Multicast, AMissingAccountBouncesOnlyItsOwnCopy) {
  auto alice = login("alice");
  auto bob = login("bob");
  alice->send(
      broadcast("<address type='to' jid='nobody@localhost'/>"
                "<address type='to' jid='bob@localhost'/>",
                "partly", "b2"));
  EXPECT_TRUE(bob->expect(has_body("partly")));
  auto err = alice->expect(is_error_id("b2"));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->attr_or("from"), "nobody@localhost");
  EXPECT_EQ(error_condition(*err), "service-unavailable");
}

TEST_F(Multicast, RemoteRecipientsGetIndividualCopies) {
  // No s2s yet: the remote copy is routed like any remote message and bounces
  // remote-server-not-found, while the local one is delivered.
  auto alice = login("alice");
  auto bob = login("bob");
  alice->send(
      broadcast("<address type='to' jid='bob@localhost'/>"
                "<address type='cc' jid='eve@remote.example'/>",
                "far and near", "b3"));
  EXPECT_TRUE(bob->expect(has_body("far and near")));
  auto err = alice->expect(is_error_id("b3"));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->attr_or("from"), "eve@remote.example");
  EXPECT_EQ(error_condition(*err), "remote-server-not-found");
}

TEST_F(Multicast, MalformedHeadersReachNobody) {
  auto alice = login("alice");
  auto bob = login("bob");
  struct Case {
    std::string addresses, condition;
  } cases[] = {
      {"<address type='to' jid='bob@localhost'/><address type='to' jid='a@b@c'/>", "jid-malformed"},
      {"<address type='to' jid='bob@localhost'/><address type='to' uri='sip:x@example.org'/>",
       "jid-malformed"},
      {"<address type='to' jid='bob@localhost'/><address type='spam' jid='carol@localhost'/>",
       "bad-request"},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string id = "bad" + std::to_string(n++);
    alice->send(broadcast(c.addresses, "refused", id));
    auto err = alice->expect(is_error_id(id));
    ASSERT_TRUE(err) << c.addresses;
    EXPECT_EQ(err->attr_or("from"), "localhost");
    EXPECT_EQ(error_condition(*err), c.condition) << c.addresses;
  }
  EXPECT_TRUE(bob->nothing(has_body("refused")));
}

TEST_F(Multicast, PresenceCanBeMulticast) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  alice->send(std::string("<presence to='localhost'><status>around</status><addresses xmlns='") +
              kNs +
              "'><address type='bcc' jid='bob@localhost'/>"
              "<address type='bcc' jid='carol@localhost'/></addresses></presence>");
  for (XmppClient* c : {bob.get(), carol.get()}) {
    auto p = c->expect([](const xml::Element& el) {
      return el.name() == "presence" && el.child_text("status") == "around";
    });
    ASSERT_TRUE(p);
    EXPECT_EQ(p->attr_or("from"), "alice@localhost/r");
    // Each saw only its own bcc address.
    EXPECT_EQ(shown_addresses(*p).size(), 1u) << to_xml(*p);
  }
  alice->send(std::string("<presence to='localhost' type='subscribe' id='s1'><addresses xmlns='") +
              kNs + "'><address type='to' jid='bob@localhost'/></addresses></presence>");
  EXPECT_TRUE(bob->nothing([](const xml::Element& el) { return el.attr_or("type") == "subscribe"; },
                           500ms));
}

TEST_F(Multicast, AddressesOnAnIqAreNotMulticast) {
  auto alice = login("alice");
  auto r = alice->iq(std::string("<iq type='set' id='q1' to='localhost'><addresses xmlns='") + kNs +
                     "'><address type='to' jid='bob@localhost'/></addresses></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*r), "service-unavailable");
}

class MulticastLimited : public Multicast {
 protected:
  MulticastLimited()
      : Multicast("[modules.multicast]\nmax_recipients = 2\nallow_remote = false\n") {}
};

TEST_F(MulticastLimited, TooManyRecipientsAreRefusedAndNobodyGetsIt) {
  auto alice = login("alice");
  auto bob = login("bob");
  alice->send(
      broadcast("<address type='to' jid='bob@localhost'/>"
                "<address type='to' jid='carol@localhost'/>"
                "<address type='bcc' jid='dave@localhost'/>",
                "too many", "l1"));
  auto err = alice->expect(is_error_id("l1"));
  ASSERT_TRUE(err);
  EXPECT_EQ(error_condition(*err), "not-acceptable");
  EXPECT_TRUE(bob->nothing(has_body("too many")));
  // Within the limit it goes through.
  alice->send(
      broadcast("<address type='to' jid='bob@localhost'/>"
                "<address type='cc' jid='bob@localhost'/>"
                "<address type='to' jid='carol@localhost'/>",
                "just enough", "l2"));
  EXPECT_TRUE(bob->expect(has_body("just enough")));
  EXPECT_TRUE(bob->nothing(has_body("just enough"), 300ms));
}

TEST_F(MulticastLimited, RemoteRecipientsAreForbiddenWhenNotAllowed) {
  auto alice = login("alice");
  auto bob = login("bob");
  alice->send(
      broadcast("<address type='to' jid='bob@localhost'/>"
                "<address type='to' jid='eve@remote.example'/>",
                "no relay", "l3"));
  auto err = alice->expect(is_error_id("l3"));
  ASSERT_TRUE(err);
  EXPECT_EQ(error_condition(*err), "forbidden");
  EXPECT_TRUE(bob->nothing(has_body("no relay")));
}

}  // namespace
}  // namespace parley::test

// Hostile cases 31–40: stanzas from an authenticated client — addressing,
// IQ hygiene, look-alike accounts and the resource cap (reliability note §5
// items 25–29).
#include <initializer_list>
#include <string>

#include "hostile/hostile_support.hpp"
#include "storage/store.hpp"

namespace parley::test::hostile {
namespace {

using namespace std::chrono_literals;

using HostileStanza = Hostile;

// 31 (note 25): a forged 'from' is replaced by the sender's full JID.
TEST_F(HostileStanza, Case31_SpoofedFromIsOverwritten) {
  XmppClient bob(server_, "bob@localhost", "secret", {.resource = "b"});
  ASSERT_TRUE(bob.connect());
  bob.available();
  auto c = raw_alice("phone");
  ASSERT_TRUE(c);
  c->send(
      "<message from='admin@localhost/console' to='bob@localhost/b' id='spoof' "
      "type='chat'><body>trust me</body></message>");
  auto got = bob.expect([](const xml::Element& el) { return el.attr_or("id") == "spoof"; });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->attr_or("from"), "alice@localhost/phone");
}

// Once a ping sent after them is answered, the server has processed the
// stanzas with these ids: none of them may have got anything back.
void expect_unanswered(RawClient& c, std::initializer_list<const char*> ids) {
  c.send("<iq type='get' id='marker' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(reply_with_id(c, "marker"));
  for (const char* id : ids)
    EXPECT_EQ(c.received().find(std::string("id='") + id + "'"), std::string::npos)
        << id << " was answered: " << c.received();
}

// 32 (note 26): every malformed address gets jid-malformed, from the server.
TEST_F(HostileStanza, Case32_MalformedToIsJidMalformed) {
  auto c = raw_alice();
  ASSERT_TRUE(c);
  std::vector<std::string> bad{"@localhost", "user@", "a@b@localhost", "user@localhost/",
                               "user@local host"};
  std::string overlong;  // one byte over the 1023-byte localpart limit
  for (int i = 0; i < 1024; ++i) overlong.push_back('x');
  overlong += "@localhost";
  bad.push_back(overlong);
  for (size_t i = 0; i < bad.size(); ++i) {
    const std::string id = "bad" + std::to_string(i);
    std::string stanza = "<message to='";
    stanza.append(bad[i]).append("' id='").append(id).append(
        "' type='chat'><body>x</body></message>");
    c->send(stanza);
    auto reply = reply_with_id(*c, id);
    ASSERT_TRUE(reply) << bad[i];
    EXPECT_EQ(reply->attr_or("type"), "error") << bad[i];
    EXPECT_EQ(error_condition(*reply), "jid-malformed") << bad[i];
  }
}

// A presence to a malformed address is answered like a message, so that a
// subscription request or directed presence does not vanish silently; an
// error presence or an iq result to one is not answered at all.
TEST_F(HostileStanza, Case32_MalformedPresenceToIsJidMalformedButErrorsAreNotAnswered) {
  auto c = raw_alice();
  ASSERT_TRUE(c);
  c->send("<presence to='a@b@localhost' id='p1' type='subscribe'/>");
  auto reply = reply_with_id(*c, "p1");
  ASSERT_TRUE(reply) << c->received();
  EXPECT_EQ(reply->name(), "presence");
  EXPECT_EQ(reply->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*reply), "jid-malformed");
  c->send("<presence to='user@local host' id='p2'/>");
  reply = reply_with_id(*c, "p2");
  ASSERT_TRUE(reply) << c->received();
  EXPECT_EQ(error_condition(*reply), "jid-malformed");

  c->send(
      "<presence to='@localhost' id='p3' type='error'><error type='cancel'>"
      "<gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>");
  c->send("<iq to='user@' id='p4' type='result'/>");
  expect_unanswered(*c, {"p3", "p4"});
}

// 33 (note 26): errors and results are never answered, so two servers (or a
// client and a server) cannot loop on each other.
TEST_F(HostileStanza, Case33_ErrorsAndResultsGetNoErrorBack) {
  auto c = raw_alice();
  ASSERT_TRUE(c);
  c->send("<message to='@localhost' id='e1' type='error'><body>x</body></message>");
  c->send(
      "<iq to='localhost' id='e2' type='error'><error type='cancel'>"
      "<bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
  c->send("<iq to='localhost' id='e3' type='result'/>");
  c->send("<iq to='nobody@localhost' id='e4' type='result'/>");
  expect_unanswered(*c, {"e1", "e2", "e3", "e4"});
}

// 34–36 (note 29): IQ hygiene.
TEST_F(HostileStanza, Case34_IqWithoutIdIsBadRequest) {
  auto c = raw_alice();
  ASSERT_TRUE(c);
  c->send("<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(c->read_until("<bad-request")) << c->received();
  EXPECT_NE(c->received().find("type='error'"), std::string::npos);
}

TEST_F(HostileStanza, Case35_IqWithUnknownTypeIsBadRequest) {
  auto c = raw_alice();
  ASSERT_TRUE(c);
  c->send("<iq type='fetch' id='t1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  auto reply = reply_with_id(*c, "t1");
  ASSERT_TRUE(reply) << c->received();
  EXPECT_EQ(reply->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*reply), "bad-request");
}

TEST_F(HostileStanza, Case36_IqGetWithoutPayloadIsBadRequest) {
  auto c = raw_alice();
  ASSERT_TRUE(c);
  c->send("<iq type='get' id='t2' to='localhost'/>");
  auto reply = reply_with_id(*c, "t2");
  ASSERT_TRUE(reply) << c->received();
  EXPECT_EQ(error_condition(*reply), "bad-request");
}

// 37 (note 29): an unknown namespace is service-unavailable, from one place.
TEST_F(HostileStanza, Case37_UnknownIqNamespaceIsServiceUnavailable) {
  auto c = raw_alice();
  ASSERT_TRUE(c);
  c->send("<iq type='get' id='t3' to='localhost'><query xmlns='urn:example:nothing'/></iq>");
  auto reply = reply_with_id(*c, "t3");
  ASSERT_TRUE(reply) << c->received();
  EXPECT_EQ(error_condition(*reply), "service-unavailable");
}

// 38 (note 27): look-alike account names map onto the existing account, or
// are refused; they never create a second "alice".
TEST_F(HostileStanza, Case38_LookAlikeRegistrationsAreRefused) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  ASSERT_TRUE(start_tls(c));
  const std::string lookalikes[] = {"Alice", "ALICE", "\xEF\xBD\x81lice" /* fullwidth a */};
  for (size_t i = 0; i < std::size(lookalikes); ++i) {
    const std::string id = "reg" + std::to_string(i);
    c.send("<iq type='set' id='" + id + "'><query xmlns='jabber:iq:register'><username>" +
           lookalikes[i] + "</username><password>x</password></query></iq>");
    auto reply = reply_with_id(c, id);
    ASSERT_TRUE(reply) << lookalikes[i] << ": " << c.received();
    EXPECT_EQ(reply->attr_or("type"), "error") << lookalikes[i];
    EXPECT_EQ(error_condition(*reply), "conflict") << lookalikes[i];
  }
  // A name PRECIS forbids (U+FB00 LATIN SMALL LIGATURE FF) is not an account.
  c.send(
      "<iq type='set' id='lig'><query xmlns='jabber:iq:register'><username>\xEF\xAC\x80oo"
      "</username><password>x</password></query></iq>");
  auto reply = reply_with_id(c, "lig");
  ASSERT_TRUE(reply) << c.received();
  EXPECT_EQ(reply->attr_or("type"), "error");
  auto store = server_.open_storage();
  EXPECT_EQ(store->accounts().list("localhost").size(), 3u);
}

// 39 (note 28): binding more resources than the cap allows.
class HostileResourceCap : public Hostile {
 protected:
  HostileResourceCap()
      : Hostile([] {
          TestServerOptions o;
          o.limits = "max_resources_per_account = 2\n";
          return o;
        }()) {}
};

TEST_F(HostileResourceCap, Case39_ResourcesBeyondTheCapAreRefused) {
  auto one = raw_alice("one");
  auto two = raw_alice("two");
  ASSERT_TRUE(one && two);
  RawClient three(server_.c2s_port());
  ASSERT_TRUE(raw_login(three, "alice", "secret"));
  three.clear();
  three.send(
      "<iq type='set' id='bind3'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
      "<resource>three</resource></bind></iq>");
  auto reply = reply_with_id(three, "bind3");
  ASSERT_TRUE(reply) << three.received();
  EXPECT_EQ(reply->attr_or("type"), "error");
  // RFC 6120 §7.6.2.1: the account reached its limit of connected resources.
  EXPECT_EQ(error_condition(*reply), "resource-constraint") << three.received();
  // The first two are untouched.
  one->send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_TRUE(reply_with_id(*one, "p1"));
}

// 40 (note 28): the same resource twice: the older session gets conflict.
TEST_F(HostileStanza, Case40_DuplicateResourceReplacesTheOlderSessionWithConflict) {
  auto first = raw_alice("same");
  ASSERT_TRUE(first);
  auto second = raw_alice("same");
  ASSERT_TRUE(second);
  EXPECT_TRUE(stream_error_then_close(*first, "conflict"));
  second->send("<iq type='get' id='p2' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_TRUE(reply_with_id(*second, "p2"));
}

// 48 (found by tests/fuzz): an attribute whose namespace name contains '}'
// once made the stanza impossible to serialize for its recipient.
TEST_F(HostileStanza, Case48_BraceInAnAttributeNamespaceIsDeliveredIntact) {
  XmppClient bob(server_, "bob@localhost", "secret", {.resource = "b"});
  ASSERT_TRUE(bob.connect());
  bob.available();
  auto c = raw_alice();
  ASSERT_TRUE(c);
  c->send(
      "<message to='bob@localhost/b' id='brace' type='chat' xmlns:x='}evil{' x:y='1'>"
      "<body>still here</body></message>");
  auto got = bob.expect([](const xml::Element& el) { return el.attr_or("id") == "brace"; });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->child_text("body"), "still here");
  EXPECT_TRUE(bob.connected());
}

}  // namespace
}  // namespace parley::test::hostile

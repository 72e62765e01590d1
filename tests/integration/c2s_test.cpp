// The c2s stream end to end: TLS, SASL, binding, routing and stream errors,
// against a real parleyd with real clients.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <thread>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

class C2S : public ::testing::Test {
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

TEST_F(C2S, LoginOverStartTlsBindsAResource) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "phone"});
  ASSERT_TRUE(alice.connect()) << alice.error();
  EXPECT_EQ(alice.bound_jid(), "alice@localhost/phone");
}

TEST_F(C2S, LoginOverDirectTls) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.direct_tls = true, .disable_tls = false, .resource = ""});
  ASSERT_TRUE(alice.connect()) << alice.error();
  // A server-generated resource when the client asks for none.
  EXPECT_TRUE(alice.bound_jid().starts_with("alice@localhost/"));
  EXPECT_GT(alice.bound_jid().size(), std::string("alice@localhost/").size());
}

TEST_F(C2S, WrongPasswordIsRefused) {
  XmppClient alice(server_, "alice@localhost", "not-the-password");
  EXPECT_FALSE(alice.connect());
}

TEST_F(C2S, UnknownUserIsRefused) {
  XmppClient mallory(server_, "mallory@localhost", "whatever");
  EXPECT_FALSE(mallory.connect());
}

TEST_F(C2S, SameResourceReplacesTheOlderSessionWithConflict) {
  XmppClient first(server_, "alice@localhost", "wonderland", {.resource = "desk"});
  ASSERT_TRUE(first.connect());
  XmppClient second(server_, "alice@localhost", "wonderland", {.resource = "desk"});
  ASSERT_TRUE(second.connect());
  EXPECT_TRUE(first.wait_disconnected());
  EXPECT_EQ(first.error(), "conflict");
  EXPECT_TRUE(second.connected());
}

TEST_F(C2S, MessageToFullJidIsDeliveredWithStampedFrom) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob.connect());
  bob.available();
  // A spoofed 'from' must be overwritten by the server.
  alice.send("<message to='bob@localhost/b' from='mallory@localhost/x' type='chat'><body>hi bob</body></message>");
  auto msg = bob.expect(has_body("hi bob"));
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->attr_or("from"), "alice@localhost/a");
  EXPECT_EQ(msg->attr_or("to"), "bob@localhost/b");
}

TEST_F(C2S, ChatToBareJidReachesEveryAvailableResource) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  XmppClient bob1(server_, "bob@localhost", "builder", {.resource = "one"});
  XmppClient bob2(server_, "bob@localhost", "builder", {.resource = "two"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob1.connect());
  ASSERT_TRUE(bob2.connect());
  bob1.available();
  bob2.available();
  alice.send("<message to='bob@localhost' type='chat'><body>to both</body></message>");
  EXPECT_TRUE(bob1.expect(has_body("to both")));
  EXPECT_TRUE(bob2.expect(has_body("to both")));
}

TEST_F(C2S, MessageToNonexistentUserGetsServiceUnavailable) {
  XmppClient alice(server_, "alice@localhost", "wonderland");
  ASSERT_TRUE(alice.connect());
  alice.send("<message to='nobody@localhost' id='m1' type='chat'><body>hello?</body></message>");
  auto err = alice.expect([](const xml::Element& e) {
    return e.name() == "message" && e.attr_or("type") == "error" && e.attr_or("id") == "m1";
  });
  ASSERT_TRUE(err);
  const xml::Element* error = err->child("error");
  ASSERT_TRUE(error);
  EXPECT_TRUE(error->child("service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas"));
}

TEST_F(C2S, MessageToAnotherDomainGetsRemoteServerNotFound) {
  XmppClient alice(server_, "alice@localhost", "wonderland");
  ASSERT_TRUE(alice.connect());
  alice.send("<message to='someone@elsewhere.example' id='m2' type='chat'><body>x</body></message>");
  auto err = alice.expect([](const xml::Element& e) { return e.attr_or("id") == "m2"; });
  ASSERT_TRUE(err);
  EXPECT_EQ(err->attr_or("type"), "error");
  EXPECT_TRUE(err->child("error")->child("remote-server-not-found"));
}

TEST_F(C2S, UnhandledIqGetsServiceUnavailable) {
  XmppClient alice(server_, "alice@localhost", "wonderland");
  ASSERT_TRUE(alice.connect());
  auto reply = alice.iq("<iq type='get' id='u1' to='localhost'><query xmlns='urn:example:nothing'/></iq>");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->attr_or("type"), "error");
  EXPECT_TRUE(reply->child("error")->child("service-unavailable"));
}

TEST_F(C2S, IqWithTwoChildrenIsBadRequest) {
  XmppClient alice(server_, "alice@localhost", "wonderland");
  ASSERT_TRUE(alice.connect());
  auto reply = alice.iq(
      "<iq type='get' id='b1' to='localhost'><ping xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->attr_or("type"), "error");
  EXPECT_TRUE(reply->child("error")->child("bad-request"));
}

TEST_F(C2S, IqToOfflineFullJidGetsServiceUnavailable) {
  XmppClient alice(server_, "alice@localhost", "wonderland");
  ASSERT_TRUE(alice.connect());
  auto reply = alice.iq("<iq type='get' id='f1' to='bob@localhost/gone'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->attr_or("type"), "error");
  EXPECT_TRUE(reply->child("error")->child("service-unavailable"));
}

TEST_F(C2S, IqBetweenFullJidsIsRoutedBothWays) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  XmppClient bob(server_, "bob@localhost", "builder", {.resource = "b"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(bob.connect());
  alice.send("<iq type='get' id='v1' to='bob@localhost/b'><query xmlns='jabber:iq:version'/></iq>");
  auto request = bob.expect(is_iq_id("v1"));
  ASSERT_TRUE(request);
  EXPECT_EQ(request->attr_or("from"), "alice@localhost/a");
  bob.send("<iq type='result' id='v1' to='alice@localhost/a'><query xmlns='jabber:iq:version'><name>bot</name></query></iq>");
  auto result = alice.expect(is_iq_id("v1"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->attr_or("type"), "result");
  EXPECT_EQ(result->attr_or("from"), "bob@localhost/b");
}

TEST_F(C2S, MalformedToGetsJidMalformed) {
  XmppClient alice(server_, "alice@localhost", "wonderland");
  ASSERT_TRUE(alice.connect());
  alice.send("<message to='@@bad@/' id='j1' type='chat'><body>x</body></message>");
  auto err = alice.expect([](const xml::Element& e) { return e.attr_or("id") == "j1"; });
  ASSERT_TRUE(err);
  EXPECT_TRUE(err->child("error")->child("jid-malformed"));
}

TEST_F(C2S, UnknownTopLevelElementIsUnsupportedStanzaType) {
  XmppClient alice(server_, "alice@localhost", "wonderland");
  ASSERT_TRUE(alice.connect());
  alice.send("<foo xmlns='jabber:client'/>");
  EXPECT_TRUE(alice.wait_disconnected());
  EXPECT_EQ(alice.error(), "unsupported-stanza-type");
}

// ---- Stream-level errors, from a raw socket -------------------------------

std::string negotiate_plain_stream(RawClient& c, const std::string& host = "localhost") {
  c.send(RawClient::stream_open(host));
  c.read_until("</stream:features>");
  return c.received();
}

TEST_F(C2S, StartTlsIsRequiredAndOfferedFirst) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(c.ok());
  std::string features = negotiate_plain_stream(c);
  EXPECT_NE(features.find("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"),
            std::string::npos) << features;
  EXPECT_EQ(features.find("PLAIN"), std::string::npos) << "no SASL before TLS when TLS is required";
  c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHdvbmRlcmxhbmQ=</auth>");
  EXPECT_TRUE(c.read_until("<policy-violation"));
  EXPECT_TRUE(c.read_until_closed());
}

TEST_F(C2S, UnknownHostIsHostUnknown) {
  RawClient c(server_.c2s_port());
  c.send(RawClient::stream_open("not-served.example"));
  EXPECT_TRUE(c.read_until("<host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"));
  EXPECT_TRUE(c.read_until_closed());
}

TEST_F(C2S, WrongDefaultNamespaceIsInvalidNamespace) {
  RawClient c(server_.c2s_port());
  c.send("<stream:stream to='localhost' xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
  EXPECT_TRUE(c.read_until("<invalid-namespace"));
  EXPECT_TRUE(c.read_until_closed());
}

TEST_F(C2S, MissingVersionIsUnsupportedVersion) {
  RawClient c(server_.c2s_port());
  c.send("<stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
  EXPECT_TRUE(c.read_until("<unsupported-version"));
  EXPECT_TRUE(c.read_until_closed());
}

TEST_F(C2S, DoctypeIsRestrictedXml) {
  RawClient c(server_.c2s_port());
  c.send("<?xml version='1.0'?><!DOCTYPE lol [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;'>]>" +
         RawClient::stream_open().substr(21));
  EXPECT_TRUE(c.read_until("<restricted-xml"));
  EXPECT_TRUE(c.read_until_closed());
}

TEST_F(C2S, BrokenXmlIsNotWellFormed) {
  RawClient c(server_.c2s_port());
  negotiate_plain_stream(c);
  c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'></wrong>");
  EXPECT_TRUE(c.read_until("<not-well-formed"));
  EXPECT_TRUE(c.read_until_closed());
}

TEST_F(C2S, OversizedStanzaBeforeAuthIsPolicyViolation) {
  RawClient c(server_.c2s_port());
  negotiate_plain_stream(c);
  c.send("<message to='bob@localhost'><body>" + std::string(9000, 'x') + "</body></message>");
  EXPECT_TRUE(c.read_until("<policy-violation"));
  EXPECT_TRUE(c.read_until_closed());
}

TEST_F(C2S, StanzaBeforeAuthenticationIsNotAuthorized) {
  TestServer plain({.hosts = {"localhost"},
                    .require_starttls = false,
                    .extra_config = "",
                    .limits = "",
                    .server_extra = "",
                    .environment = {},
                    .http = "",
                    .test_modules = false});
  plain.start();
  RawClient c(plain.c2s_port());
  negotiate_plain_stream(c);
  c.send("<message to='bob@localhost'><body>sneaky</body></message>");
  EXPECT_TRUE(c.read_until("<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"));
  EXPECT_TRUE(c.read_until_closed());
}

TEST_F(C2S, PlaintextPipelinedAfterStartTlsIsDiscarded) {
  RawClient c(server_.c2s_port());
  negotiate_plain_stream(c);
  // An attacker in the middle appends a command after <starttls/>: it must
  // never be processed inside the TLS session.
  c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><stream:stream to='evil'>");
  ASSERT_TRUE(c.read_until("<proceed"));
  ASSERT_TRUE(c.start_tls());
  c.clear();
  c.send(RawClient::stream_open());
  ASSERT_TRUE(c.read_until("</stream:features>"));
  EXPECT_NE(c.received().find("SCRAM-SHA-256"), std::string::npos);
  EXPECT_EQ(c.received().find("host-unknown"), std::string::npos);
}

TEST_F(C2S, ShutdownSendsSystemShutdown) {
  XmppClient alice(server_, "alice@localhost", "wonderland");
  ASSERT_TRUE(alice.connect());
  EXPECT_EQ(server_.stop(), 0);
  EXPECT_TRUE(alice.wait_disconnected());
  EXPECT_EQ(alice.error(), "system-shutdown");
}

// A client that binds after the shutdown began is not among the sessions
// stop() closes: it must still get <system-shutdown/>, not a session that the
// server cuts without a word when its I/O threads stop.
TEST_F(C2S, ASessionBoundDuringShutdownGetsSystemShutdown) {
  RawClient raw(server_.c2s_port());
  ASSERT_TRUE(raw_login(raw, "alice", "wonderland"));
  ASSERT_EQ(::kill(server_.pid(), SIGTERM), 0);
  // The listeners close first, in the same step as stop()'s snapshot.
  bool refused = false;
  for (int i = 0; i < 500 && !refused; ++i) {
    RawClient probe(server_.c2s_port());
    refused = !probe.ok();
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(refused) << "the listener stayed open after SIGTERM";
  raw.send(
      "<iq type='set' id='late'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
      "<resource>late</resource></bind></iq>");
  ASSERT_TRUE(raw.read_until("<system-shutdown")) << raw.received();
  EXPECT_TRUE(raw.read_until_closed()) << raw.received();
  EXPECT_EQ(server_.stop(), 0);
}

}  // namespace
}  // namespace parley::test

namespace parley::test {
namespace {

// Each mechanism on its own: the server offers only it, a real client logs in.
class SaslMechanism : public ::testing::TestWithParam<std::string> {};

TEST_P(SaslMechanism, LoginSucceedsWhenOnlyThisMechanismIsOffered) {
  TestServer server({.hosts = {"localhost"},
                     .require_starttls = true,
                     .extra_config = "",
                     .limits = "",
                     .server_extra = "sasl_mechanisms = [\"" + GetParam() + "\"]\n",
                     .environment = {},
                     .http = "",
                     .test_modules = false});
  server.create_user("alice", "wonderland");
  server.start();
  {
    RawClient raw(server.c2s_port());
    raw.send(RawClient::stream_open());
    ASSERT_TRUE(raw.read_until("</stream:features>"));
    raw.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    ASSERT_TRUE(raw.read_until("<proceed"));
    ASSERT_TRUE(raw.start_tls());
    raw.clear();
    raw.send(RawClient::stream_open());
    ASSERT_TRUE(raw.read_until("</stream:features>"));
    auto features = parse_xml(raw.received().substr(raw.received().find("<stream:features")));
    ASSERT_TRUE(features);
    const xml::Element* mechs = features->child("mechanisms");
    ASSERT_TRUE(mechs);
    ASSERT_EQ(mechs->element_count(), 1u) << raw.received();
    EXPECT_EQ(mechs->child_text("mechanism"), GetParam());
  }
  XmppClient alice(server, "alice@localhost", "wonderland");
  ASSERT_TRUE(alice.connect()) << alice.error() << server.log_tail();
  XmppClient wrong(server, "alice@localhost", "wrong");
  EXPECT_FALSE(wrong.connect());
}

INSTANTIATE_TEST_SUITE_P(C2S, SaslMechanism,
                         ::testing::Values("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"));

}  // namespace
}  // namespace parley::test

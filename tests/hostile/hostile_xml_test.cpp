// Hostile cases 01–21: the XML and stream layer (reliability note §5 items
// 1–15). Each asserts the exact stream error and that the server closes the
// stream; the fixture checks the bystander and the resource baseline.
#include <string>
#include <thread>

#include "hostile/hostile_support.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley::test::hostile {
namespace {

using namespace std::chrono_literals;

using HostileXml = Hostile;

std::string stream_header_without_decl() {
  const std::string open = RawClient::stream_open();
  return open.substr(open.find("<stream:stream"));
}

// 01 (note 1): billion laughs in the prolog, nine levels deep.
TEST_F(HostileXml, Case01_BillionLaughsInThePrologIsRestrictedXml) {
  std::string dtd = "<?xml version='1.0'?><!DOCTYPE s [<!ENTITY a0 'AAAAAAAAAA'>";
  for (int i = 1; i < 10; ++i) {
    dtd += "<!ENTITY a" + std::to_string(i) + " '";
    for (int k = 0; k < 10; ++k) dtd += "&a" + std::to_string(i - 1) + ";";
    dtd += "'>";
  }
  dtd += "]>";
  RawClient c(server_.c2s_port());
  c.send(dtd + stream_header_without_decl() + "<x>&a9;</x>");
  EXPECT_TRUE(stream_error_then_close(c, "restricted-xml"));
}

// 02 (note 1): a DOCTYPE after the stream opened cannot sneak in either.
TEST_F(HostileXml, Case02_DoctypeMidStreamIsNotWellFormed) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  // Inside the document a DOCTYPE is a syntax error before it is a DTD.
  c.send("<!DOCTYPE x [<!ENTITY e 'e'>]><message>&e;</message>");
  EXPECT_TRUE(stream_error_then_close(c, "not-well-formed"));
}

// 03 (note 2): an external entity is never resolved.
TEST_F(HostileXml, Case03_ExternalEntityIsRestrictedXml) {
  RawClient c(server_.c2s_port());
  c.send("<?xml version='1.0'?><!DOCTYPE s [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>" +
         stream_header_without_decl() + "<m>&x;</m>");
  EXPECT_TRUE(stream_error_then_close(c, "restricted-xml"));
  EXPECT_EQ(c.received().find("root:"), std::string::npos);
}

// 04 (note 3): comments are not XMPP.
TEST_F(HostileXml, Case04_CommentMidStreamIsRestrictedXml) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  c.send("<!-- hello -->");
  EXPECT_TRUE(stream_error_then_close(c, "restricted-xml"));
}

// 05 (note 3): nor are processing instructions.
TEST_F(HostileXml, Case05_ProcessingInstructionMidStreamIsRestrictedXml) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  c.send("<?php system('id'); ?>");
  EXPECT_TRUE(stream_error_then_close(c, "restricted-xml"));
}

// 06 (note 4): overlong UTF-8 (C0 AF is an overlong '/').
TEST_F(HostileXml, Case06_OverlongUtf8IsNotWellFormed) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  c.send("<message><body>\xC0\xAF</body></message>");
  EXPECT_TRUE(stream_error_then_close(c, "not-well-formed"));
}

// 07 (note 4): a UTF-16 surrogate encoded in UTF-8 (ED A0 80).
TEST_F(HostileXml, Case07_EncodedSurrogateIsNotWellFormed) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  c.send("<message><body>\xED\xA0\x80</body></message>");
  EXPECT_TRUE(stream_error_then_close(c, "not-well-formed"));
}

// 08 (note 4): a control character XML 1.0 does not allow.
TEST_F(HostileXml, Case08_ControlCharacterIsNotWellFormed) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  c.send("<message><body>bell\x01</body></message>");
  EXPECT_TRUE(stream_error_then_close(c, "not-well-formed"));
}

// 09 (note 5): the ejabberd test suite's favourite.
TEST_F(HostileXml, Case09_QuoteAsElementNameIsNotWellFormed) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  c.send("<'/>");
  EXPECT_TRUE(stream_error_then_close(c, "not-well-formed"));
}

// 10 (note 5).
TEST_F(HostileXml, Case10_DuplicateAttributeIsNotWellFormed) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  c.send("<message to='a@localhost' to='b@localhost'/>");
  EXPECT_TRUE(stream_error_then_close(c, "not-well-formed"));
}

// 11 (note 11, expat CVE-2022-25236): the parser's namespace separator inside
// a namespace name must not forge another {namespace}name.
TEST_F(HostileXml, Case11_NamespaceSeparatorInXmlnsIsNotWellFormed) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls\x01starttls'/>");
  EXPECT_TRUE(stream_error_then_close(c, "not-well-formed"));
  EXPECT_EQ(c.received().find("<proceed"), std::string::npos);
}

// 12 (note 6): a version the server cannot speak.
TEST_F(HostileXml, Case12_VersionBelowOneIsUnsupportedVersion) {
  RawClient c(server_.c2s_port());
  c.send(
      "<stream:stream to='localhost' xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' version='0.9'>");
  EXPECT_TRUE(stream_error_then_close(c, "unsupported-version"));
}

// 13 (note 7): no 'to' at all.
TEST_F(HostileXml, Case13_MissingToIsHostUnknown) {
  RawClient c(server_.c2s_port());
  c.send(
      "<stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
  EXPECT_TRUE(stream_error_then_close(c, "host-unknown"));
}

// 14 (note 8, CVE-2026-43507): 33 elements before authentication.
TEST_F(HostileXml, Case14_TooManyElementsBeforeAuthIsPolicyViolation) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  std::string many = "<iq type='get' id='x'><query xmlns='jabber:iq:register'>";
  for (int i = 0; i < 40; ++i) many += "<f/>";
  c.send(many + "</query></iq>");
  EXPECT_TRUE(stream_error_then_close(c, "policy-violation"));
}

// 15 (note 10): 10 000 nested elements, after authentication, fit in the
// size limit but not in the depth limit.
TEST_F(HostileXml, Case15_DeepNestingIsPolicyViolation) {
  auto c = raw_alice();
  ASSERT_TRUE(c);
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "<a>";
  c->send("<message to='bob@localhost'>" + deep);
  EXPECT_TRUE(stream_error_then_close(*c, "policy-violation"));
}

// 16 (note 11): 10 000 attributes on one element.
TEST_F(HostileXml, Case16_AttributeBombIsPolicyViolation) {
  auto c = raw_alice();
  ASSERT_TRUE(c);
  std::string attrs;
  for (int i = 0; i < 10000; ++i) attrs += " a" + std::to_string(i) + "='x'";
  c->send("<message to='bob@localhost'" + attrs + "/>");
  EXPECT_TRUE(stream_error_then_close(*c, "policy-violation"));
}

// 17 (note 8): one byte over the limit after authentication, with the
// XEP-0478 limit advertised first.
TEST_F(HostileXml, Case17_OversizedStanzaAfterAuthIsStanzaTooBig) {
  auto c = std::make_unique<RawClient>(server_.c2s_port());
  ASSERT_TRUE(raw_login(*c, "alice", "secret"));
  EXPECT_NE(c->received().find("<limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>262144"),
            std::string::npos)
      << c->received();
  ASSERT_FALSE(raw_bind(*c, "big").empty());
  const std::string head = "<message to='bob@localhost'><body>";
  const std::string tail = "</body></message>";
  c->send(head + std::string(262144 + 1 - head.size() - tail.size(), 'x') + tail);
  EXPECT_TRUE(c->read_until("<stanza-too-big xmlns='urn:xmpp:errors'/>")) << c->received();
  EXPECT_TRUE(stream_error_then_close(*c, "policy-violation"));
}

// 18 (note 9): a stanza that never ends is cut at the limit, not buffered.
TEST_F(HostileXml, Case18_EndlessStanzaIsCutAtTheLimit) {
  auto c = raw_alice();
  ASSERT_TRUE(c);
  c->send("<message to='bob@localhost'><body>");
  const std::string chunk(64 * 1024, 'A');
  for (int i = 0; i < 16 && !c->read_until("policy-violation", 1ms); ++i) c->send(chunk);
  EXPECT_TRUE(stream_error_then_close(*c, "policy-violation"));
}

// 19 (note 12): a large stanza dripped in small writes arrives whole.
TEST_F(HostileXml, Case19_SlowDripStanzaIsDeliveredWhole) {
  XmppClient bob(server_, "bob@localhost", "secret", {.resource = "b"});
  ASSERT_TRUE(bob.connect());
  bob.available();
  auto c = raw_alice();
  ASSERT_TRUE(c);
  const std::string body(60000, 'z');
  const std::string stanza =
      "<message to='bob@localhost/b' type='chat' id='drip'><body>" + body + "</body></message>";
  for (size_t at = 0; at < stanza.size(); at += 97) c->send(stanza.substr(at, 97));
  auto got = bob.expect([](const xml::Element& el) { return el.attr_or("id") == "drip"; }, 15s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->child_text("body"), body);
}

// 20 (note 14): <auth/> and the stream restart in one segment.
TEST_F(HostileXml, Case20_PipelinedRestartAfterAuthIsHandled) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  ASSERT_TRUE(start_tls(c));
  c.clear();
  const std::string plain = std::string(1, '\0') + "alice" + std::string(1, '\0') + "secret";
  c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
         sasl::base64_encode(plain) + "</auth>" + RawClient::stream_open());
  ASSERT_TRUE(c.read_until("<success")) << c.received();
  EXPECT_TRUE(c.read_until("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'")) << c.received();
  EXPECT_EQ(c.received().find("stream:error"), std::string::npos) << c.received();
}

}  // namespace
}  // namespace parley::test::hostile

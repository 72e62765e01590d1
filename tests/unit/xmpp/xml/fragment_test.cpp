#include "xmpp/xml/fragment.hpp"

#include <gtest/gtest.h>

#include <string>

#include "xmpp/xml/serializer.hpp"

namespace parley::xml {
namespace {

TEST(ParseFragment, RoundTripsASerializedStanza) {
  Element msg("message", "jabber:client");
  msg.set_attr("to", "juliet@example.com");
  msg.set_attr("xml:lang", "en");
  msg.add_child("body", "jabber:client").add_text("a < b & 'c'");
  msg.add_child("delay", "urn:xmpp:delay").set_attr("stamp", "2024-01-01T00:00:00Z");
  const std::string text = serialize(msg, "jabber:client");
  auto parsed = parse_fragment(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->name(), "message");
  EXPECT_EQ(parsed->xmlns(), "jabber:client");
  EXPECT_EQ(parsed->attr_or("xml:lang"), "en");
  EXPECT_EQ(parsed->child_text("body", "jabber:client"), "a < b & 'c'");
  ASSERT_NE(parsed->child("delay", "urn:xmpp:delay"), nullptr);
  EXPECT_EQ(serialize(*parsed, "jabber:client"), text);
}

TEST(ParseFragment, KeepsOwnNamespace) {
  auto parsed = parse_fragment("<vCard xmlns='vcard-temp'><FN>Juliet</FN></vCard>");
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->is("vCard", "vcard-temp"));
  EXPECT_EQ(parsed->child_text("FN", "vcard-temp"), "Juliet");
}

TEST(ParseFragment, AllowsSurroundingWhitespace) {
  EXPECT_TRUE(parse_fragment("  \n<a xmlns='x'/>\n "));
}

TEST(ParseFragment, RefusesAnythingButOneElement) {
  EXPECT_FALSE(parse_fragment(""));
  EXPECT_FALSE(parse_fragment("   "));
  EXPECT_FALSE(parse_fragment("text"));
  EXPECT_FALSE(parse_fragment("<a/><b/>"));
  EXPECT_FALSE(parse_fragment("<a>"));
  EXPECT_FALSE(parse_fragment("<a></b>"));
  EXPECT_FALSE(parse_fragment("<a/>trailing"));
}

TEST(ParseFragment, RefusesRestrictedXml) {
  EXPECT_FALSE(parse_fragment("<!DOCTYPE a><a/>"));
  EXPECT_FALSE(parse_fragment("<a><!-- c --></a>"));
  EXPECT_FALSE(parse_fragment("<a><?pi x?></a>"));
  EXPECT_FALSE(parse_fragment("<a>&ent;</a>"));
}

TEST(ParseFragment, CannotCloseTheWrapper) {
  EXPECT_FALSE(parse_fragment("<a/></stream:stream>"));
  EXPECT_FALSE(parse_fragment("<a/></stream:stream><b/>"));
}

TEST(ParseFragment, AppliesLimits) {
  ParserLimits limits;
  limits.max_stanza_bytes = 64;
  EXPECT_TRUE(parse_fragment("<a>" + std::string(40, 'x') + "</a>", limits));
  EXPECT_FALSE(parse_fragment("<a>" + std::string(100, 'x') + "</a>", limits));
  limits = ParserLimits{};
  limits.max_depth = 3;
  EXPECT_TRUE(parse_fragment("<a><b><c/></b></a>", limits));
  EXPECT_FALSE(parse_fragment("<a><b><c><d><e/></d></c></b></a>", limits));
}

}  // namespace
}  // namespace parley::xml

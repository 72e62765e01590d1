#include "xmpp/xml/serializer.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "xml_test_util.hpp"

namespace parley::xml {
namespace {

using namespace std::string_literals;
using testing_util::SameElement;

// Parses one element serialized as a stanza of a jabber:client stream.
std::optional<Element> reparse(const std::string& xml,
                               std::string_view default_ns = "jabber:client") {
  testing_util::Recorder rec;
  std::string doc = "<stream:stream xmlns='" + std::string(default_ns) +
                    "' xmlns:stream='http://etherx.jabber.org/streams'>" + xml;
  auto r = rec.feed(doc);
  if (r.error != ParseError::None || rec.elements.size() != 1) {
    ADD_FAILURE() << "reparse failed (" << testing_util::to_string(r.error) << ", "
                  << rec.elements.size() << " elements): " << xml;
    return std::nullopt;
  }
  return std::move(rec.elements.front());
}

TEST(XmlSerializer, EmptyElementSelfCloses) {
  EXPECT_EQ(serialize(Element("presence", "jabber:client"), "jabber:client"), "<presence/>");
  EXPECT_EQ(serialize(Element("presence", "jabber:client")), "<presence xmlns='jabber:client'/>");
  EXPECT_EQ(serialize(Element("x", "")), "<x/>");
}

TEST(XmlSerializer, EmptyTextDoesNotPreventSelfClosing) {
  Element el("a", "");
  el.nodes().emplace_back(std::string());
  EXPECT_EQ(serialize(el), "<a/>");
}

TEST(XmlSerializer, NamespaceOnlyWhenDifferentFromParent) {
  Element msg("message", "jabber:client");
  msg.set_attr("to", "juliet@example.com");
  msg.add_child("body", "jabber:client").add_text("hi");
  msg.add_child("active", "http://jabber.org/protocol/chatstates");
  Element& x = msg.add_child("x", "jabber:x:data");
  x.add_child("field", "jabber:x:data").set_attr("var", "a");
  EXPECT_EQ(serialize(msg, "jabber:client"),
            "<message to='juliet@example.com'><body>hi</body>"
            "<active xmlns='http://jabber.org/protocol/chatstates'/>"
            "<x xmlns='jabber:x:data'><field var='a'/></x></message>");
}

TEST(XmlSerializer, ChildWithoutNamespaceUndeclaresDefault) {
  Element el("query", "jabber:iq:private");
  el.add_child("plain", "");
  const std::string out = serialize(el, "jabber:client");
  EXPECT_EQ(out, "<query xmlns='jabber:iq:private'><plain xmlns=''/></query>");
  auto back = reparse(out);
  ASSERT_TRUE(back);
  EXPECT_TRUE(SameElement(el, *back));
}

TEST(XmlSerializer, TextEscaping) {
  Element el("body", "");
  el.add_text("a & b < c > d ' \" ]]> \t\n");
  EXPECT_EQ(serialize(el), "<body>a &amp; b &lt; c &gt; d ' \" ]]&gt; \t\n</body>");
}

TEST(XmlSerializer, AttributeEscaping) {
  Element el("a", "");
  el.set_attr("v", "x&y<z>'q\"");
  EXPECT_EQ(serialize(el), "<a v='x&amp;y&lt;z&gt;&apos;q&quot;'/>");
}

TEST(XmlSerializer, WhitespaceThatParsersNormaliseIsEscaped) {
  Element el("a", "");
  el.set_attr("v", "1\t2\n3\r4");
  el.add_text("x\r\ny\rz\n");
  const std::string out = serialize(el);
  EXPECT_EQ(out, "<a v='1&#x9;2&#xA;3&#xD;4'>x&#xD;\ny&#xD;z\n</a>");
  auto back = reparse(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->attr_or("v"), "1\t2\n3\r4");
  EXPECT_EQ(back->text(), "x\r\ny\rz\n");
}

TEST(XmlSerializer, EscapeFunctionEscapesAllFive) {
  EXPECT_EQ(escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;");
  std::string out = "prefix:";
  escape_to(out, "&");
  EXPECT_EQ(out, "prefix:&amp;");
  EXPECT_EQ(escape(""), "");
  EXPECT_EQ(escape("plain text"), "plain text");
}

TEST(XmlSerializer, InvalidCharactersBecomeReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  struct Case {
    std::string in, out;
  } cases[] = {
      {"a\x01"s + "b", "a" + fffd + "b"},
      {"\0"s, fffd},
      {"\x1F\x0B\x0C", fffd + fffd + fffd},
      {"\x7F", "\x7F"},                                 // DEL is legal
      {"caf\xC3\xA9", "caf\xC3\xA9"},                   // é
      {"\xE2\x82\xAC", "\xE2\x82\xAC"},                 // €
      {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},         // 😀
      {"\xEF\xBF\xBD", "\xEF\xBF\xBD"},                 // U+FFFD itself
      {"\xC3", fffd},                                   // truncated
      {"\xC3(", fffd + "("},                            // bad continuation
      {"\x80", fffd},                                   // stray continuation
      {"\xC0\xAF", fffd + fffd},                        // overlong '/'
      {"\xE0\x80\xAF", fffd + fffd + fffd},             // overlong
      {"\xED\xA0\x80", fffd + fffd + fffd},             // surrogate U+D800
      {"\xEF\xBF\xBE", fffd + fffd + fffd},             // U+FFFE
      {"\xEF\xBF\xBF", fffd + fffd + fffd},             // U+FFFF
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
      {"\xF5\x80\x80\x80", fffd + fffd + fffd + fffd},
      {"\xFF", fffd},
      {"\xF0\x9F\x98", fffd + fffd + fffd},  // truncated 4-byte
  };
  for (const auto& c : cases) {
    Element el("t", "");
    el.add_text(c.in);
    EXPECT_EQ(serialize(el), "<t>" + c.out + "</t>")
        << "input bytes: " << ::testing::PrintToString(c.in);
    Element at("t", "");
    at.set_attr("a", c.in);
    EXPECT_EQ(serialize(at), "<t a='" + c.out + "'/>");
    // Whatever goes in, the output parses.
    EXPECT_TRUE(reparse(serialize(el)));
    EXPECT_TRUE(reparse(serialize(at)));
  }
}

TEST(XmlSerializer, XmlNamespaceAttributes) {
  Element el("message", "jabber:client");
  el.set_attr("xml:lang", "de");
  el.set_attr("{http://www.w3.org/XML/1998/namespace}space", "preserve");
  EXPECT_EQ(serialize(el, "jabber:client"), "<message xml:lang='de' xml:space='preserve'/>");
}

TEST(XmlSerializer, NamespacedAttributesGetGeneratedPrefixes) {
  Element el("item", "urn:test");
  el.set_attr("{urn:a}one", "1");
  el.set_attr("plain", "p");
  el.set_attr("{urn:b}two", "2");
  el.set_attr("{urn:a}three", "3");
  const std::string out = serialize(el, "urn:test");
  EXPECT_EQ(out,
            "<item xmlns:ns0='urn:a' ns0:one='1' plain='p' xmlns:ns1='urn:b' ns1:two='2' "
            "ns0:three='3'/>");
  auto back = reparse(out, "urn:test");
  ASSERT_TRUE(back);
  EXPECT_TRUE(SameElement(el, *back));
}

TEST(XmlSerializer, GeneratedPrefixesAreScopedPerElement) {
  Element outer("a", "urn:x");
  outer.set_attr("{urn:one}k", "1");
  Element& inner = outer.add_child("b", "urn:x");
  inner.set_attr("{urn:two}k", "2");
  const std::string out = serialize(outer, "urn:x");
  EXPECT_EQ(out, "<a xmlns:ns0='urn:one' ns0:k='1'><b xmlns:ns0='urn:two' ns0:k='2'/></a>");
  auto back = reparse(out, "urn:x");
  ASSERT_TRUE(back);
  EXPECT_TRUE(SameElement(outer, *back));
}

TEST(XmlSerializer, NamespaceDeclarationAttributesAreNotWritten) {
  Element el("a", "urn:x");
  el.attributes().push_back({"xmlns", "urn:evil"});
  el.attributes().push_back({"xmlns:foo", "urn:evil"});
  el.attributes().push_back({"{http://www.w3.org/2000/xmlns/}bar", "urn:evil"});
  el.attributes().push_back({"ok", "1"});
  EXPECT_EQ(serialize(el, "urn:x"), "<a ok='1'/>");
}

TEST(XmlSerializer, DuplicateAttributesAreDropped) {
  Element el("a", "");
  el.attributes().push_back({"id", "1"});
  el.attributes().push_back({"id", "2"});
  el.attributes().push_back({"{}id", "3"});
  el.attributes().push_back({"xml:lang", "en"});
  el.attributes().push_back({"{http://www.w3.org/XML/1998/namespace}lang", "fr"});
  el.attributes().push_back({"{urn:q}id", "4"});
  EXPECT_EQ(serialize(el), "<a id='1' xml:lang='en' xmlns:ns0='urn:q' ns0:id='4'/>");
  EXPECT_TRUE(reparse(serialize(el, "jabber:client")));
}

TEST(XmlSerializer, StreamNamespaceElementsUseStreamPrefix) {
  Element features("features", std::string(testing_util::kStreamsNs));
  features.add_child("starttls", "urn:ietf:params:xml:ns:xmpp-tls")
      .add_child("required", "urn:ietf:params:xml:ns:xmpp-tls");
  features.add_child("bind", "urn:ietf:params:xml:ns:xmpp-bind");
  const std::string out = serialize(features, "jabber:client");
  EXPECT_EQ(out,
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"
            "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
            "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
  auto back = reparse(out);
  ASSERT_TRUE(back);
  EXPECT_TRUE(SameElement(features, *back));

  // Children in the default namespace of the stream need no declaration.
  Element error("error", std::string(testing_util::kStreamsNs));
  error.add_child("not-well-formed", "urn:ietf:params:xml:ns:xmpp-streams");
  error.add_child("app", "jabber:client");
  EXPECT_EQ(serialize(error, "jabber:client"),
            "<stream:error xmlns:stream='http://etherx.jabber.org/streams'>"
            "<not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><app/></stream:error>");

  // When the streams namespace is already the default, no prefix is used.
  EXPECT_EQ(serialize(Element("features", std::string(testing_util::kStreamsNs)),
                      testing_util::kStreamsNs),
            "<features/>");
}

TEST(XmlSerializer, MixedContentKeepsOrder) {
  Element el("p", "urn:x");
  el.add_text("one ");
  el.add_child("b", "urn:x").add_text("two");
  el.add_text(" three");
  el.add_child("i", "urn:x");
  EXPECT_EQ(serialize(el, "urn:x"), "<p>one <b>two</b> three<i/></p>");
}

TEST(XmlSerializer, SerializeToAppends) {
  std::string out = "<x>";
  serialize_to(out, Element("a", "urn:x"), "urn:x");
  serialize_to(out, Element("b", "urn:y"), "urn:x");
  EXPECT_EQ(out, "<x><a/><b xmlns='urn:y'/>");
}

TEST(XmlSerializer, NamespaceValueIsEscaped) {
  Element el("a", "urn:x'y&z");
  const std::string out = serialize(el);
  EXPECT_EQ(out, "<a xmlns='urn:x&apos;y&amp;z'/>");
  auto back = reparse(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->xmlns(), "urn:x'y&z");
}

TEST(XmlSerializer, InvalidNamesThrowAndLeaveOutputUntouched) {
  for (const char* name :
       {"", "a b", "1abc", "-x", "a<b", "a>", "a'", "stream:features", "x/y", "\xC3"}) {
    Element el(name, "");
    std::string out = "keep";
    EXPECT_THROW(serialize_to(out, el), std::invalid_argument) << name;
    EXPECT_EQ(out, "keep");
  }
  for (const char* attr : {"a b", "", "x:y", "{urn:x", "{urn:x}", "{urn:x}a:b", "xml:", "1a"}) {
    Element el("a", "");
    el.attributes().push_back({attr, "v"});
    EXPECT_THROW(serialize(el), std::invalid_argument) << attr;
  }
  // A bad name deep inside discards the partial output as well.
  Element outer("outer", "");
  outer.add_child("ok", "").add_child("bad name", "");
  std::string out = "keep";
  EXPECT_THROW(serialize_to(out, outer), std::invalid_argument);
  EXPECT_EQ(out, "keep");
  EXPECT_THROW(serialize(Element("a", "http://www.w3.org/XML/1998/namespace")),
               std::invalid_argument);
}

TEST(XmlSerializer, ValidNamesAreAccepted) {
  for (const char* name : {"a", "_x", "A-1.b_c", "caf\xC3\xA9", "x123"}) {
    Element el(name, "");
    EXPECT_NO_THROW(serialize(el)) << name;
  }
}

TEST(XmlSerializer, DeepTreeDoesNotOverflow) {
  Element root("r", "urn:x");
  Element* cur = &root;
  for (int i = 0; i < 5000; ++i) cur = &cur->add_child("d", "urn:x");
  const std::string out = serialize(root, "urn:x");
  // <r> + 4999 x (<d> </d>) + <d/> + </r>
  EXPECT_EQ(out.size(), 3u + 4999u * 7u + 4u + 4u);
}

}  // namespace
}  // namespace parley::xml

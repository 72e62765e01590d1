#include "xmpp/shared_stanza.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "xmpp/xml/fragment.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley {
namespace {

xml::Element groupchat() {
  auto el = xml::parse_fragment(
      "<message xmlns='jabber:client' from='room@conference.example.org/a&amp;b' "
      "type='groupchat'><body>x &lt; y</body><stanza-id xmlns='urn:xmpp:sid:0' id='s1' "
      "by='room@conference.example.org'/></message>");
  EXPECT_TRUE(el);
  return *el;
}

TEST(SharedStanza, SplicedBytesEqualTheSerializationOfTheAddressedTree) {
  const SharedStanza shared(groupchat());
  for (const char* to : {"bob@example.org/phone", "o'brien@example.org/r&d"}) {
    const Jid jid = *Jid::parse(to);
    const std::string spliced = shared.bytes_to(jid.str());
    // The same stanza, attribute order aside: parse both and compare the trees.
    auto reparsed = xml::parse_fragment(spliced);
    ASSERT_TRUE(reparsed) << spliced;
    EXPECT_EQ(reparsed->attr_or("to"), jid.str());
    EXPECT_EQ(reparsed->attr_or("from"), "room@conference.example.org/a&b");
    EXPECT_EQ(reparsed->child_text("body"), "x < y");
    // The tree for the paths that need one says the same.
    xml::Element addressed = shared.addressed_to(jid);
    EXPECT_EQ(addressed.attr_or("to"), jid.str());
    EXPECT_EQ(xml::serialize(addressed, "jabber:client").size(), spliced.size());
    EXPECT_EQ(spliced.size(), shared.size() + xml::escape(jid.str()).size() + 6);
  }
  EXPECT_FALSE(shared.element().has_attr("to"));
}

TEST(SharedStanza, AStanzaWithAnAddressIsRefused) {
  xml::Element m = groupchat();
  m.set_attr("to", "bob@example.org");
  EXPECT_THROW(SharedStanza{std::move(m)}, std::invalid_argument);
}

TEST(SharedStanza, AnEmptyElementGetsItsAddressToo) {
  xml::Element m("message", "jabber:client");
  const SharedStanza shared(std::move(m));
  auto reparsed = xml::parse_fragment(shared.bytes_to("a@b/c"));
  ASSERT_TRUE(reparsed) << shared.bytes_to("a@b/c");
  EXPECT_EQ(reparsed->attr_or("to"), "a@b/c");
}

}  // namespace
}  // namespace parley

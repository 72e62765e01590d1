#include "modules/disco/caps.hpp"

#include <gtest/gtest.h>

#include "xmpp/disco.hpp"

namespace parley::disco {
namespace {

TEST(Caps, Element) {
  auto c = caps_element("abc=");
  EXPECT_TRUE(c.is("c", "http://jabber.org/protocol/caps"));
  EXPECT_EQ(c.attr_or("hash"), "sha-1");
  EXPECT_EQ(c.attr_or("node"), "https://parley.im/caps");
  EXPECT_EQ(c.attr_or("ver"), "abc=");
  EXPECT_EQ(caps_node_ver("abc="), "https://parley.im/caps#abc=");
}

// XEP-0115 §5.2, the simple generation example.
TEST(Caps, HashOfTheXepExample) {
  DiscoRegistry registry;
  registry.add_identity({"client", "pc", "Exodus 0.9.1"});
  for (const char* f : {"http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#info",
                        "http://jabber.org/protocol/disco#items", "http://jabber.org/protocol/muc"})
    registry.add_feature(f);
  EXPECT_EQ(registry.caps_hash(), "QgayPKawpkPSDYmwT/WM94uAlu0=");
}

}  // namespace
}  // namespace parley::disco

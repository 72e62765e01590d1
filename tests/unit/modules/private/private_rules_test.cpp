#include "modules/private/private_rules.hpp"

#include <gtest/gtest.h>

namespace parley::private_xml {
namespace {

xml::Element query() { return xml::Element("query", "jabber:iq:private"); }

TEST(PrivateRules, AcceptsOneNamespace) {
  auto q = query();
  q.add_child("storage", "storage:bookmarks");
  EXPECT_FALSE(check_query(q));
  q.add_child("storage", "storage:bookmarks");
  EXPECT_FALSE(check_query(q));
}

TEST(PrivateRules, NeedsAChild) {
  auto error = check_query(query());
  ASSERT_TRUE(error);
  EXPECT_EQ(error->condition, "not-acceptable");
}

TEST(PrivateRules, RefusesReservedNamespaces) {
  for (const char* ns : {"jabber:client", "jabber:server", "jabber:iq:private", ""}) {
    auto q = query();
    q.add_child("x", ns);
    auto error = check_query(q);
    ASSERT_TRUE(error) << ns;
    EXPECT_EQ(error->condition, "not-acceptable") << ns;
  }
}

TEST(PrivateRules, RefusesMixedNamespaces) {
  auto q = query();
  q.add_child("a", "urn:a");
  q.add_child("b", "urn:b");
  auto error = check_query(q);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->condition, "bad-request");
}

TEST(PrivateRules, KeyIsQualifiedName) {
  EXPECT_EQ(key_of(xml::Element("storage", "storage:bookmarks")), "{storage:bookmarks}storage");
  EXPECT_NE(key_of(xml::Element("a", "urn:x")), key_of(xml::Element("b", "urn:x")));
}

}  // namespace
}  // namespace parley::private_xml

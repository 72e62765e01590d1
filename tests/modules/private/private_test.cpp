// Private XML storage (XEP-0049) end to end.
#include <gtest/gtest.h>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

class PrivateModule : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.create_user("alice", "wonderland");
    server_.create_user("bob", "builder");
    server_.start();
    ASSERT_TRUE(alice_.connect()) << alice_.error();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  TestServer server_;
  XmppClient alice_{server_, "alice@localhost", "wonderland", {.resource = "a"}};
};

TEST_F(PrivateModule, SetThenGet) {
  auto set = alice_.iq("<iq type='set' id='p1'><query xmlns='jabber:iq:private'>"
                       "<storage xmlns='storage:bookmarks'><conference jid='room@muc.localhost' autojoin='true'>"
                       "<nick>alice</nick></conference></storage></query></iq>");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->attr_or("type"), "result") << to_xml(*set);

  auto get = alice_.iq("<iq type='get' id='p2'><query xmlns='jabber:iq:private'>"
                       "<storage xmlns='storage:bookmarks'/></query></iq>");
  ASSERT_TRUE(get);
  ASSERT_EQ(get->attr_or("type"), "result") << to_xml(*get);
  const xml::Element* q = get->child("query", "jabber:iq:private");
  ASSERT_NE(q, nullptr);
  const xml::Element* storage = q->child("storage", "storage:bookmarks");
  ASSERT_NE(storage, nullptr) << to_xml(*get);
  const xml::Element* conf = storage->child("conference", "storage:bookmarks");
  ASSERT_NE(conf, nullptr);
  EXPECT_EQ(conf->attr_or("jid"), "room@muc.localhost");
  EXPECT_EQ(conf->child_text("nick", "storage:bookmarks"), "alice");
}

TEST_F(PrivateModule, NothingStoredReturnsTheEmptyElement) {
  auto get = alice_.iq("<iq type='get' id='p3'><query xmlns='jabber:iq:private'>"
                       "<prefs xmlns='urn:example:prefs'/></query></iq>");
  ASSERT_TRUE(get);
  ASSERT_EQ(get->attr_or("type"), "result") << to_xml(*get);
  const xml::Element* prefs = get->child("query", "jabber:iq:private")->child("prefs", "urn:example:prefs");
  ASSERT_NE(prefs, nullptr);
  EXPECT_EQ(prefs->element_count(), 0u);
}

TEST_F(PrivateModule, ElementsAreKeptApart) {
  auto set = alice_.iq("<iq type='set' id='p4'><query xmlns='jabber:iq:private'>"
                       "<a xmlns='urn:x'><v>1</v></a><b xmlns='urn:x'><v>2</v></b></query></iq>");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->attr_or("type"), "result") << to_xml(*set);
  auto a = alice_.iq("<iq type='get' id='p5'><query xmlns='jabber:iq:private'><a xmlns='urn:x'/></query></iq>");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->child("query", "jabber:iq:private")->child("a", "urn:x")->child_text("v", "urn:x"), "1");
  auto b = alice_.iq("<iq type='get' id='p6'><query xmlns='jabber:iq:private'><b xmlns='urn:x'/></query></iq>");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->child("query", "jabber:iq:private")->child("b", "urn:x")->child_text("v", "urn:x"), "2");
}

TEST_F(PrivateModule, ReservedOrMissingNamespaceIsNotAcceptable) {
  auto reserved = alice_.iq("<iq type='set' id='p7'><query xmlns='jabber:iq:private'>"
                            "<x xmlns='jabber:iq:private'/></query></iq>");
  ASSERT_TRUE(reserved);
  EXPECT_EQ(error_condition(*reserved), "not-acceptable");
  auto client_ns = alice_.iq("<iq type='set' id='p8'><query xmlns='jabber:iq:private'><body/></query></iq>");
  ASSERT_TRUE(client_ns);
  EXPECT_EQ(error_condition(*client_ns), "not-acceptable");
  auto empty = alice_.iq("<iq type='get' id='p9'><query xmlns='jabber:iq:private'/></iq>");
  ASSERT_TRUE(empty);
  EXPECT_EQ(error_condition(*empty), "not-acceptable");
}

TEST_F(PrivateModule, OtherAccountsAreForbidden) {
  auto get = alice_.iq("<iq type='get' to='bob@localhost' id='p10'><query xmlns='jabber:iq:private'>"
                       "<storage xmlns='storage:bookmarks'/></query></iq>");
  ASSERT_TRUE(get);
  EXPECT_EQ(error_condition(*get), "forbidden");
  auto set = alice_.iq("<iq type='set' to='bob@localhost' id='p11'><query xmlns='jabber:iq:private'>"
                       "<storage xmlns='storage:bookmarks'/></query></iq>");
  ASSERT_TRUE(set);
  EXPECT_EQ(error_condition(*set), "forbidden");
}

}  // namespace
}  // namespace parley::test

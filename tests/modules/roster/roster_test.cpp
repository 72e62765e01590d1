// Roster management (RFC 6121 §2) and versioning (XEP-0237) against a real
// server with real clients.
#include <gtest/gtest.h>

#include "modules/roster/roster_support.hpp"
#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

using namespace roster_support;

class Roster : public ::testing::Test {
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

TEST_F(Roster, EmptyRosterIsAnEmptyQuery) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  auto r = get_roster(alice);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "result");
  ASSERT_TRUE(query_of(*r));
  EXPECT_EQ(query_of(*r)->element_count(), 0u);
}

TEST_F(Roster, SetAddsAnItemAndPushesItToInterestedResourcesOnly) {
  XmppClient a1(server_, "alice@localhost", "wonderland", {.resource = "one"});
  XmppClient a2(server_, "alice@localhost", "wonderland", {.resource = "two"});
  XmppClient a3(server_, "alice@localhost", "wonderland", {.resource = "three"});
  ASSERT_TRUE(a1.connect());
  ASSERT_TRUE(a2.connect());
  ASSERT_TRUE(a3.connect());
  ASSERT_TRUE(get_roster(a1));
  ASSERT_TRUE(get_roster(a2));  // a3 never asks: not interested

  auto r = roster_set(a1, "<item jid='bob@localhost' name='Bob'><group>Friends</group>"
                          "<group>Work</group></item>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "result");

  for (XmppClient* c : {&a1, &a2}) {
    auto push = c->expect(is_push_for("bob@localhost"));
    ASSERT_TRUE(push);
    EXPECT_EQ(push->attr_or("from"), "alice@localhost");
    EXPECT_TRUE(push->has_attr("id"));
    const xml::Element* item = push_item(*push);
    EXPECT_EQ(item->attr_or("name"), "Bob");
    EXPECT_EQ(item->attr_or("subscription"), "none");
    EXPECT_FALSE(item->has_attr("ask"));
    auto groups = item->children("group", kRosterNs);
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0]->text(), "Friends");
    EXPECT_EQ(groups[1]->text(), "Work");
  }
  EXPECT_TRUE(a3.nothing(is_push_for("bob@localhost")));

  auto roster = get_roster(a3);
  ASSERT_TRUE(roster && query_of(*roster));
  const xml::Element* item = find_item(*query_of(*roster), "bob@localhost");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->attr_or("name"), "Bob");
}

TEST_F(Roster, UpdateAndRemove) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(get_roster(alice));
  ASSERT_EQ(roster_set(alice, "<item jid='bob@localhost' name='Bob'/>")->attr_or("type"), "result");
  ASSERT_TRUE(alice.expect(is_push_for("bob@localhost")));

  ASSERT_EQ(roster_set(alice, "<item jid='bob@localhost' name='Robert'><group>G</group></item>")
                ->attr_or("type"),
            "result");
  auto push = alice.expect(is_push_for("bob@localhost"));
  ASSERT_TRUE(push);
  EXPECT_EQ(push_item(*push)->attr_or("name"), "Robert");
  EXPECT_EQ(push_item(*push)->child_text("group", kRosterNs), "G");

  ASSERT_EQ(roster_set(alice, "<item jid='bob@localhost' subscription='remove'/>")->attr_or("type"),
            "result");
  EXPECT_TRUE(alice.expect(is_push_for("bob@localhost", "remove")));
  auto roster = get_roster(alice);
  ASSERT_TRUE(roster && query_of(*roster));
  EXPECT_FALSE(find_item(*query_of(*roster), "bob@localhost"));

  // Removing what is not there: item-not-found (§2.5.3).
  auto again = roster_set(alice, "<item jid='bob@localhost' subscription='remove'/>");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*again), "item-not-found");
}

TEST_F(Roster, JidsAreNormalised) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  ASSERT_EQ(roster_set(alice, "<item jid='Bob@LocalHost'/>")->attr_or("type"), "result");
  auto roster = get_roster(alice);
  ASSERT_TRUE(roster && query_of(*roster));
  EXPECT_TRUE(find_item(*query_of(*roster), "bob@localhost"));
}

TEST_F(Roster, VersioningReturnsAnEmptyResultWhenCurrent) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  auto first = get_roster(alice, " ver=''");
  ASSERT_TRUE(first && query_of(*first));
  ASSERT_TRUE(query_of(*first)->has_attr("ver"));
  const std::string v0 = query_of(*first)->attr_or("ver");

  // Same version: an empty result, no query (XEP-0237 §2.4).
  auto same = get_roster(alice, " ver='" + v0 + "'");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->attr_or("type"), "result");
  EXPECT_FALSE(query_of(*same));

  ASSERT_EQ(roster_set(alice, "<item jid='bob@localhost'/>")->attr_or("type"), "result");
  auto push = alice.expect(is_push_for("bob@localhost"));
  ASSERT_TRUE(push);
  const std::string v1 = push->child("query", kRosterNs)->attr_or("ver");
  EXPECT_FALSE(v1.empty());
  EXPECT_NE(v1, v0);

  // An old version: the whole roster with the new version.
  auto stale = get_roster(alice, " ver='" + v0 + "'");
  ASSERT_TRUE(stale && query_of(*stale));
  EXPECT_EQ(query_of(*stale)->attr_or("ver"), v1);
  EXPECT_TRUE(find_item(*query_of(*stale), "bob@localhost"));

  auto current = get_roster(alice, " ver='" + v1 + "'");
  ASSERT_TRUE(current);
  EXPECT_FALSE(query_of(*current));

  // An unchanged set changes nothing, not even the version.
  ASSERT_EQ(roster_set(alice, "<item jid='bob@localhost'/>")->attr_or("type"), "result");
  auto still = get_roster(alice, " ver='" + v1 + "'");
  ASSERT_TRUE(still);
  EXPECT_FALSE(query_of(*still));
}

TEST_F(Roster, StreamFeaturesAdvertiseVersioningAndPreApproval) {
  RawClient raw(server_.c2s_port());
  ASSERT_TRUE(raw.ok());
  raw.send(RawClient::stream_open());
  ASSERT_TRUE(raw.read_until("</stream:features>"));
  raw.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  ASSERT_TRUE(raw.read_until("<proceed"));
  ASSERT_TRUE(raw.start_tls());
  raw.clear();
  raw.send(RawClient::stream_open());
  ASSERT_TRUE(raw.read_until("</stream:features>"));
  raw.clear();
  // PLAIN: "\0alice\0wonderland"
  raw.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
           "AGFsaWNlAHdvbmRlcmxhbmQ=</auth>");
  ASSERT_TRUE(raw.read_until("<success"));
  raw.clear();
  raw.send(RawClient::stream_open());
  ASSERT_TRUE(raw.read_until("</stream:features>"));
  EXPECT_NE(raw.received().find("urn:xmpp:features:rosterver"), std::string::npos) << raw.received();
  EXPECT_NE(raw.received().find("urn:xmpp:features:pre-approval"), std::string::npos);
}

struct BadSet {
  const char* name;
  const char* query_body;
  const char* condition;
};

class RosterBadSet : public Roster, public ::testing::WithParamInterface<BadSet> {};

TEST_P(RosterBadSet, IsRefused) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(get_roster(alice));
  const std::string id = alice.next_id();
  auto r = alice.iq("<iq type='set' id='" + id + "'><query xmlns='jabber:iq:roster'>" +
                    GetParam().query_body + "</query></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*r), GetParam().condition);
  // Nothing was stored or pushed.
  EXPECT_TRUE(alice.nothing([](const xml::Element& el) {
    return el.name() == "iq" && el.attr_or("type") == "set";
  }, std::chrono::milliseconds(300)));
  auto roster = get_roster(alice);
  ASSERT_TRUE(roster && query_of(*roster));
  EXPECT_EQ(query_of(*roster)->element_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Rfc6121, RosterBadSet,
    ::testing::Values(
        BadSet{"TwoItems", "<item jid='bob@localhost'/><item jid='carol@localhost'/>", "bad-request"},
        BadSet{"NoItem", "", "bad-request"},
        BadSet{"NoJid", "<item name='x'/>", "bad-request"},
        BadSet{"MalformedJid", "<item jid='a@b@c'/>", "jid-malformed"},
        BadSet{"FullJid", "<item jid='bob@localhost/phone'/>", "bad-request"},
        BadSet{"OwnJid", "<item jid='alice@localhost'/>", "not-allowed"},
        BadSet{"DuplicateGroups", "<item jid='bob@localhost'><group>A</group><group>A</group></item>",
               "bad-request"},
        BadSet{"EmptyGroup", "<item jid='bob@localhost'><group/></item>", "not-acceptable"}),
    [](const ::testing::TestParamInfo<BadSet>& info) { return std::string(info.param.name); });

TEST_F(Roster, SubscriptionAttributeInASetIsIgnored) {
  // RFC 6121 §2.1.2.5: a client cannot grant itself a subscription; any value
  // but 'remove' is ignored.
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  ASSERT_TRUE(get_roster(alice));
  auto r = roster_set(alice, "<item jid='bob@localhost' subscription='both' ask='subscribe' approved='true'/>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "result");
  auto push = alice.expect(is_push_for("bob@localhost"));
  ASSERT_TRUE(push);
  EXPECT_EQ(push_item(*push)->attr_or("subscription"), "none");
  EXPECT_FALSE(push_item(*push)->has_attr("ask"));
  EXPECT_FALSE(push_item(*push)->has_attr("approved"));
}

TEST_F(Roster, AnotherUsersRosterIsForbidden) {
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  auto get = alice.iq("<iq type='get' id='g1' to='bob@localhost'><query xmlns='jabber:iq:roster'/></iq>");
  ASSERT_TRUE(get);
  EXPECT_EQ(error_condition(*get), "forbidden");
  auto set = alice.iq("<iq type='set' id='s1' to='bob@localhost'><query xmlns='jabber:iq:roster'>"
                      "<item jid='carol@localhost'/></query></iq>");
  ASSERT_TRUE(set);
  EXPECT_EQ(error_condition(*set), "forbidden");
}

TEST_F(Roster, RosterSurvivesRestart) {
  {
    XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
    ASSERT_TRUE(alice.connect());
    ASSERT_EQ(roster_set(alice, "<item jid='bob@localhost' name='Bob'><group>G</group></item>")
                  ->attr_or("type"),
              "result");
  }
  server_.restart();
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "a"});
  ASSERT_TRUE(alice.connect());
  auto roster = get_roster(alice);
  ASSERT_TRUE(roster && query_of(*roster));
  const xml::Element* item = find_item(*query_of(*roster), "bob@localhost");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->attr_or("name"), "Bob");
  EXPECT_EQ(item->child_text("group", kRosterNs), "G");
}

}  // namespace
}  // namespace parley::test

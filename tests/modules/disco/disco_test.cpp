// Service discovery (XEP-0030) and entity capabilities (XEP-0115) end to end.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "support/test_client.hpp"
#include "support/test_server.hpp"
#include "xmpp/disco.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley::test {
namespace {

constexpr const char* kInfo = "http://jabber.org/protocol/disco#info";
constexpr const char* kItems = "http://jabber.org/protocol/disco#items";

std::set<std::string> features_of(const xml::Element& query) {
  std::set<std::string> out;
  for (const xml::Element* f : query.children("feature", kInfo)) out.insert(f->attr_or("var"));
  return out;
}

// The stream features a client sees after authenticating (PLAIN over STARTTLS).
std::optional<xml::Element> authenticated_features(const TestServer& server, const std::string& user,
                                                   const std::string& password) {
  RawClient raw(server.c2s_port());
  if (!raw.ok()) return std::nullopt;
  raw.send(RawClient::stream_open());
  if (!raw.read_until("</stream:features>")) return std::nullopt;
  raw.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  if (!raw.read_until("<proceed") || !raw.start_tls()) return std::nullopt;
  raw.clear();
  raw.send(RawClient::stream_open());
  if (!raw.read_until("</stream:features>")) return std::nullopt;
  raw.clear();
  raw.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
           sasl::base64_encode(std::string("\0", 1) + user + std::string("\0", 1) + password) +
           "</auth>");
  if (!raw.read_until("<success")) return std::nullopt;
  raw.clear();
  raw.send(RawClient::stream_open());
  if (!raw.read_until("</stream:features>")) return std::nullopt;
  const std::string& in = raw.received();
  const size_t begin = in.find("<stream:features");
  const size_t end = in.find("</stream:features>");
  if (begin == std::string::npos) return std::nullopt;
  return parse_xml(in.substr(begin, end + std::string("</stream:features>").size() - begin));
}

class DiscoModule : public ::testing::Test {
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

TEST_F(DiscoModule, HostInfoListsIdentityAndModuleFeatures) {
  auto r = alice_.iq("<iq type='get' to='localhost' id='i1'><query xmlns='" + std::string(kInfo) + "'/></iq>");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  EXPECT_EQ(r->attr_or("from"), "localhost");
  const xml::Element* q = r->child("query", kInfo);
  ASSERT_NE(q, nullptr);
  bool server_identity = false;
  for (const xml::Element* id : q->children("identity", kInfo))
    if (id->attr_or("category") == "server" && id->attr_or("type") == "im" && id->attr_or("name") == "Parley")
      server_identity = true;
  EXPECT_TRUE(server_identity) << to_xml(*q);
  const auto features = features_of(*q);
  for (const char* f : {kInfo, kItems, "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time",
                        "vcard-temp", "jabber:iq:private", "jabber:iq:last", "jabber:iq:register",
                        "msgoffline"})
    EXPECT_TRUE(features.contains(f)) << f;
}

TEST_F(DiscoModule, HostItemsAnswersWithAList) {
  auto r = alice_.iq("<iq type='get' to='localhost' id='i2'><query xmlns='" + std::string(kItems) + "'/></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  EXPECT_NE(r->child("query", kItems), nullptr);
}

TEST_F(DiscoModule, UnknownNodeIsItemNotFound) {
  auto r = alice_.iq("<iq type='get' to='localhost' id='i3'><query xmlns='" + std::string(kInfo) +
                     "' node='urn:nothing:here'/></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*r), "item-not-found");
  auto items = alice_.iq("<iq type='get' to='localhost' id='i4'><query xmlns='" + std::string(kItems) +
                         "' node='urn:nothing:here'/></iq>");
  ASSERT_TRUE(items);
  EXPECT_EQ(error_condition(*items), "item-not-found");
}

TEST_F(DiscoModule, CapsInStreamFeaturesMatchesDiscoInfo) {
  auto features = authenticated_features(server_, "bob", "builder");
  ASSERT_TRUE(features);
  const xml::Element* c = features->child("c", "http://jabber.org/protocol/caps");
  ASSERT_NE(c, nullptr) << to_xml(*features);
  EXPECT_EQ(c->attr_or("hash"), "sha-1");
  EXPECT_EQ(c->attr_or("node"), "https://parley.im/caps");
  const std::string ver = c->attr_or("ver");
  ASSERT_FALSE(ver.empty());

  const std::string node = "https://parley.im/caps#" + ver;
  auto r = alice_.iq("<iq type='get' to='localhost' id='i5'><query xmlns='" + std::string(kInfo) +
                     "' node='" + node + "'/></iq>");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  const xml::Element* q = r->child("query", kInfo);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->attr_or("node"), node);
  // The verification string is the XEP-0115 hash of exactly what disco#info says.
  DiscoRegistry mirror;
  for (const xml::Element* id : q->children("identity", kInfo))
    mirror.add_identity({id->attr_or("category"), id->attr_or("type"), id->attr_or("name")});
  for (const auto& f : features_of(*q)) mirror.add_feature(f);
  EXPECT_EQ(mirror.caps_hash(), ver);
}

TEST_F(DiscoModule, AccountInfoForExistingAccount) {
  auto r = alice_.iq("<iq type='get' to='bob@localhost' id='i6'><query xmlns='" + std::string(kInfo) + "'/></iq>");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  EXPECT_EQ(r->attr_or("from"), "bob@localhost");
  const xml::Element* q = r->child("query", kInfo);
  ASSERT_NE(q, nullptr);
  const xml::Element* id = q->child("identity", kInfo);
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->attr_or("category"), "account");
  EXPECT_EQ(id->attr_or("type"), "registered");

  auto self = alice_.iq("<iq type='get' id='i7'><query xmlns='" + std::string(kInfo) + "'/></iq>");
  ASSERT_TRUE(self);
  EXPECT_EQ(self->attr_or("type"), "result") << to_xml(*self);
}

TEST_F(DiscoModule, AccountInfoForMissingAccountIsServiceUnavailable) {
  auto r = alice_.iq("<iq type='get' to='nobody@localhost' id='i8'><query xmlns='" + std::string(kInfo) + "'/></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*r), "service-unavailable");
  auto items = alice_.iq("<iq type='get' to='nobody@localhost' id='i9'><query xmlns='" + std::string(kItems) + "'/></iq>");
  ASSERT_TRUE(items);
  EXPECT_EQ(error_condition(*items), "service-unavailable");
}

TEST_F(DiscoModule, AccountItemsAnswersWithAList) {
  auto r = alice_.iq("<iq type='get' to='bob@localhost' id='i10'><query xmlns='" + std::string(kItems) + "'/></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "result") << to_xml(*r);
}

}  // namespace
}  // namespace parley::test

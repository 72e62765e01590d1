#include "modules/blocking/block_rules.hpp"

#include <gtest/gtest.h>

#include "xmpp/xml/fragment.hpp"

namespace parley::blocking {
namespace {

xml::Element parse(const std::string& text) {
  auto el = xml::parse_fragment(text);
  EXPECT_TRUE(el) << text;
  return *el;
}

Jid jid(const char* s) {
  return *Jid::parse(s);
}

TEST(BlockRules, MatchKeysFollowTheXep0016Order) {
  EXPECT_EQ(match_keys(jid("user@sub.example.com/res")),
            (std::vector<std::string>{"user@sub.example.com/res", "user@sub.example.com",
                                      "sub.example.com", "example.com", "com"}));
  EXPECT_EQ(match_keys(jid("user@example.com")),
            (std::vector<std::string>{"user@example.com", "example.com", "com"}));
  EXPECT_EQ(match_keys(jid("example.com/res")),
            (std::vector<std::string>{"example.com/res", "example.com", "com"}));
  EXPECT_EQ(match_keys(jid("localhost")), std::vector<std::string>{"localhost"});
}

TEST(BlockRules, Matching) {
  const std::set<std::string> list{"romeo@montague.net", "iago@shakespeare.lit/phone",
                                   "evil.example", "capulet.com/gateway"};
  EXPECT_TRUE(blocks(list, jid("romeo@montague.net")));
  EXPECT_TRUE(blocks(list, jid("romeo@montague.net/orchard")));
  EXPECT_FALSE(blocks(list, jid("juliet@montague.net")));
  EXPECT_TRUE(blocks(list, jid("iago@shakespeare.lit/phone")));
  EXPECT_FALSE(blocks(list, jid("iago@shakespeare.lit/laptop")));
  EXPECT_FALSE(blocks(list, jid("iago@shakespeare.lit")));
  EXPECT_TRUE(blocks(list, jid("evil.example")));
  EXPECT_TRUE(blocks(list, jid("anyone@evil.example/x")));
  EXPECT_TRUE(blocks(list, jid("muc.evil.example/nick")));
  EXPECT_FALSE(blocks(list, jid("notevil.example")));
  EXPECT_TRUE(blocks(list, jid("capulet.com/gateway")));
  EXPECT_FALSE(blocks(list, jid("user@capulet.com/gateway")));
  EXPECT_FALSE(blocks({}, jid("romeo@montague.net")));
}

TEST(BlockRules, ParseItemsNormalisesAndDeduplicates) {
  auto r = parse_items(parse("<block xmlns='urn:xmpp:blocking'><item jid='Romeo@Montague.NET'/>"
                             "<item jid='romeo@montague.net'/><item jid='evil.example'/></block>"),
                       true);
  auto* items = std::get_if<Items>(&r);
  ASSERT_NE(items, nullptr);
  EXPECT_EQ(items->jids, (std::vector<std::string>{"romeo@montague.net", "evil.example"}));
  EXPECT_TRUE(items->reports.empty());
}

TEST(BlockRules, ParseItemsRefusesBadItems) {
  auto condition = [](const std::string& xml) {
    auto r = parse_items(parse(xml), true);
    auto* e = std::get_if<StanzaError>(&r);
    return e ? e->condition : std::string("ok");
  };
  EXPECT_EQ(condition("<block xmlns='urn:xmpp:blocking'><item/></block>"), "bad-request");
  EXPECT_EQ(condition("<block xmlns='urn:xmpp:blocking'><item jid=''/></block>"), "bad-request");
  EXPECT_EQ(condition("<block xmlns='urn:xmpp:blocking'><item jid='a@b@c'/></block>"),
            "jid-malformed");
  EXPECT_EQ(condition("<block xmlns='urn:xmpp:blocking'><item jid='x@y/'/></block>"),
            "jid-malformed");
  EXPECT_EQ(condition("<block xmlns='urn:xmpp:blocking'><item jid='x@y'><report "
                      "xmlns='urn:xmpp:reporting:1'/></item></block>"),
            "bad-request");
  EXPECT_EQ(condition("<block xmlns='urn:xmpp:blocking'><item jid='x@y'><report "
                      "xmlns='urn:xmpp:reporting:1' reason='" +
                      std::string(kMaxReasonBytes + 1, 'r') + "'/></item></block>"),
            "bad-request");
  EXPECT_EQ(
      condition("<block xmlns='urn:xmpp:blocking'><item jid='x@y'><report "
                "xmlns='urn:xmpp:reporting:1' reason='urn:xmpp:reporting:spam'><text>" +
                std::string(kMaxReportTextBytes + 1, 't') + "</text></report></item></block>"),
      "bad-request");
}

TEST(BlockRules, ReportsAreReadFromBlockOnly) {
  const std::string xml =
      "<block xmlns='urn:xmpp:blocking'><item jid='spam@evil.example'><report "
      "xmlns='urn:xmpp:reporting:1' reason='urn:xmpp:reporting:spam'><text xml:lang='en'>Buy "
      "now</text></report></item><item jid='other@x.example'/></block>";
  auto r = parse_items(parse(xml), true);
  auto& items = std::get<Items>(r);
  ASSERT_EQ(items.reports.size(), 1u);
  EXPECT_EQ(items.reports[0].reported, "spam@evil.example");
  EXPECT_EQ(items.reports[0].reason, "urn:xmpp:reporting:spam");
  EXPECT_EQ(items.reports[0].text, "Buy now");
  EXPECT_TRUE(std::get<Items>(parse_items(parse(xml), false)).reports.empty());
}

TEST(BlockRules, BlockedErrorCarriesTheApplicationCondition) {
  StanzaError e = blocked_error();
  EXPECT_EQ(e.condition, "not-acceptable");
  ASSERT_TRUE(e.application);
  EXPECT_TRUE(e.application->is("blocked", kErrorsNs));
}

}  // namespace
}  // namespace parley::blocking

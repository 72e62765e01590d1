#include "modules/multicast/multicast_rules.hpp"

#include <gtest/gtest.h>

#include "xmpp/xml/fragment.hpp"

namespace parley::multicast {
namespace {

xml::Element parse(const std::string& text) {
  auto el = xml::parse_fragment("<wrapper xmlns='jabber:client'>" + text + "</wrapper>");
  return *el->element_children().front();
}

// A message from alice to the service with the given <address/> elements.
xml::Element multicast(const std::string& addresses, const std::string& kind = "message",
                       const std::string& type = "") {
  std::string out = "<" + kind + " from='alice@example.org/phone' to='example.org' id='m1'";
  if (!type.empty()) out += " type='" + type + "'";
  out += "><addresses xmlns='http://jabber.org/protocol/address'>";
  out += addresses;
  out += "</addresses><body>hello</body></" + kind + ">";
  return parse(out);
}

Policy local_policy(size_t max = 50) {
  return Policy{.max_recipients = max,
                .sender_is_local = true,
                .allow_remote = true,
                .is_local_domain = [](const std::string& d) { return d == "example.org"; }};
}

// The address elements of a copy as "type:jid:delivered" strings.
std::vector<std::string> addresses_of(const xml::Element& copy) {
  std::vector<std::string> out;
  for (const xml::Element* a : copy.child("addresses", kAddressNs)->children("address"))
    out.push_back(a->attr_or("type") + ":" + a->attr_or("jid") + ":" + a->attr_or("delivered"));
  return out;
}

TEST(MulticastRules, EveryToCcAndBccGetsItsOwnCopy) {
  Plan p = plan(multicast("<address type='to' jid='bob@example.org'/>"
                          "<address type='cc' jid='carol@example.org/laptop'/>"
                          "<address type='bcc' jid='dave@remote.net'/>"
                          "<address type='replyto' jid='alice@example.org'/>"),
                local_policy());
  ASSERT_FALSE(p.error);
  ASSERT_EQ(p.copies.size(), 3u);
  EXPECT_EQ(p.copies[0].to.str(), "bob@example.org");
  EXPECT_EQ(p.copies[1].to.str(), "carol@example.org/laptop");
  EXPECT_EQ(p.copies[2].to.str(), "dave@remote.net");
  for (const Copy& c : p.copies) {
    EXPECT_EQ(c.stanza.attr_or("to"), c.to.str());
    EXPECT_EQ(c.stanza.attr_or("from"), "alice@example.org/phone");  // never changed (§3)
    EXPECT_EQ(c.stanza.attr_or("id"), "m1");
    EXPECT_EQ(c.stanza.child_text("body"), "hello");
  }
  // The bcc recipient is hidden from the others and sees only its own address.
  const std::vector<std::string> shown = {
      "to:bob@example.org:true", "cc:carol@example.org/laptop:true", "replyto:alice@example.org:"};
  EXPECT_EQ(addresses_of(p.copies[0].stanza), shown);
  EXPECT_EQ(addresses_of(p.copies[1].stanza), shown);
  std::vector<std::string> with_own_bcc = shown;
  with_own_bcc.push_back("bcc:dave@remote.net:true");
  EXPECT_EQ(addresses_of(p.copies[2].stanza), with_own_bcc);
}

TEST(MulticastRules, DeliveredAddressesAreNotDeliveredAgain) {
  Plan p = plan(multicast("<address type='to' jid='bob@example.org' delivered='true'/>"
                          "<address type='cc' jid='carol@example.org'/>"),
                local_policy());
  ASSERT_FALSE(p.error);
  ASSERT_EQ(p.copies.size(), 1u);
  EXPECT_EQ(p.copies[0].to.str(), "carol@example.org");
  // A stanza whose addresses were all delivered loops no further.
  Plan looped = plan(p.copies[0].stanza, local_policy());
  EXPECT_FALSE(looped.error);
  EXPECT_TRUE(looped.copies.empty());
}

TEST(MulticastRules, DuplicateRecipientsGetOneCopy) {
  Plan p = plan(multicast("<address type='to' jid='bob@example.org'/>"
                          "<address type='cc' jid='Bob@EXAMPLE.org'/>"
                          "<address type='bcc' jid='bob@example.org'/>"),
                local_policy());
  ASSERT_FALSE(p.error);
  ASSERT_EQ(p.copies.size(), 1u);
  EXPECT_EQ(p.copies[0].to.str(), "bob@example.org");
}

TEST(MulticastRules, RecipientLimitCountsDistinctJids) {
  std::string ten;
  for (int i = 0; i < 10; ++i)
    ten += "<address type='to' jid='u" + std::to_string(i) + "@example.org'/>";
  EXPECT_FALSE(plan(multicast(ten), local_policy(10)).error);
  EXPECT_FALSE(
      plan(multicast(ten + "<address type='cc' jid='u0@example.org'/>"), local_policy(10)).error);
  Plan over = plan(multicast(ten + "<address type='cc' jid='u10@example.org'/>"), local_policy(10));
  ASSERT_TRUE(over.error);
  EXPECT_EQ(over.error->condition, "not-acceptable");
  EXPECT_TRUE(over.copies.empty());
}

TEST(MulticastRules, MalformedAddressesAreRefusedAsAWhole) {
  struct Case {
    std::string addresses, condition;
  } cases[] = {
      {"<address type='to' jid='bob@example.org'/><address type='to' jid='@bad'/>",
       "jid-malformed"},
      {"<address type='to' uri='sip:bob@example.org'/>", "jid-malformed"},
      {"<address type='to' jid='bob@example.org' uri='sip:bob@example.org'/>", "bad-request"},
      {"<address type='everyone' jid='bob@example.org'/>", "bad-request"},
      {"<address jid='bob@example.org'/>", "bad-request"},
      {"<address type='to'/>", "bad-request"},
      {"<address type='to' desc='no jid at all'/>", "bad-request"},
  };
  for (const Case& c : cases) {
    Plan p = plan(multicast(c.addresses), local_policy());
    ASSERT_TRUE(p.error) << c.addresses;
    EXPECT_EQ(p.error->condition, c.condition) << c.addresses;
    EXPECT_TRUE(p.copies.empty()) << c.addresses;
  }
  // noreply needs no address; desc alone is fine on it.
  EXPECT_FALSE(plan(multicast("<address type='noreply'/><address type='to' jid='b@example.org'/>"),
                    local_policy())
                   .error);
}

TEST(MulticastRules, TwoHeadersAreABadRequest) {
  xml::Element twice = multicast("<address type='to' jid='bob@example.org'/>");
  twice.add_child(*twice.child("addresses", kAddressNs));
  Plan p = plan(twice, local_policy());
  ASSERT_TRUE(p.error);
  EXPECT_EQ(p.error->condition, "bad-request");
}

TEST(MulticastRules, RelayingIsForbiddenForRemoteSendersAndWhenDisabled) {
  const std::string mixed =
      "<address type='to' jid='bob@example.org'/><address type='to' jid='eve@remote.net'/>";
  Policy remote_sender = local_policy();
  remote_sender.sender_is_local = false;
  // §2.2: nobody gets a copy, not even the local recipient.
  Plan p = plan(multicast(mixed), remote_sender);
  ASSERT_TRUE(p.error);
  EXPECT_EQ(p.error->condition, "forbidden");
  EXPECT_TRUE(p.copies.empty());
  // A remote server's multicast service may hand us its stanza for our users.
  EXPECT_FALSE(plan(multicast("<address type='to' jid='bob@example.org'/>"), remote_sender).error);

  Policy no_remote = local_policy();
  no_remote.allow_remote = false;
  Plan q = plan(multicast(mixed), no_remote);
  ASSERT_TRUE(q.error);
  EXPECT_EQ(q.error->condition, "forbidden");
}

TEST(MulticastRules, OnlyAvailableAndUnavailablePresenceIsMulticast) {
  const std::string to_bob = "<address type='bcc' jid='bob@example.org'/>";
  EXPECT_FALSE(plan(multicast(to_bob, "presence"), local_policy()).error);
  EXPECT_FALSE(plan(multicast(to_bob, "presence", "unavailable"), local_policy()).error);
  for (const char* type : {"subscribe", "subscribed", "probe"}) {
    Plan p = plan(multicast(to_bob, "presence", type), local_policy());
    ASSERT_TRUE(p.error) << type;
    EXPECT_EQ(p.error->condition, "not-acceptable") << type;
  }
}

}  // namespace
}  // namespace parley::multicast

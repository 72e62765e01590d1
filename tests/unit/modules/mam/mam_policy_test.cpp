// What the archive keeps, preferences, XEP-0082 dates and query parsing.
#include "modules/mam/mam_policy.hpp"

#include <gtest/gtest.h>

#include "modules/mam/mam_query.hpp"
#include "xmpp/xml/fragment.hpp"

namespace parley::mam {
namespace {

xml::Element parse(const std::string& text) {
  auto el = xml::parse_fragment(text);
  if (!el) throw std::runtime_error("bad test XML: " + text);
  return *el;
}

TEST(MamPolicy, ArchivesConversationMessagesOnly) {
  EXPECT_TRUE(
      is_archivable(parse("<message xmlns='jabber:client' type='chat'><body>x</body></message>")));
  EXPECT_TRUE(is_archivable(parse("<message xmlns='jabber:client'><body>x</body></message>")));
  for (const char* type : {"error", "headline", "groupchat"})
    EXPECT_FALSE(is_archivable(parse(std::string("<message xmlns='jabber:client' type='") + type +
                                     "'><body>x</body></message>")))
        << type;
  EXPECT_FALSE(
      is_archivable(parse("<message xmlns='jabber:client' type='chat'><body>x</body><no-store "
                          "xmlns='urn:xmpp:hints'/></message>")));
  EXPECT_FALSE(is_archivable(
      parse("<message xmlns='jabber:client' type='chat'><body>x</body><no-permanent-store "
            "xmlns='urn:xmpp:hints'/></message>")));
  EXPECT_FALSE(
      is_archivable(parse("<message xmlns='jabber:client' type='chat'><composing "
                          "xmlns='http://jabber.org/protocol/chatstates'/></message>")));
  for (const char* payload :
       {"<received xmlns='urn:xmpp:receipts' id='1'/>",
        "<displayed xmlns='urn:xmpp:chat-markers:0' id='1'/>",
        "<retract xmlns='urn:xmpp:message-retract:1' id='1'/>",
        "<reactions xmlns='urn:xmpp:reactions:0' id='1'/>", "<store xmlns='urn:xmpp:hints'/>",
        "<encrypted xmlns='urn:xmpp:omemo:2'/>"})
    EXPECT_TRUE(is_archivable(
        parse(std::string("<message xmlns='jabber:client' type='chat'>") + payload + "</message>")))
        << payload;
  // A receipt request alone, or a carbon, is not a conversation message.
  EXPECT_FALSE(
      is_archivable(parse("<message xmlns='jabber:client' type='chat'><request "
                          "xmlns='urn:xmpp:receipts'/></message>")));
}

TEST(MamPolicy, EncryptedBodiesAreNotSearchable) {
  EXPECT_EQ(
      searchable_text(parse("<message xmlns='jabber:client'><body>hi there</body></message>")),
      "hi there");
  EXPECT_EQ(searchable_text(parse("<message xmlns='jabber:client'><body>fallback</body><encrypted "
                                  "xmlns='eu.siacs.conversations.axolotl'/></message>")),
            "");
  EXPECT_EQ(searchable_text(parse("<message xmlns='jabber:client'><body>fallback</body><encrypted "
                                  "xmlns='urn:xmpp:omemo:2'/></message>")),
            "");
}

TEST(MamPolicy, StanzaIdsByOthersSurvive) {
  auto m = parse(
      "<message xmlns='jabber:client'><stanza-id xmlns='urn:xmpp:sid:0' by='a@x' id='1'/>"
      "<stanza-id xmlns='urn:xmpp:sid:0' by='room@muc.x' id='2'/></message>");
  strip_stanza_ids(m, "a@x");
  EXPECT_FALSE(stanza_id(m, "a@x"));
  EXPECT_EQ(stanza_id(m, "room@muc.x"), "2");
  add_stanza_id(m, "3", "a@x");
  EXPECT_EQ(stanza_id(m, "a@x"), "3");
}

TEST(MamPolicy, PreferencesDecide) {
  storage::ArchivePrefs p{"roster", {"a@x"}, {"b@x", "c@x/phone"}};
  EXPECT_EQ(decide(p, *Jid::parse("a@x/any")), Verdict::Archive);
  EXPECT_EQ(decide(p, *Jid::parse("b@x/any")), Verdict::Skip);
  EXPECT_EQ(decide(p, *Jid::parse("c@x/phone")), Verdict::Skip);
  EXPECT_EQ(decide(p, *Jid::parse("c@x/laptop")), Verdict::AskRoster);
  p.default_mode = "never";
  EXPECT_EQ(decide(p, *Jid::parse("d@x")), Verdict::Skip);
  p.default_mode = "always";
  EXPECT_EQ(decide(p, *Jid::parse("d@x")), Verdict::Archive);
  p.always.push_back("b@x");  // never wins
  EXPECT_EQ(decide(p, *Jid::parse("b@x")), Verdict::Skip);
}

TEST(MamPolicy, PrefsElementRoundTrip) {
  auto parsed = parse_prefs(
      parse("<prefs xmlns='urn:xmpp:mam:2' default='roster'><always><jid>A@X</jid></always>"
            "<never><jid>b@x</jid></never></prefs>"));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->always, std::vector<std::string>{"a@x"});  // normalised
  EXPECT_EQ(parse_prefs(prefs_element(*parsed)), parsed);
  EXPECT_FALSE(parse_prefs(parse("<prefs xmlns='urn:xmpp:mam:2' default='maybe'/>")));
  EXPECT_FALSE(
      parse_prefs(parse("<prefs xmlns='urn:xmpp:mam:2'><never><jid>@@</jid></never></prefs>")));
}

TEST(MamPolicy, Xep0082DateTimes) {
  using namespace std::chrono;
  const auto epoch = storage::Clock::from_time_t(0);
  EXPECT_EQ(parse_datetime("1970-01-01T00:00:00Z"), epoch);
  EXPECT_EQ(parse_datetime("1970-01-01T01:00:00.5+01:00"), epoch + milliseconds(500));
  EXPECT_EQ(parse_datetime("1969-12-31T23:30:00-00:30"), epoch);
  EXPECT_EQ(parse_datetime("2010-06-07T00:00:00.123456Z"),
            storage::Clock::from_time_t(1275868800) + microseconds(123456));
  EXPECT_EQ(parse_datetime("2999-01-01T00:00:00Z"), storage::Timestamp::max());
  EXPECT_EQ(parse_datetime("1000-01-01T00:00:00Z"), storage::Timestamp::min());
  for (const char* bad : {"", "2010-06-07", "2010-06-07T00:00:00", "2010-13-07T00:00:00Z",
                          "2010-06-07T00:00:00.Z", "2010-06-07T00:00:00Zjunk", "yesterday"})
    EXPECT_FALSE(parse_datetime(bad)) << bad;
}

TEST(MamQuery, FormAndRsmParsing) {
  PageLimits limits{10, 100};
  auto q = parse_query(
      parse("<query xmlns='urn:xmpp:mam:2' queryid='f1'><x xmlns='jabber:x:data' type='submit'>"
            "<field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field>"
            "<field var='with'><value>Juliet@Capulet.lit/balcony</value></field>"
            "<field var='{urn:xmpp:fulltext:0}fulltext'><value>hello</value></field></x>"
            "<set xmlns='http://jabber.org/protocol/rsm'><max>1000</max><before/></set>"
            "<flip-page/></query>"),
      limits);
  ASSERT_TRUE(std::holds_alternative<ParsedQuery>(q));
  const auto& p = std::get<ParsedQuery>(q);
  EXPECT_EQ(p.queryid, "f1");
  EXPECT_TRUE(p.flip);
  EXPECT_EQ(p.query.with_bare, "juliet@capulet.lit");
  EXPECT_EQ(p.query.with_resource, "balcony");
  EXPECT_EQ(p.query.fulltext, "hello");
  EXPECT_EQ(p.query.max, 100u);  // the server's limit
  EXPECT_EQ(p.query.page_before, "");
  EXPECT_EQ(std::get<ParsedQuery>(parse_query(parse("<query xmlns='urn:xmpp:mam:2'/>"), limits))
                .query.max,
            10u);

  auto error = [&](const std::string& xml) {
    auto r = parse_query(parse(xml), limits);
    return std::holds_alternative<StanzaError>(r) ? std::get<StanzaError>(r).condition : "";
  };
  EXPECT_EQ(error("<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data'><field var='x-new'>"
                  "<value>1</value></field></x></query>"),
            "feature-not-implemented");
  EXPECT_EQ(error("<query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'>"
                  "<index>3</index></set></query>"),
            "feature-not-implemented");
  EXPECT_EQ(error("<query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'>"
                  "<max>-1</max></set></query>"),
            "bad-request");
  EXPECT_EQ(error("<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data'><field var='FORM_TYPE'>"
                  "<value>urn:xmpp:mam:1</value></field></x></query>"),
            "bad-request");
}

}  // namespace
}  // namespace parley::mam

#include "xmpp/jid.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "xmpp/sasl/precis.hpp"

// Full (no ASCII fast path) preparation, defined in jid.cpp for these tests.
namespace parley::jid_detail {
std::optional<std::string> prep_local_full(std::string_view local);
std::optional<std::string> prep_domain_full(std::string_view domain);
std::optional<std::string> prep_resource_full(std::string_view resource);
}  // namespace parley::jid_detail

namespace parley {
namespace {

using namespace std::string_literals;

std::string parts(const std::optional<Jid>& j) {
  if (!j) return "<invalid>";
  return "[" + j->local() + "][" + j->domain() + "][" + j->resource() + "]";
}

// ---------------------------------------------------------------------------
// RFC 7622 §3.5 examples

struct Case {
  const char* input;
  const char* local;
  const char* domain;
  const char* resource;
};

TEST(Jid, Rfc7622ValidExamples) {
  const Case cases[] = {
      {"juliet@example.com", "juliet", "example.com", ""},
      {"juliet@example.com/foo", "juliet", "example.com", "foo"},
      {"juliet@example.com/foo bar", "juliet", "example.com", "foo bar"},
      {"juliet@example.com/foo@bar", "juliet", "example.com", "foo@bar"},
      {"foo\\20bar@example.com", "foo\\20bar", "example.com", ""},
      {"fussball@example.com", "fussball", "example.com", ""},
      {"fu\xC3\x9F"
       "ball@example.com",
       "fu\xC3\x9F"
       "ball",
       "example.com", ""},                                                       // ß kept
      {"\xCF\x80@example.com", "\xCF\x80", "example.com", ""},                   // π
      {"\xCE\xA3@example.com/foo", "\xCF\x83", "example.com", "foo"},            // Σ -> σ
      {"\xCF\x83@example.com/foo", "\xCF\x83", "example.com", "foo"},            // σ
      {"\xCF\x82@example.com/foo", "\xCF\x82", "example.com", "foo"},            // ς kept
      {"king@example.com/\xE2\x99\x9A", "king", "example.com", "\xE2\x99\x9A"},  // ♚
      {"example.com", "", "example.com", ""},
      {"example.com/foobar", "", "example.com", "foobar"},
      {"a.example.com/b@example.net", "", "a.example.com", "b@example.net"},
      // Erratum 4560: a leading space is allowed in a resourcepart.
      {"juliet@example.com/ foo", "juliet", "example.com", " foo"},
  };
  for (const auto& c : cases) {
    const auto j = Jid::parse(c.input);
    ASSERT_TRUE(j) << c.input;
    EXPECT_EQ(j->local(), c.local) << c.input;
    EXPECT_EQ(j->domain(), c.domain) << c.input;
    EXPECT_EQ(j->resource(), c.resource) << c.input;
  }
}

TEST(Jid, Rfc7622InvalidExamples) {
  const char* cases[] = {
      "\"juliet\"@example.com",         // quotation marks in localpart
      "foo bar@example.com",            // space in localpart
      "juliet@example.com/",            // empty resourcepart
      "@example.com/",                  // empty localpart and resourcepart
      "henry\xE2\x85\xA3@example.com",  // U+2163 ROMAN NUMERAL FOUR (compatibility)
      "\xE2\x99\x9A@example.com",       // U+265A BLACK CHESS KING (symbol)
      "juliet@",                        // empty domainpart
      "/foobar",                        // empty domainpart
  };
  for (const char* c : cases) EXPECT_FALSE(Jid::parse(c)) << c;
}

// ---------------------------------------------------------------------------
// Structure

TEST(Jid, SplitsAtFirstSlashThenFirstAt) {
  auto j = Jid::parse("user@host/res@with/slashes");
  ASSERT_TRUE(j);
  EXPECT_EQ(parts(j), "[user][host][res@with/slashes]");
  j = Jid::parse("host/user@else");
  EXPECT_EQ(parts(j), "[][host][user@else]");
  EXPECT_FALSE(Jid::parse("a@b@example.com"));  // domain "b@example.com"
  EXPECT_FALSE(Jid::parse("user@@host"));
}

TEST(Jid, EmptyPartsAreInvalid) {
  for (const char* s : {"", "@", "/", "@/", "@example.com", "example.com/", "user@/res", "user@",
                        "@/res", "user@example.com/"}) {
    EXPECT_FALSE(Jid::parse(s)) << '"' << s << '"';
  }
}

TEST(Jid, NulAndInvalidUtf8AreInvalid) {
  EXPECT_FALSE(Jid::parse("ju\0liet@example.com"s));
  EXPECT_FALSE(Jid::parse("juliet@exam\0ple.com"s));
  EXPECT_FALSE(Jid::parse("juliet@example.com\0"s));
  EXPECT_FALSE(Jid::parse("juliet@example.com/r\0es"s));
  const std::string bad[] = {"\xFF", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                             "\xC3", "\x80"};
  for (const auto& b : bad) {
    EXPECT_FALSE(Jid::parse(b + "@example.com")) << "local";
    EXPECT_FALSE(Jid::parse("user@" + b + ".example.com")) << "domain";
    EXPECT_FALSE(Jid::parse("user@example.com/" + b)) << "resource";
    EXPECT_FALSE(precis::is_valid_utf8(b));
  }
  EXPECT_TRUE(precis::is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(Jid, Accessors) {
  const auto full = Jid::parse("Juliet@Example.COM/Balcony");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->local(), "juliet");
  EXPECT_EQ(full->domain(), "example.com");
  EXPECT_EQ(full->resource(), "Balcony");  // resources are case-sensitive
  EXPECT_TRUE(full->is_full());
  EXPECT_FALSE(full->is_bare());
  EXPECT_FALSE(full->is_domain());
  EXPECT_FALSE(full->empty());
  EXPECT_EQ(full->str(), "juliet@example.com/Balcony");
  EXPECT_EQ(full->bare_str(), "juliet@example.com");

  const Jid bare = full->bare();
  EXPECT_TRUE(bare.is_bare());
  EXPECT_EQ(bare.str(), "juliet@example.com");
  EXPECT_EQ(bare, *Jid::parse("juliet@example.com"));

  const Jid again = bare.with_resource("Balcony");
  EXPECT_EQ(again, *full);
  EXPECT_EQ(bare.with_resource(""), bare);

  const auto domain = Jid::parse("example.com");
  ASSERT_TRUE(domain);
  EXPECT_TRUE(domain->is_domain());
  EXPECT_TRUE(domain->is_bare());
  EXPECT_EQ(domain->str(), "example.com");
  EXPECT_EQ(domain->bare_str(), "example.com");
  const auto domain_res = Jid::parse("example.com/x");
  EXPECT_FALSE(domain_res->is_domain());
  EXPECT_EQ(domain_res->bare_str(), "example.com");

  const Jid empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.str(), "");
}

TEST(Jid, Make) {
  auto j = Jid::make("Juliet", "EXAMPLE.com", "Balcony");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->str(), "juliet@example.com/Balcony");
  j = Jid::make("", "example.com");
  ASSERT_TRUE(j);
  EXPECT_TRUE(j->is_domain());
  EXPECT_FALSE(Jid::make("juliet", ""));
  EXPECT_FALSE(Jid::make("a@b", "example.com"));
  EXPECT_FALSE(Jid::make("a/b", "example.com"));
  EXPECT_FALSE(Jid::make("juliet", "example.com", "\t"));
  // Parts are not re-split: '/' and '@' are fine in a resource.
  j = Jid::make("juliet", "example.com", "a/b@c");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->resource(), "a/b@c");
  EXPECT_EQ(Jid::parse(j->str()), j);
}

TEST(Jid, EqualityOrderingAndHash) {
  const auto a = Jid::parse("JULIET@example.com/r");
  const auto b = Jid::parse("juliet@EXAMPLE.COM./r");
  const auto c = Jid::parse("juliet@example.com/R");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_EQ(std::hash<Jid>{}(*a), std::hash<Jid>{}(*b));
  EXPECT_TRUE(*c < *a || *a < *c);
  std::unordered_set<Jid> set{*a, *b, *c};
  EXPECT_EQ(set.size(), 2u);
}

TEST(Jid, LengthLimits) {
  const std::string max(1023, 'a');
  const std::string over(1024, 'a');
  EXPECT_TRUE(Jid::parse(max + "@example.com"));
  EXPECT_FALSE(Jid::parse(over + "@example.com"));
  EXPECT_TRUE(Jid::parse("a@example.com/" + max));
  EXPECT_FALSE(Jid::parse("a@example.com/" + over));
  // 1023 bytes counted after preparation: 341 fullwidth letters (3 bytes each)
  // become 341 ASCII bytes.
  std::string fullwidth;
  for (int i = 0; i < 400; ++i) fullwidth += "\xEF\xBC\xA1";  // U+FF21 FULLWIDTH A
  const auto j = Jid::parse(fullwidth + "@example.com");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->local(), std::string(400, 'a'));
  // 2-byte characters: 511 fit, 512 do not.
  std::string greek511, greek512;
  for (int i = 0; i < 511; ++i) greek511 += "\xCE\xB1";
  greek512 = greek511 + "\xCE\xB1";
  EXPECT_TRUE(Jid::prep_local(greek511));
  EXPECT_FALSE(Jid::prep_local(greek512));
  EXPECT_FALSE(Jid::prep_local(std::string(100000, 'a')));
}

// ---------------------------------------------------------------------------
// Localpart: UsernameCaseMapped

TEST(JidLocal, CaseMappingAndWidthMapping) {
  EXPECT_EQ(Jid::prep_local("JuLiEt"), "juliet");
  EXPECT_EQ(Jid::prep_local("\xEF\xBC\xAA\xEF\xBD\x95\xEF\xBD\x8C"), "jul");  // Ｊｕｌ fullwidth
  EXPECT_EQ(Jid::prep_local("\xCE\x9A\xCE\x91\xCE\xA3"), "\xCE\xBA\xCE\xB1\xCF\x82");  // ΚΑΣ -> κας
  EXPECT_EQ(Jid::prep_local("\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0"),
            "\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0");  // Москва -> москва
  // Halfwidth katakana KA + halfwidth voiced mark -> GA (width mapping then NFC).
  EXPECT_EQ(Jid::prep_local("\xEF\xBD\xB6\xEF\xBE\x9E"), "\xE3\x82\xAC");
  // NFC: e + COMBINING ACUTE == é
  EXPECT_EQ(Jid::prep_local("e\xCC\x81"), "\xC3\xA9");
  EXPECT_EQ(Jid::prep_local("\xC3\x89"), "\xC3\xA9");  // É -> é
  // Distinct identities stay distinct.
  EXPECT_NE(Jid::prep_local("fu\xC3\x9F"
                            "ball"),
            Jid::prep_local("fussball"));
  EXPECT_NE(Jid::prep_local("\xCF\x82"), Jid::prep_local("\xCF\x83"));
}

TEST(JidLocal, CompatibilityCharactersAreRejectedNotFolded) {
  // The Spotify bug: NFKC would turn ᴮᴵᴳᴮᴵᴿᴰ into "bigbird".
  const std::string bigbird =
      "\xE1\xB4\xAE\xE1\xB4\xB5\xE1\xB4\xB3\xE1\xB4\xAE\xE1\xB4\xB5\xE1\xB4\xBF\xE1\xB4\xB0";
  const auto p = Jid::prep_local(bigbird);
  EXPECT_NE(p, std::optional<std::string>("bigbird"));
  EXPECT_FALSE(p);
  EXPECT_FALSE(Jid::parse(bigbird + "@example.com"));
  EXPECT_FALSE(Jid::prep_local("\xEF\xAC\x80"));    // ﬀ
  EXPECT_FALSE(Jid::prep_local("\xEF\xAC\x81sh"));  // ﬁsh
  EXPECT_FALSE(Jid::prep_local("\xE2\x91\xA0"));    // ①
  EXPECT_FALSE(Jid::prep_local("x\xC2\xB2"));       // superscript two
  EXPECT_FALSE(Jid::prep_local("\xE2\x84\xA2"));    // ™
  EXPECT_FALSE(Jid::prep_local("\xE2\x85\xA3"));    // Ⅳ
}

TEST(JidLocal, DisallowedCharacters) {
  for (const char* s : {"a b",
                        "a\tb",
                        "a\x7F",
                        "\"",
                        "&",
                        "'",
                        "/",
                        ":",
                        "<",
                        ">",
                        "@",
                        "\xE2\x99\x9A",  // ♚ symbol
                        "\xE2\x82\xAC",  // € symbol
                        "a\xC2\xA0"
                        "b",  // NBSP
                        "a\xE3\x80\x80"
                        "b",  // ideographic space (width-mapped to SP)
                        "a\xE2\x80\x8B"
                        "b",  // ZERO WIDTH SPACE (ignorable)
                        "a\xC2\xAD"
                        "b",  // SOFT HYPHEN (ignorable)
                        "a\xE2\x80\x8D"
                        "b",             // ZWJ without virama
                        "\xEF\xBF\xBF",  // noncharacter
                        "\xCD\xB8",      // U+0378 unassigned
                        "\xEE\x80\x80",  // private use
                        "\xE1\x84\x80",  // U+1100 old Hangul jamo
                        "a\xC2\xB7"
                        "b",                // middle dot outside l·l
                        "\xD9\x80",         // U+0640 ARABIC TATWEEL (exception)
                        "\xEF\xBC\xA0"}) {  // FULLWIDTH @ maps to '@'
    EXPECT_FALSE(Jid::prep_local(s)) << s;
  }
  // ASCII punctuation other than the RFC 7622 exclusions is allowed.
  EXPECT_EQ(Jid::prep_local("a.b_c-d+e!#$%*=?^`{|}~\\"), "a.b_c-d+e!#$%*=?^`{|}~\\");
}

TEST(JidLocal, ContextRules) {
  EXPECT_EQ(Jid::prep_local("l\xC2\xB7l"), "l\xC2\xB7l");  // Catalan l·l
  // ZWNJ after a virama (Devanagari KA + VIRAMA + ZWNJ + SSA).
  EXPECT_TRUE(Jid::prep_local("\xE0\xA4\x95\xE0\xA5\x8D\xE2\x80\x8C\xE0\xA4\xB7"));
  // Greek keraia before a Greek letter, not before a Latin one.
  EXPECT_TRUE(Jid::prep_local("\xCD\xB5\xCE\xB1"));
  EXPECT_FALSE(
      Jid::prep_local("\xCD\xB5"
                      "a"));
  // Katakana middle dot needs Japanese script nearby.
  EXPECT_TRUE(Jid::prep_local("\xE3\x82\xA2\xE3\x83\xBB\xE3\x82\xA4"));
  EXPECT_FALSE(
      Jid::prep_local("a\xE3\x83\xBB"
                      "b"));
  // Arabic-Indic and extended Arabic-Indic digits may not mix.
  EXPECT_FALSE(Jid::prep_local("\xD8\xA8\xD9\xA1\xDB\xB1"));
}

TEST(JidLocal, BidiRule) {
  EXPECT_TRUE(Jid::prep_local("\xD7\x90\xD7\x91"));                  // אב
  EXPECT_TRUE(Jid::prep_local("\xD8\xB3\xD9\x84\xD8\xA7\xD9\x85"));  // سلام
  EXPECT_FALSE(Jid::prep_local("a\xD7\x90"));                        // LTR then RTL
  EXPECT_FALSE(
      Jid::prep_local("\xD7\x90"
                      "a"));                   // RTL then LTR
  EXPECT_FALSE(Jid::prep_local("1\xD7\x90"));  // starts with a digit
  EXPECT_TRUE(
      Jid::prep_local("\xD7\x90"
                      "1"));  // RTL ending in EN
}

// ---------------------------------------------------------------------------
// Resourcepart: OpaqueString

TEST(JidResource, OpaqueString) {
  EXPECT_EQ(Jid::prep_resource("Balcony"), "Balcony");
  EXPECT_EQ(Jid::prep_resource(" spaced out "), " spaced out ");
  EXPECT_EQ(Jid::prep_resource("a\xC2\xA0"
                               "b"),
            "a b");  // NBSP -> SP
  EXPECT_EQ(Jid::prep_resource("a\xE3\x80\x80"
                               "b"),
            "a b");                                               // ideographic space -> SP
  EXPECT_EQ(Jid::prep_resource("e\xCC\x81"), "\xC3\xA9");         // NFC
  EXPECT_EQ(Jid::prep_resource("\xEF\xAC\x80"), "\xEF\xAC\x80");  // ﬀ kept
  EXPECT_EQ(Jid::prep_resource("\xEF\xBC\xA1"), "\xEF\xBC\xA1");  // fullwidth kept
  EXPECT_EQ(Jid::prep_resource("\xE2\x99\x9A \xF0\x9F\x8D\xBA"), "\xE2\x99\x9A \xF0\x9F\x8D\xBA");
  EXPECT_EQ(Jid::prep_resource("\xCE\xA3"), "\xCE\xA3");             // no case mapping
  for (const char* s : {"a\tb", "a\nb", "\x01", "\x7F", "\xC2\x85",  // controls
                        "\xCD\xB8",                                  // unassigned
                        "\xEE\x80\x80",                              // private use
                        "a\xE2\x80\x8B"
                        "b",             // ZWSP
                        "\xEF\xBF\xBE",  // noncharacter
                        "a\xE2\x80\xA8"
                        "b"}) {  // LINE SEPARATOR
    EXPECT_FALSE(Jid::prep_resource(s)) << s;
  }
}

// ---------------------------------------------------------------------------
// Domainpart

TEST(JidDomain, AsciiAndTrailingDot) {
  EXPECT_EQ(Jid::prep_domain("Example.COM"), "example.com");
  EXPECT_EQ(Jid::prep_domain("example.com."), "example.com");
  EXPECT_EQ(Jid::prep_domain("localhost"), "localhost");
  EXPECT_EQ(Jid::prep_domain("a-b.c0.example"), "a-b.c0.example");
  EXPECT_FALSE(Jid::prep_domain("example.com.."));
  EXPECT_FALSE(Jid::prep_domain("."));
  EXPECT_FALSE(Jid::prep_domain("a..b"));
  EXPECT_FALSE(Jid::prep_domain(".example.com"));
  EXPECT_FALSE(Jid::prep_domain("-a.example"));
  EXPECT_FALSE(Jid::prep_domain("a-.example"));
  EXPECT_FALSE(Jid::prep_domain("ab--cd.example"));  // reserved R-LDH
  EXPECT_FALSE(Jid::prep_domain("under_score.example"));
  EXPECT_FALSE(Jid::prep_domain("sp ace.example"));
  EXPECT_FALSE(Jid::prep_domain("a*b.example"));
  EXPECT_FALSE(Jid::prep_domain("host:5222"));
  EXPECT_FALSE(Jid::prep_domain("\xE2\x98\x83.example"));  // ☃ is DISALLOWED in IDNA2008
  const std::string label63(63, 'a');
  EXPECT_TRUE(Jid::prep_domain(label63 + ".example"));
  EXPECT_FALSE(Jid::prep_domain(label63 + "a.example"));
  std::string long_name;
  while (long_name.size() < 250) long_name += "abcdefghi.";
  long_name += "com";  // 253 octets: the DNS maximum
  EXPECT_TRUE(Jid::prep_domain(long_name));
  EXPECT_TRUE(Jid::prep_domain(long_name + "."));
  EXPECT_FALSE(Jid::prep_domain("x" + long_name));
}

TEST(JidDomain, IpLiterals) {
  EXPECT_EQ(Jid::prep_domain("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(Jid::prep_domain("192.0.2.1."), "192.0.2.1");
  EXPECT_FALSE(Jid::prep_domain("192.0.2.256"));
  EXPECT_FALSE(Jid::prep_domain("192.0.2"));
  EXPECT_FALSE(Jid::prep_domain("192.0.02.1"));
  EXPECT_FALSE(Jid::prep_domain("123"));  // an all-numeric final label is not a host name
  EXPECT_EQ(Jid::prep_domain("[::1]"), "[::1]");
  EXPECT_EQ(Jid::prep_domain("[2001:DB8:0:0::1]"), "[2001:db8::1]");
  EXPECT_FALSE(Jid::prep_domain("[127.0.0.1]"));
  EXPECT_FALSE(Jid::prep_domain("[::1"));
  EXPECT_FALSE(Jid::prep_domain("::1]"));
  EXPECT_FALSE(Jid::prep_domain("::1"));
  EXPECT_FALSE(Jid::prep_domain("[fe80::1%eth0]"));
  EXPECT_FALSE(Jid::prep_domain("[::1]."));
  const auto j = Jid::parse("user@[2001:db8::1]/res");
  ASSERT_TRUE(j);
  EXPECT_EQ(parts(j), "[user][[2001:db8::1]][res]");
}

TEST(JidDomain, Idna) {
  const std::string buecher =
      "b\xC3\xBC"
      "cher.example";
  EXPECT_EQ(Jid::prep_domain(buecher), buecher);
  EXPECT_EQ(Jid::prep_domain("B\xC3\x9C"
                             "CHER.example"),
            buecher);                                             // upper case mapped
  EXPECT_EQ(Jid::prep_domain("xn--bcher-kva.example"), buecher);  // A-label -> U-label
  EXPECT_EQ(Jid::prep_domain("XN--BCHER-KVA.EXAMPLE"), buecher);
  EXPECT_EQ(Jid::prep_domain("bu\xCC\x88"
                             "cher.example"),
            buecher);                                                       // NFC
  EXPECT_EQ(Jid::prep_domain("fa\xC3\x9F.example"), "fa\xC3\x9F.example");  // non-transitional
  // Fullwidth letters and the ideographic full stop.
  EXPECT_EQ(Jid::prep_domain("\xEF\xBD\x85\xEF\xBD\x98\xE3\x80\x82"
                             "com"),
            "ex.com");
  EXPECT_EQ(Jid::prep_domain("example.com\xE3\x80\x82"), "example.com");
  EXPECT_FALSE(Jid::prep_domain("example.com.\xE3\x80\x82"));
  EXPECT_EQ(Jid::prep_domain("\xD0\xBF\xD1\x80\xD0\xB8\xD0\xBC\xD0\xB5\xD1\x80.\xD1\x80\xD1\x84"),
            "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xBC\xD0\xB5\xD1\x80.\xD1\x80\xD1\x84");  // пример.рф
  EXPECT_FALSE(Jid::prep_domain("xn--abc.example"));  // invalid A-label
  EXPECT_FALSE(Jid::prep_domain("xn--.example"));
  EXPECT_FALSE(
      Jid::prep_domain("a\xE2\x80\x8D"
                       "b.example"));  // ZWJ
  const auto a = Jid::parse("user@xn--bcher-kva.example");
  const auto b = Jid::parse(
      "user@B\xC3\x9C"
      "CHER.example.");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
}

// ---------------------------------------------------------------------------
// Properties: idempotence and fast path == full path

std::vector<std::string> corpus() {
  std::vector<std::string> v = {
      "juliet",
      "JULIET",
      "JuLiEt",
      "example.com",
      "Example.COM.",
      "a",
      "A1-b_c",
      "foo bar",
      " lead",
      "trail ",
      "x@y",
      "a/b",
      "\\20",
      "l\xC2\xB7l",
      "\xEF\xBC\xAA\xEF\xBD\x95\xEF\xBD\x8C\xEF\xBD\x89\xEF\xBD\x85\xEF\xBD\x94",  // Ｊｕｌｉｅｔ
      "\xCE\x9A\xCE\x91\xCE\xA3",
      "\xCE\xA3\xCE\xA3",
      "\xCF\x82",
      "\xCE\xB0",
      "\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0",
      "\xE1\xB4\xAE\xE1\xB4\xB5\xE1\xB4\xB3\xE1\xB4\xAE\xE1\xB4\xB5\xE1\xB4\xBF\xE1\xB4\xB0",
      "\xEF\xAC\x80",
      "\xE2\x84\xAA",
      "\xE2\x84\xA6",
      "\xC4\xB0",
      "\xC3\x9F",
      "\xE1\xBA\x9E",
      "\xEF\xBD\xB6\xEF\xBE\x9E",
      "e\xCC\x81",
      "\xC3\xA9",
      "\xE1\xBE\x88",
      "\xCD\x85",
      "\xD7\x90\xD7\x91",
      "\xD8\xB3\xD9\x84\xD8\xA7\xD9\x85",
      "\xE2\x99\x9A",
      "\xF0\x9F\x8D\xBA",
      "\xE3\x80\x80",
      "a\xC2\xA0"
      "b",
      "xn--bcher-kva",
      "B\xC3\x9C"
      "CHER.de",
      "\xEF\xBD\x85\xEF\xBD\x98\xE3\x80\x82"
      "com",
      "192.0.2.1",
      "[::1]",
      "\xE2\x85\xA3",
      "\xE2\x91\xA0",
      "\xE3\x82\xAB",
      "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4",
      "\xE4\xB8\xAD\xE6\x96\x87",
  };
  return v;
}

template <typename F>
void expect_idempotent(F prep, const std::string& s, const char* what) {
  const auto once = prep(s);
  if (!once) return;
  const auto twice = prep(*once);
  ASSERT_TRUE(twice) << what << ": prep(prep(x)) invalid for " << s << " -> " << *once;
  EXPECT_EQ(*twice, *once) << what << ": not idempotent for " << s;
}

// Random strings over a pool of interesting code points (deterministic seed).
std::vector<std::string> random_strings(size_t count, uint32_t seed) {
  static const char* pool[] = {
      "a",
      "Z",
      "0",
      "9",
      "-",
      ".",
      "_",
      " ",
      "@",
      "/",
      "\\",
      "!",
      "~",
      "\xEF\xBC\xA1",
      "\xEF\xBD\x9A",
      "\xEF\xBC\x90",
      "\xEF\xBD\xB6",
      "\xEF\xBE\x9E",  // width
      "\xCE\xA3",
      "\xCF\x83",
      "\xCF\x82",
      "\xCE\x91",
      "\xCE\xAC",
      "\xCD\x85",  // Greek
      "\xD0\x96",
      "\xD0\xB6",
      "\xD0\x81",  // Cyrillic
      "\xCC\x81",
      "\xCC\x88",
      "\xCC\xA3",  // marks
      "\xE1\xB4\xAE",
      "\xEF\xAC\x80",
      "\xE2\x84\xAA",
      "\xE2\x84\xA6",
      "\xC2\xB2",  // compat
      "\xC4\xB0",
      "\xC3\x9F",
      "\xE1\xBA\x9E",
      "\xC7\x85",  // case oddities
      "\xC2\xA0",
      "\xE3\x80\x80",
      "\xE3\x80\x82",  // spaces, dot
      "\xD7\x90",
      "\xD8\xA8",
      "\xD9\xA1",  // RTL
      "\xE2\x80\x8C",
      "\xE2\x80\x8D",
      "\xC2\xB7",  // context
      "\xE3\x82\xAB",
      "\xE4\xB8\xAD",
      "\xF0\x9F\x8D\xBA",  // CJK, emoji
  };
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> len(1, 8);
  std::uniform_int_distribution<size_t> pick(0, std::size(pool) - 1);
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string s;
    for (size_t n = len(rng); n > 0; --n) s += pool[pick(rng)];
    out.push_back(std::move(s));
  }
  return out;
}

TEST(JidProperty, PreparationIsIdempotent) {
  auto inputs = corpus();
  for (auto& s : random_strings(3000, 7622)) inputs.push_back(std::move(s));
  size_t valid_local = 0;
  for (const auto& s : inputs) {
    expect_idempotent(Jid::prep_local, s, "local");
    expect_idempotent(Jid::prep_resource, s, "resource");
    expect_idempotent(Jid::prep_domain, s, "domain");
    expect_idempotent(precis::username_case_mapped, s, "UsernameCaseMapped");
    expect_idempotent(precis::opaque_string, s, "OpaqueString");
    if (Jid::prep_local(s)) ++valid_local;
    // Whole JIDs: parse(str()) is the identity on parsed JIDs.
    if (const auto j = Jid::parse(s + "@" + s + ".example/" + s)) {
      const auto again = Jid::parse(j->str());
      ASSERT_TRUE(again) << j->str();
      EXPECT_EQ(*again, *j);
    }
  }
  EXPECT_GT(valid_local, 100u);  // the property was exercised on valid input
}

TEST(JidProperty, FastPathMatchesFullPath) {
  // Every printable ASCII character, alone and in random strings.
  std::vector<std::string> inputs = corpus();
  for (int c = 0x20; c <= 0x7E; ++c) {
    inputs.emplace_back(1, static_cast<char>(c));
    inputs.push_back("a" + std::string(1, static_cast<char>(c)) + "B");
  }
  std::mt19937 rng(5802);
  std::uniform_int_distribution<int> ch(0x20, 0x7E);
  std::uniform_int_distribution<int> ldh(0, 40);
  std::uniform_int_distribution<size_t> len(1, 24);
  const char ldh_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-..";
  for (int i = 0; i < 3000; ++i) {
    std::string s, d;
    for (size_t n = len(rng); n > 0; --n) s.push_back(static_cast<char>(ch(rng)));
    for (size_t n = len(rng); n > 0; --n) {
      d.push_back(ldh_chars[static_cast<size_t>(ldh(rng)) % (sizeof ldh_chars - 1)]);
    }
    inputs.push_back(std::move(s));
    inputs.push_back(std::move(d));
  }
  inputs.push_back(std::string(63, 'x') + ".com");
  inputs.push_back(std::string(64, 'x') + ".com");
  inputs.push_back(std::string(1023, 'q'));
  inputs.push_back(std::string(1024, 'q'));
  for (const auto& s : inputs) {
    EXPECT_EQ(Jid::prep_local(s), jid_detail::prep_local_full(s)) << '"' << s << '"';
    EXPECT_EQ(Jid::prep_resource(s), jid_detail::prep_resource_full(s)) << '"' << s << '"';
    EXPECT_EQ(Jid::prep_domain(s), jid_detail::prep_domain_full(s)) << '"' << s << '"';
    EXPECT_EQ(precis::username_case_mapped(s), precis::username_case_mapped_full(s)) << s;
    EXPECT_EQ(precis::opaque_string(s), precis::opaque_string_full(s)) << s;
  }
}

}  // namespace
}  // namespace parley

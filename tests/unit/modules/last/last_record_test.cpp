#include "modules/last/last_record.hpp"

#include <gtest/gtest.h>

namespace parley::last {
namespace {

TEST(LastRecord, RoundTrips) {
  for (const Record& r : {Record{1700000000, ""}, Record{1, "Heading Home"},
                          Record{42, "multi\nline  status with spaces "}}) {
    auto back = decode(encode(r));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, r);
  }
}

TEST(LastRecord, RefusesGarbage) {
  EXPECT_FALSE(decode(""));
  EXPECT_FALSE(decode("abc def"));
  EXPECT_FALSE(decode(" status"));
  EXPECT_FALSE(decode("12x status"));
  EXPECT_FALSE(decode("123"));
}

TEST(LastRecord, SecondsNeverNegative) {
  EXPECT_EQ(seconds_since(100, 160), 60);
  EXPECT_EQ(seconds_since(200, 100), 0);
}

}  // namespace
}  // namespace parley::last

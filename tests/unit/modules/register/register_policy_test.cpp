#include "modules/register/register_policy.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace parley::registration {
namespace {

TEST(RegisterAddressList, Loopback) {
  AddressList list({"127.0.0.1", "::1"});
  EXPECT_TRUE(list.contains("127.0.0.1"));
  EXPECT_TRUE(list.contains("::1"));
  EXPECT_TRUE(list.contains("::ffff:127.0.0.1"));
  EXPECT_FALSE(list.contains("127.0.0.2"));
  EXPECT_FALSE(list.contains("10.0.0.1"));
  EXPECT_FALSE(list.contains("unknown"));
}

TEST(RegisterAddressList, Star) {
  AddressList list({"*"});
  EXPECT_TRUE(list.contains("203.0.113.9"));
  EXPECT_TRUE(list.contains("2001:db8::1"));
}

TEST(RegisterAddressList, Ranges) {
  AddressList list({"10.0.0.0/8", "192.168.1.128/25", "fd00::/8"});
  EXPECT_TRUE(list.contains("10.255.1.2"));
  EXPECT_FALSE(list.contains("11.0.0.1"));
  EXPECT_TRUE(list.contains("192.168.1.200"));
  EXPECT_FALSE(list.contains("192.168.1.127"));
  EXPECT_TRUE(list.contains("fd12:3456::1"));
  EXPECT_FALSE(list.contains("fe80::1"));
  EXPECT_TRUE(list.contains("::ffff:10.1.2.3"));
}

TEST(RegisterAddressList, Empty) {
  AddressList list({});
  EXPECT_FALSE(list.contains("127.0.0.1"));
}

TEST(RegisterAddressList, BadEntriesThrow) {
  EXPECT_THROW(AddressList({"localhost"}), std::invalid_argument);
  EXPECT_THROW(AddressList({"10.0.0.0/33"}), std::invalid_argument);
  EXPECT_THROW(AddressList({"10.0.0.0/"}), std::invalid_argument);
  EXPECT_THROW(AddressList({"10.0.0.0/8x"}), std::invalid_argument);
  EXPECT_NO_THROW(AddressList({"0.0.0.0/0", "::/0"}));
}

TEST(RegisterRateLimiter, SlidingHour) {
  RateLimiter limiter(2);
  const auto t0 = RateLimiter::Clock::now();
  EXPECT_TRUE(limiter.try_acquire("a", t0));
  EXPECT_TRUE(limiter.try_acquire("a", t0 + std::chrono::minutes(10)));
  EXPECT_FALSE(limiter.try_acquire("a", t0 + std::chrono::minutes(20)));
  EXPECT_TRUE(limiter.try_acquire("b", t0 + std::chrono::minutes(20)));
  EXPECT_TRUE(limiter.try_acquire("a", t0 + std::chrono::minutes(61)));
  EXPECT_FALSE(limiter.try_acquire("a", t0 + std::chrono::minutes(62)));
}

TEST(RegisterRateLimiter, ReleaseGivesTheSlotBack) {
  RateLimiter limiter(1);
  const auto t0 = RateLimiter::Clock::now();
  EXPECT_TRUE(limiter.try_acquire("a", t0));
  limiter.release("a");
  EXPECT_TRUE(limiter.try_acquire("a", t0));
  EXPECT_FALSE(limiter.try_acquire("a", t0));
}

TEST(RegisterRateLimiter, ZeroMeansUnlimited) {
  RateLimiter limiter(0);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.try_acquire("a"));
}

TEST(RegisterForm, Validates) {
  Credentials c;
  EXPECT_EQ(parse_form("Juliet", "secret", c), FormError::None);
  EXPECT_EQ(c.username, "juliet");
  EXPECT_EQ(c.password, "secret");
  EXPECT_EQ(parse_form("", "secret", c), FormError::MissingField);
  EXPECT_EQ(parse_form("juliet", "", c), FormError::MissingField);
  EXPECT_EQ(parse_form("jul@iet", "secret", c), FormError::BadUsername);
  EXPECT_EQ(parse_form("jul iet", "secret", c), FormError::BadUsername);
  EXPECT_EQ(parse_form("juliet", std::string("a\x01" "b"), c), FormError::BadPassword);
}

}  // namespace
}  // namespace parley::registration

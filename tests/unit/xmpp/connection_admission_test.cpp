// Per-address connection admission (XEP-0205): concurrent cap, token-bucket
// rate, independence of addresses, and tickets that release their slot.
#include "xmpp/stream/connection_admission.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace parley {
namespace {

using Clock = ConnectionAdmission::Clock;
using namespace std::chrono_literals;

TEST(ConnectionAdmission, CapsOpenConnectionsPerAddressAndFreesSlotsOnClose) {
  auto admission =
      ConnectionAdmission::create({.max_per_address = 3, .new_per_second = 1000, .burst = 1000});
  const auto now = Clock::now();
  std::vector<ConnectionAdmission::Ticket> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(admission->admit("192.0.2.1", now));
    EXPECT_TRUE(open.back()) << i;
  }
  EXPECT_FALSE(admission->admit("192.0.2.1", now));
  EXPECT_TRUE(admission->admit("192.0.2.2", now));  // another address is not affected
  EXPECT_EQ(admission->open_from("192.0.2.1"), 3u);
  open.erase(open.begin());  // one connection closes
  EXPECT_EQ(admission->open_from("192.0.2.1"), 2u);
  auto again = admission->admit("192.0.2.1", now);
  EXPECT_TRUE(again);
  // Moving a ticket moves the slot; it is released once.
  ConnectionAdmission::Ticket moved = std::move(again);
  EXPECT_EQ(admission->open_from("192.0.2.1"), 3u);
  moved = {};
  EXPECT_EQ(admission->open_from("192.0.2.1"), 2u);
}

TEST(ConnectionAdmission, RateOfNewConnectionsIsATokenBucket) {
  auto admission =
      ConnectionAdmission::create({.max_per_address = 1000, .new_per_second = 2, .burst = 3});
  const auto t0 = Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(admission->admit("198.51.100.7", t0)) << i;
  EXPECT_FALSE(admission->admit("198.51.100.7", t0));          // burst spent
  EXPECT_FALSE(admission->admit("198.51.100.7", t0 + 400ms));  // 0.8 tokens
  EXPECT_TRUE(admission->admit("198.51.100.7", t0 + 600ms));   // 1.2 tokens
  EXPECT_FALSE(admission->admit("198.51.100.7", t0 + 700ms));
  // Refill stops at the burst size.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(admission->admit("198.51.100.7", t0 + 60s)) << i;
  EXPECT_FALSE(admission->admit("198.51.100.7", t0 + 60s));
}

TEST(ConnectionAdmission, ATicketMayOutliveTheServersReference) {
  auto admission =
      ConnectionAdmission::create({.max_per_address = 1, .new_per_second = 1, .burst = 1});
  auto ticket = admission->admit("203.0.113.9");
  ASSERT_TRUE(ticket);
  std::weak_ptr<ConnectionAdmission> table = admission;
  admission.reset();
  EXPECT_FALSE(table.expired());  // the open connection keeps the table alive
  ticket = {};
  EXPECT_TRUE(table.expired());
}

}  // namespace
}  // namespace parley

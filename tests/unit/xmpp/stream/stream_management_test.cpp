// XEP-0198 counters: the unacknowledged queue with 32-bit wrapping h, and the
// inbound count that only advances once a stanza's holds are released.
#include "xmpp/stream/stream_management.hpp"

#include <gtest/gtest.h>

namespace parley {
namespace {

xml::Element message(int n) {
  xml::Element m("message", "jabber:client");
  m.set_attr("id", std::to_string(n));
  return m;
}

TEST(SmOutbox, AcknowledgeDropsExactlyTheAcknowledgedPrefix) {
  SmOutbox out;
  for (int i = 1; i <= 5; ++i) out.push(message(i));
  EXPECT_EQ(out.sent(), 5u);
  ASSERT_TRUE(out.acknowledge(2));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out.unacked().front().element().attr_or("id"), "3");
  // Acknowledging the same h again changes nothing.
  ASSERT_TRUE(out.acknowledge(2));
  EXPECT_EQ(out.size(), 3u);
  ASSERT_TRUE(out.acknowledge(5));
  EXPECT_TRUE(out.empty());
}

TEST(SmOutbox, HigherThanSentIsRefusedAndKeepsTheQueue) {
  SmOutbox out;
  out.push(message(1));
  out.push(message(2));
  EXPECT_FALSE(out.acknowledge(3));
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(out.acked(), 0u);
}

TEST(SmOutbox, CountsWrapAt32Bits) {
  SmOutbox out(UINT32_MAX - 1);
  for (int i = 1; i <= 4; ++i) out.push(message(i));  // numbered 2^32-1, 0, 1, 2
  EXPECT_EQ(out.sent(), 2u);
  ASSERT_TRUE(out.acknowledge(UINT32_MAX));
  EXPECT_EQ(out.size(), 3u);
  ASSERT_TRUE(out.acknowledge(1));  // past the wrap
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out.unacked().front().element().attr_or("id"), "4");
  EXPECT_FALSE(out.acknowledge(3));
  ASSERT_TRUE(out.acknowledge(2));
  EXPECT_TRUE(out.empty());
}

TEST(SmOutbox, TakeEmptiesTheQueueInOrder) {
  SmOutbox out;
  for (int i = 1; i <= 3; ++i) out.push(message(i));
  auto taken = out.take();
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken.back().element().attr_or("id"), "3");
  EXPECT_TRUE(out.empty());
}

TEST(SmOutbox, ASharedStanzaComesBackAddressedToTheSession) {
  SmOutbox out;
  xml::Element m("message", "jabber:client");
  m.set_attr("from", "room@conference.example.org/alice");
  m.add_child("body", "jabber:client").add_text("hi");
  auto shared = std::make_shared<const SharedStanza>(std::move(m));
  out.push(shared);
  out.push(message(2));
  EXPECT_FALSE(out.unacked().front().element().has_attr("to"));
  auto taken = out.take();
  const Jid bob = *Jid::parse("bob@example.org/phone");
  xml::Element tree = std::move(taken.front()).tree(bob);
  EXPECT_EQ(tree.attr_or("to"), "bob@example.org/phone");
  EXPECT_EQ(tree.child("body")->text(), "hi");
  EXPECT_FALSE(shared->element().has_attr("to")) << "the shared tree is never changed";
  EXPECT_EQ(std::move(taken.back()).tree(bob).attr_or("id"), "2");
}

TEST(SmInbound, HandledWaitsForTheOldestHeldStanza) {
  SmInbound in;
  const uint64_t a = in.received();
  const uint64_t b = in.received();
  const uint64_t c = in.received();
  in.hold(a);  // e.g. on its way to offline storage
  in.release(b);
  in.release(c);
  EXPECT_EQ(in.handled(), 0u);  // a is still pending, so nothing after it counts
  in.release(a);
  EXPECT_EQ(in.handled(), 0u);
  in.release(a);
  EXPECT_EQ(in.handled(), 3u);
}

TEST(SmInbound, OwedAckIsReportedOnceEverythingIsHandled) {
  SmInbound in;
  const uint64_t a = in.received();
  in.hold(a);
  EXPECT_FALSE(in.release(a));
  EXPECT_EQ(in.ack_value(), 0u);  // asked while a is still held: owe another <a/>
  EXPECT_TRUE(in.release(a));     // now caught up: time to send it
  EXPECT_EQ(in.ack_value(), 1u);
  const uint64_t b = in.received();
  EXPECT_FALSE(in.release(b));  // nothing owed any more
}

TEST(SmInbound, RestartContinuesTheCount) {
  SmInbound in;
  in.restart_at(41);
  const uint64_t next = in.received();
  EXPECT_EQ(next, 42u);
  in.release(next);
  EXPECT_EQ(in.handled(), 42u);
}

}  // namespace
}  // namespace parley

#include "modules/offline/offline_policy.hpp"

#include <gtest/gtest.h>

#include "xmpp/namespaces.hpp"

namespace parley::offline {
namespace {

xml::Element message(const char* type = nullptr) {
  xml::Element m("message", "jabber:client");
  if (type) m.set_attr("type", type);
  m.set_attr("to", "juliet@example.com");
  return m;
}

xml::Element with_body(xml::Element m) {
  m.add_child("body", "jabber:client").add_text("hello");
  return m;
}

TEST(OfflinePolicy, StoresChatAndNormalWithBody) {
  EXPECT_EQ(classify(with_body(message("chat"))), Decision::Store);
  EXPECT_EQ(classify(with_body(message("normal"))), Decision::Store);
  EXPECT_EQ(classify(with_body(message())), Decision::Store);
  EXPECT_EQ(classify(with_body(message("unknown-type"))), Decision::Store);
}

TEST(OfflinePolicy, NeverStoresHeadlineGroupchatOrError) {
  EXPECT_EQ(classify(with_body(message("headline"))), Decision::Drop);
  EXPECT_EQ(classify(with_body(message("error"))), Decision::Drop);
  EXPECT_EQ(classify(with_body(message("groupchat"))), Decision::Refuse);
}

TEST(OfflinePolicy, HonoursNoStoreHints) {
  auto m = with_body(message("chat"));
  m.add_child("no-store", "urn:xmpp:hints");
  EXPECT_EQ(classify(m), Decision::Refuse);
  auto p = with_body(message("chat"));
  p.add_child("no-permanent-store", "urn:xmpp:hints");
  EXPECT_EQ(classify(p), Decision::Store);  // temporary storage is allowed
}

TEST(OfflinePolicy, StoreHintStoresWithoutBody) {
  auto m = message("chat");
  m.add_child("store", "urn:xmpp:hints");
  EXPECT_EQ(classify(m), Decision::Store);
}

TEST(OfflinePolicy, ChatStatesAloneAreDropped) {
  auto m = message("chat");
  m.add_child("composing", "http://jabber.org/protocol/chatstates");
  EXPECT_EQ(classify(m), Decision::Drop);
  m.add_child("thread", "jabber:client").add_text("t1");
  EXPECT_EQ(classify(m), Decision::Drop);
  EXPECT_EQ(classify(message("chat")), Decision::Drop);
}

TEST(OfflinePolicy, OtherPayloadsAreStored) {
  auto receipt = message("chat");
  receipt.add_child("received", "urn:xmpp:receipts").set_attr("id", "x");
  EXPECT_EQ(classify(receipt), Decision::Store);
  auto omemo = message("chat");
  omemo.add_child("encrypted", "eu.siacs.conversations.axolotl");
  omemo.add_child("active", "http://jabber.org/protocol/chatstates");
  EXPECT_EQ(classify(omemo), Decision::Store);
}

TEST(OfflinePolicy, StampDelayAddsOneServerDelay) {
  auto m = with_body(message("chat"));
  // A forged stamp claiming to come from the server, and a legitimate one from elsewhere.
  m.add_child("delay", "urn:xmpp:delay")
      .with_attr("from", "example.com")
      .with_attr("stamp", "1999-01-01T00:00:00Z");
  m.add_child("delay", "urn:xmpp:delay")
      .with_attr("from", "other.example")
      .with_attr("stamp", "2000-01-01T00:00:00Z");
  stamp_delay(m, "example.com", "2024-05-06T07:08:09.010Z");
  auto delays = m.children("delay", "urn:xmpp:delay");
  ASSERT_EQ(delays.size(), 2u);
  EXPECT_EQ(delays[0]->attr_or("from"), "other.example");
  EXPECT_EQ(delays[1]->attr_or("from"), "example.com");
  EXPECT_EQ(delays[1]->attr_or("stamp"), "2024-05-06T07:08:09.010Z");
  EXPECT_EQ(m.child_text("body", "jabber:client"), "hello");
}

}  // namespace
}  // namespace parley::offline

#pragma once
// Helpers shared by the roster and presence module tests.
#include <gtest/gtest.h>

#include <string>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test::roster_support {

inline constexpr const char* kRosterNs = "jabber:iq:roster";

// A roster push (iq set with a jabber:iq:roster query) carrying an item for `jid`.
inline Predicate is_push_for(const std::string& jid, const std::string& subscription = "") {
  return [jid, subscription](const xml::Element& el) {
    if (el.name() != "iq" || el.attr_or("type") != "set") return false;
    const xml::Element* q = el.child("query", kRosterNs);
    if (!q) return false;
    const xml::Element* item = q->child("item", kRosterNs);
    if (!item || item->attr_or("jid") != jid) return false;
    return subscription.empty() || item->attr_or("subscription") == subscription;
  };
}

inline const xml::Element* push_item(const xml::Element& iq) {
  const xml::Element* q = iq.child("query", kRosterNs);
  return q ? q->child("item", kRosterNs) : nullptr;
}

// The items of a roster result, or null.
inline const xml::Element* query_of(const xml::Element& iq) { return iq.child("query", kRosterNs); }

inline const xml::Element* find_item(const xml::Element& query, const std::string& jid) {
  for (const xml::Element* item : query.children("item", kRosterNs))
    if (item->attr_or("jid") == jid) return item;
  return nullptr;
}

// Sends initial (or updated) presence and waits for the server's echo of it
// (RFC 6121 §4.2.2), so the resource is known to be available afterwards.
inline void online(XmppClient& c, const std::string& extra = "") {
  const std::string me = c.bound_jid();
  c.send("<presence>" + extra + "</presence>");
  ASSERT_TRUE(c.expect([me](const xml::Element& el) {
    return el.name() == "presence" && el.attr_or("from") == me && !el.has_attr("type");
  })) << me << " got no echo of its presence";
}

// Requests the roster (the resource becomes "interested"); returns the result.
inline std::optional<xml::Element> get_roster(XmppClient& c, const std::string& ver_attr = "") {
  const std::string id = c.next_id();
  return c.iq("<iq type='get' id='" + id + "'><query xmlns='jabber:iq:roster'" + ver_attr +
              "/></iq>");
}

inline std::optional<xml::Element> roster_set(XmppClient& c, const std::string& item_xml) {
  const std::string id = c.next_id();
  return c.iq("<iq type='set' id='" + id + "'><query xmlns='jabber:iq:roster'>" + item_xml +
              "</query></iq>");
}

inline std::string subscription_of(XmppClient& c, const std::string& jid) {
  auto r = get_roster(c);
  if (!r || !query_of(*r)) return "?";
  const xml::Element* item = find_item(*query_of(*r), jid);
  return item ? item->attr_or("subscription") : "absent";
}

// Polls the roster until `jid` has `subscription` (state changes made on
// behalf of another user are asynchronous); true if it did within ~3 s.
inline bool wait_subscription(XmppClient& c, const std::string& jid, const std::string& subscription) {
  for (int i = 0; i < 30; ++i) {
    if (subscription_of(c, jid) == subscription) return true;
    c.drain(std::chrono::milliseconds(100));
  }
  return false;
}

// Mutual subscription between two interested, available clients, driven
// through the protocol (RFC 6121 §3.1 both ways). Leaves the inboxes drained.
inline void befriend(XmppClient& a, const std::string& a_bare, XmppClient& b,
                     const std::string& b_bare) {
  a.send("<presence to='" + b_bare + "' type='subscribe'/>");
  ASSERT_TRUE(b.expect(is_presence_from(a_bare, "subscribe")));
  b.send("<presence to='" + a_bare + "' type='subscribed'/>");
  ASSERT_TRUE(a.expect(is_push_for(b_bare, "to")));
  b.send("<presence to='" + a_bare + "' type='subscribe'/>");
  ASSERT_TRUE(a.expect(is_presence_from(b_bare, "subscribe")));
  a.send("<presence to='" + b_bare + "' type='subscribed'/>");
  ASSERT_TRUE(b.expect(is_push_for(a_bare, "both")));
  ASSERT_TRUE(a.expect(is_push_for(b_bare, "both")));
  a.drain();
  b.drain();
}

}  // namespace parley::test::roster_support

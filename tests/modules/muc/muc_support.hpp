#pragma once
// Helpers shared by the multi-user chat (XEP-0045) tests: a fixture with a
// real parleyd and five accounts, and predicates over room stanzas.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <set>
#include <string>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test::muc {

inline constexpr const char* kService = "conference.localhost";
inline constexpr const char* kMuc = "http://jabber.org/protocol/muc";
inline constexpr const char* kMucUser = "http://jabber.org/protocol/muc#user";
inline constexpr const char* kMucAdmin = "http://jabber.org/protocol/muc#admin";
inline constexpr const char* kMucOwner = "http://jabber.org/protocol/muc#owner";
inline constexpr const char* kOid = "urn:xmpp:occupant-id:0";
inline constexpr const char* kSid = "urn:xmpp:sid:0";
inline constexpr const char* kDiscoInfo = "http://jabber.org/protocol/disco#info";
inline constexpr const char* kDiscoItems = "http://jabber.org/protocol/disco#items";

inline std::string room_jid(const std::string& room) { return room + "@" + kService; }
inline std::string occ(const std::string& room, const std::string& nick) {
  return room_jid(room) + "/" + nick;
}

inline std::string field(const std::string& var, const std::string& value) {
  return "<field var='" + var + "'><value>" + value + "</value></field>";
}
// Room configuration fields for an open (not members-only) room.
inline std::string open_room() { return field("muc#roomconfig_membersonly", "0"); }

inline std::set<int> codes(const xml::Element& stanza) {
  std::set<int> out;
  if (const xml::Element* x = stanza.child("x", kMucUser))
    for (const xml::Element* s : x->children("status", kMucUser))
      out.insert(std::stoi(s->attr_or("code", "0")));
  return out;
}

inline const xml::Element* item(const xml::Element& stanza) {
  const xml::Element* x = stanza.child("x", kMucUser);
  return x ? x->child("item", kMucUser) : nullptr;
}

inline std::string oid(const xml::Element& stanza) {
  auto ids = stanza.children("occupant-id", kOid);
  return ids.size() == 1 ? ids[0]->attr_or("id") : std::string(ids.empty() ? "" : "<several>");
}

inline Predicate presence_from(const std::string& from, const std::string& type = "") {
  return [from, type](const xml::Element& el) {
    return el.name() == "presence" && el.attr_or("from") == from && el.attr_or("type") == type;
  };
}

inline Predicate groupchat_body(const std::string& body) {
  return [body](const xml::Element& el) {
    return el.name() == "message" && el.attr_or("type") == "groupchat" &&
           el.child_text("body") == body;
  };
}

inline Predicate error_from(const std::string& from) {
  return [from](const xml::Element& el) {
    return el.attr_or("type") == "error" && el.attr_or("from") == from;
  };
}

class MucTest : public ::testing::Test {
 protected:
  explicit MucTest(TestServerOptions options = {}) : server_(std::move(options)) {}
  void SetUp() override {
    for (const char* u : {"alice", "bob", "carol", "dave", "eve"}) server_.create_user(u, "pw");
    server_.start();
  }
  void TearDown() override {
    // A clean exit with rooms, archives and sessions in flight (under the
    // sanitizers: no leak, no use after free at shutdown).
    if (server_.running()) {
      EXPECT_EQ(server_.stop(), 0);
    }
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }

  std::unique_ptr<XmppClient> login(const std::string& user, const std::string& resource = "r") {
    auto c = std::make_unique<XmppClient>(server_, user + "@localhost", "pw",
                                          XmppClient::Options{.resource = resource});
    EXPECT_TRUE(c->connect()) << c->error();
    c->available();
    return c;
  }

  // Sends a join presence; returns the self-presence (status 110) or the error.
  std::optional<xml::Element> join(XmppClient& c, const std::string& room, const std::string& nick,
                                   const std::string& x_inner = "") {
    c.send("<presence to='" + occ(room, nick) + "'><x xmlns='http://jabber.org/protocol/muc'>" +
           x_inner + "</x></presence>");
    const std::string from = occ(room, nick);
    return c.expect([from](const xml::Element& el) {
      return el.name() == "presence" && el.attr_or("from") == from &&
             (el.attr_or("type") == "error" || codes(el).count(110));
    });
  }

  std::optional<xml::Element> configure(XmppClient& c, const std::string& room,
                                        const std::string& fields) {
    return c.iq("<iq type='set' id='" + c.next_id() + "' to='" + room_jid(room) +
                "'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' "
                "type='submit'>" +
                field("FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig") + fields +
                "</x></query></iq>");
  }

  // A room created and configured by `c` (its owner), who stays in it.
  void create(XmppClient& c, const std::string& room, const std::string& nick,
              const std::string& fields = "") {
    auto self = join(c, room, nick);
    ASSERT_TRUE(self);
    ASSERT_EQ(self->attr_or("type"), "") << to_xml(*self);
    ASSERT_TRUE(codes(*self).count(201)) << to_xml(*self);
    auto r = configure(c, room, fields);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  }

  std::optional<xml::Element> admin(XmppClient& c, const std::string& room,
                                    const std::string& items, const std::string& type = "set") {
    return c.iq("<iq type='" + type + "' id='" + c.next_id() + "' to='" + room_jid(room) +
                "'><query xmlns='http://jabber.org/protocol/muc#admin'>" + items + "</query></iq>");
  }
  static std::string aff_item(const std::string& jid, const std::string& affiliation,
                              const std::string& reason = "") {
    return "<item jid='" + jid + "' affiliation='" + affiliation + "'>" +
           (reason.empty() ? "" : "<reason>" + reason + "</reason>") + "</item>";
  }
  static std::string role_item(const std::string& nick, const std::string& role,
                               const std::string& reason = "") {
    return "<item nick='" + nick + "' role='" + role + "'>" +
           (reason.empty() ? "" : "<reason>" + reason + "</reason>") + "</item>";
  }

  static void say(XmppClient& c, const std::string& room, const std::string& body,
                  const std::string& extra = "") {
    c.send("<message to='" + room_jid(room) + "' type='groupchat' id='" + body + "'><body>" +
           body + "</body>" + extra + "</message>");
  }

  std::optional<xml::Element> disco(XmppClient& c, const std::string& to, const char* ns) {
    return c.iq("<iq type='get' id='" + c.next_id() + "' to='" + to + "'><query xmlns='" + ns +
                "'/></iq>");
  }

  TestServer server_;
};

inline bool has_feature(const xml::Element& iq, const std::string& var) {
  return disco_features(iq).count(var) > 0;
}

inline std::vector<std::string> item_jids(const xml::Element& iq) {
  std::vector<std::string> out;
  if (const xml::Element* q = iq.child("query", kDiscoItems))
    for (const xml::Element* i : q->children("item", kDiscoItems)) out.push_back(i->attr_or("jid"));
  return out;
}

}  // namespace parley::test::muc

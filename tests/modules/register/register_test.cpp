// In-band registration (XEP-0077) end to end: password change and account
// removal when logged in, account creation before authentication.
#include <gtest/gtest.h>

#include <memory>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

// Server options with extra TOML appended to the generated configuration.
TestServerOptions with_config(std::string toml) {
  TestServerOptions options;
  options.extra_config = std::move(toml);
  return options;
}

// A stream that did STARTTLS but has not authenticated.
std::unique_ptr<RawClient> unauthenticated_stream(const TestServer& server) {
  auto raw = std::make_unique<RawClient>(server.c2s_port());
  if (!raw->ok()) return nullptr;
  raw->send(RawClient::stream_open());
  if (!raw->read_until("</stream:features>")) return nullptr;
  raw->send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  if (!raw->read_until("<proceed") || !raw->start_tls()) return nullptr;
  raw->clear();
  raw->send(RawClient::stream_open());
  if (!raw->read_until("</stream:features>")) return nullptr;
  raw->clear();
  return raw;
}

// Sends an iq on a raw stream and returns the reply with the same id.
std::optional<xml::Element> raw_iq(RawClient& raw, const std::string& id, const std::string& xml) {
  raw.clear();
  raw.send(xml);
  const std::string needle = "id='" + id + "'";
  if (!raw.read_until(needle)) return std::nullopt;
  for (int i = 0; i < 50; ++i) {
    const std::string& in = raw.received();
    const size_t at = in.rfind("<iq", in.find(needle));
    if (at != std::string::npos)
      if (auto el = parse_xml(in.substr(at))) return el;
    raw.read_until("\x01never", 50ms);
  }
  return std::nullopt;
}

std::string register_set(const std::string& id, const std::string& user, const std::string& password) {
  return "<iq type='set' id='" + id + "'><query xmlns='jabber:iq:register'><username>" + user +
         "</username><password>" + password + "</password></query></iq>";
}

class RegisterModule : public ::testing::Test {
 protected:
  explicit RegisterModule(TestServerOptions options = {}) : server_(std::move(options)) {}
  void SetUp() override {
    server_.create_user("alice", "wonderland");
    server_.create_user("bob", "builder");
    server_.start();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  bool can_login(const std::string& user, const std::string& password) {
    XmppClient c(server_, user + "@localhost", password);
    return c.connect();
  }
  TestServer server_;
};

TEST_F(RegisterModule, LoggedInGetShowsRegistered) {
  XmppClient alice(server_, "alice@localhost", "wonderland");
  ASSERT_TRUE(alice.connect());
  auto r = alice.iq("<iq type='get' id='g1'><query xmlns='jabber:iq:register'/></iq>");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  const xml::Element* q = r->child("query", "jabber:iq:register");
  ASSERT_NE(q, nullptr);
  EXPECT_NE(q->child("registered", "jabber:iq:register"), nullptr);
  EXPECT_EQ(q->child_text("username", "jabber:iq:register"), "alice");
  EXPECT_EQ(q->child("password", "jabber:iq:register"), nullptr);
}

TEST_F(RegisterModule, ChangePasswordThenLoginWithTheNewOne) {
  {
    XmppClient alice(server_, "alice@localhost", "wonderland");
    ASSERT_TRUE(alice.connect());
    auto r = alice.iq(register_set("c1", "alice", "looking-glass"));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  }
  EXPECT_FALSE(can_login("alice", "wonderland"));
  EXPECT_TRUE(can_login("alice", "looking-glass"));
}

TEST_F(RegisterModule, ChangePasswordOfAnotherUserIsRefused) {
  XmppClient alice(server_, "alice@localhost", "wonderland");
  ASSERT_TRUE(alice.connect());
  auto r = alice.iq(register_set("c2", "bob", "stolen"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*r), "bad-request");
  auto empty = alice.iq(register_set("c3", "alice", ""));
  ASSERT_TRUE(empty);
  EXPECT_EQ(error_condition(*empty), "not-acceptable");
  EXPECT_TRUE(can_login("bob", "builder"));
}

TEST_F(RegisterModule, CancelRemovesTheAccountAndClosesItsSessions) {
  XmppClient other(server_, "alice@localhost", "wonderland", {.resource = "other"});
  ASSERT_TRUE(other.connect());
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "main"});
  ASSERT_TRUE(alice.connect());
  auto r = alice.iq("<iq type='set' id='x1'><query xmlns='jabber:iq:register'><remove/></query></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  EXPECT_TRUE(alice.wait_disconnected());
  EXPECT_EQ(alice.error(), "not-authorized");
  EXPECT_TRUE(other.wait_disconnected());
  EXPECT_FALSE(can_login("alice", "wonderland"));
  EXPECT_TRUE(can_login("bob", "builder"));
  // Messages to the removed account bounce like for any missing account.
  XmppClient bob(server_, "bob@localhost", "builder");
  ASSERT_TRUE(bob.connect());
  bob.send("<message to='alice@localhost' type='chat'><body>hello?</body></message>");
  auto bounce = bob.expect([](const xml::Element& el) { return el.attr_or("type") == "error"; });
  ASSERT_TRUE(bounce);
  EXPECT_EQ(error_condition(*bounce), "service-unavailable");
}

TEST_F(RegisterModule, InBandRegistrationFromLocalhost) {
  auto raw = unauthenticated_stream(server_);
  ASSERT_TRUE(raw);
  auto form = raw_iq(*raw, "r1", "<iq type='get' id='r1'><query xmlns='jabber:iq:register'/></iq>");
  ASSERT_TRUE(form);
  ASSERT_EQ(form->attr_or("type"), "result") << to_xml(*form);
  const xml::Element* q = form->child("query", "jabber:iq:register");
  ASSERT_NE(q, nullptr);
  EXPECT_NE(q->child("username", "jabber:iq:register"), nullptr);
  EXPECT_NE(q->child("password", "jabber:iq:register"), nullptr);

  auto created = raw_iq(*raw, "r2", register_set("r2", "Carol", "s3cret pass"));
  ASSERT_TRUE(created);
  EXPECT_EQ(created->attr_or("type"), "result") << to_xml(*created);

  // The same name again: conflict.
  auto again = raw_iq(*raw, "r3", register_set("r3", "carol", "other"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*again), "conflict");
  auto existing = raw_iq(*raw, "r4", register_set("r4", "bob", "x"));
  ASSERT_TRUE(existing);
  EXPECT_EQ(error_condition(*existing), "conflict");

  // Bad input.
  auto bad_name = raw_iq(*raw, "r5", register_set("r5", "da ve", "pw"));
  ASSERT_TRUE(bad_name);
  EXPECT_EQ(error_condition(*bad_name), "not-acceptable");
  auto no_password = raw_iq(*raw, "r6", register_set("r6", "dave", ""));
  ASSERT_TRUE(no_password);
  EXPECT_EQ(error_condition(*no_password), "not-acceptable");

  raw.reset();
  EXPECT_TRUE(can_login("carol", "s3cret pass"));
  EXPECT_TRUE(can_login("bob", "builder"));
}

TEST_F(RegisterModule, OtherPreAuthIqStillClosesTheStream) {
  auto raw = unauthenticated_stream(server_);
  ASSERT_TRUE(raw);
  raw->send("<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>");
  EXPECT_TRUE(raw->read_until("not-authorized"));
  EXPECT_TRUE(raw->read_until_closed());
}

// The stream features after STARTTLS, before authentication.
std::string features_before_auth(const TestServer& server) {
  RawClient raw(server.c2s_port());
  raw.send(RawClient::stream_open());
  raw.read_until("</stream:features>");
  raw.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  if (!raw.read_until("<proceed") || !raw.start_tls()) return {};
  raw.clear();
  raw.send(RawClient::stream_open());
  raw.read_until("</stream:features>");
  return raw.received();
}

TEST_F(RegisterModule, RegistrationIsAdvertisedToAllowedAddresses) {
  EXPECT_NE(features_before_auth(server_).find(
                "<register xmlns='http://jabber.org/features/iq-register'/>"),
            std::string::npos);
}

class RegisterModuleRestricted : public RegisterModule {
 protected:
  RegisterModuleRestricted()
      : RegisterModule(with_config("[modules.register]\nallow_from = [\"10.0.0.0/8\"]\n")) {}
};

TEST_F(RegisterModuleRestricted, RegistrationIsNotAdvertisedToOtherAddresses) {
  const std::string features = features_before_auth(server_);
  ASSERT_NE(features.find("<mechanisms"), std::string::npos) << features;
  EXPECT_EQ(features.find("iq-register"), std::string::npos) << features;
}

TEST_F(RegisterModuleRestricted, AddressNotAllowed) {
  auto raw = unauthenticated_stream(server_);
  ASSERT_TRUE(raw);
  auto r = raw_iq(*raw, "n1", register_set("n1", "eve", "pw"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*r), "not-allowed");
  raw.reset();
  EXPECT_FALSE(can_login("eve", "pw"));
}

class RegisterModuleThrottled : public RegisterModule {
 protected:
  RegisterModuleThrottled()
      : RegisterModule(with_config("[modules.register]\nregistrations_per_hour = 1\n")) {}
};

TEST_F(RegisterModuleThrottled, SecondRegistrationWithinTheHourIsRefused) {
  auto raw = unauthenticated_stream(server_);
  ASSERT_TRUE(raw);
  // A refused name does not use up the allowance.
  auto taken = raw_iq(*raw, "t0", register_set("t0", "bob", "pw"));
  ASSERT_TRUE(taken);
  EXPECT_EQ(error_condition(*taken), "conflict");
  auto first = raw_iq(*raw, "t1", register_set("t1", "frank", "pw"));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->attr_or("type"), "result") << to_xml(*first);
  auto second = raw_iq(*raw, "t2", register_set("t2", "grace", "pw"));
  ASSERT_TRUE(second);
  EXPECT_EQ(error_condition(*second), "resource-constraint");
}

}  // namespace
}  // namespace parley::test

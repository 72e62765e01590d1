// Hostile cases 21–30: authentication and the stream around it (reliability
// note §5 items 15–23).
#include <string>

#include "hostile/hostile_support.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley::test::hostile {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSasl = "urn:ietf:params:xml:ns:xmpp-sasl";

std::string plain_auth(const std::string& authzid, const std::string& user,
                       const std::string& password) {
  std::string message = authzid;
  message += '\0';
  message += user;
  message += '\0';
  message += password;
  std::string out = "<auth xmlns='";
  out += kSasl;
  out += "' mechanism='PLAIN'>";
  out += sasl::base64_encode(message);
  out += "</auth>";
  return out;
}

// The <failure/> element the server answered with, as sent.
std::string failure_of(RawClient& c) {
  if (!c.read_until("</failure>")) return {};
  const std::string& in = c.received();
  const size_t at = in.find("<failure");
  return in.substr(at, in.find("</failure>") - at + 10);
}

using HostileAuth = Hostile;

// 21 (note 15, CVE-2018-10847): after authenticating on one host, a stream
// restart may not move the session to another.
class HostileTwoHosts : public Hostile {
 protected:
  HostileTwoHosts()
      : Hostile([] {
          TestServerOptions o;
          o.hosts = {"localhost", "other.test"};
          return o;
        }()) {}
};

TEST_F(HostileTwoHosts, Case21_RestartWithAnotherHostAfterAuthIsNotAuthorized) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  ASSERT_TRUE(start_tls(c));
  c.clear();
  c.send(plain_auth("", "alice", "secret"));
  ASSERT_TRUE(c.read_until("<success"));
  c.send(RawClient::stream_open("other.test"));
  EXPECT_TRUE(stream_error_then_close(c, "not-authorized"));
}

// 22 (note 16): no stanza is processed before authentication.
TEST_F(HostileAuth, Case22_RosterRequestBeforeAuthIsNotAuthorized) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  ASSERT_TRUE(start_tls(c));
  c.send("<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>");
  EXPECT_TRUE(stream_error_then_close(c, "not-authorized"));
  EXPECT_EQ(c.received().find("jabber:iq:roster"), std::string::npos);
}

TEST_F(HostileAuth, Case23_PresenceBeforeAuthIsNotAuthorized) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  ASSERT_TRUE(start_tls(c));
  c.send("<presence/>");
  EXPECT_TRUE(stream_error_then_close(c, "not-authorized"));
}

// 24 (note 21): SASL before the required TLS: no password crosses in clear;
// the stream ends with policy-violation before any mechanism runs.
TEST_F(HostileAuth, Case24_AuthBeforeRequiredTlsIsPolicyViolation) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  EXPECT_EQ(c.received().find("<mechanisms"), std::string::npos) << c.received();
  c.send(plain_auth("", "alice", "secret"));
  EXPECT_TRUE(stream_error_then_close(c, "policy-violation"));
  EXPECT_EQ(c.received().find("<success"), std::string::npos);
}

// 25: a mechanism that was not offered.
TEST_F(HostileAuth, Case25_UnknownMechanismIsInvalidMechanism) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  ASSERT_TRUE(start_tls(c));
  c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>");
  EXPECT_NE(failure_of(c).find("<invalid-mechanism/>"), std::string::npos) << c.received();
}

// 26: RFC 6120 §6.5.2 incorrect-encoding for data that is not base64.
TEST_F(HostileAuth, Case26_BadBase64IsIncorrectEncoding) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  ASSERT_TRUE(start_tls(c));
  c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>@@not*base64@@</auth>");
  EXPECT_NE(failure_of(c).find("<incorrect-encoding/>"), std::string::npos) << c.received();
}

// 27 (note 17): authenticate as alice, ask to be bob.
TEST_F(HostileAuth, Case27_PlainWithAnotherUsersAuthzidIsInvalidAuthzid) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  ASSERT_TRUE(start_tls(c));
  c.send(plain_auth("bob@localhost", "alice", "secret"));
  EXPECT_NE(failure_of(c).find("<invalid-authzid/>"), std::string::npos) << c.received();
  EXPECT_EQ(c.received().find("<success"), std::string::npos);
}

// 28 (note 23, RFC 6120 §13.11): an unknown user and a wrong password are
// answered with the very same bytes.
TEST_F(HostileAuth, Case28_UnknownUserAndWrongPasswordLookTheSame) {
  std::string answers[2];
  const char* users[2] = {"nobody", "alice"};
  for (int i = 0; i < 2; ++i) {
    RawClient c(server_.c2s_port());
    ASSERT_TRUE(open_stream(c));
    ASSERT_TRUE(start_tls(c));
    c.clear();
    c.send(plain_auth("", users[i], "wrong"));
    answers[i] = failure_of(c);
  }
  EXPECT_NE(answers[0].find("<not-authorized/>"), std::string::npos) << answers[0];
  EXPECT_EQ(answers[0], answers[1]);
}

// 29 (note 20): too many failures on one stream close it.
TEST_F(HostileAuth, Case29_RepeatedFailuresOnOneStreamArePolicyViolation) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  ASSERT_TRUE(start_tls(c));
  for (int i = 0; i < 10 && !c.read_until("<policy-violation", 1ms); ++i) {
    c.send(plain_auth("", "alice", "guess" + std::to_string(i)));
    c.read_until("</failure>", 2s);
  }
  EXPECT_TRUE(stream_error_then_close(c, "policy-violation"));
}

// 30 (note 20): over the per-address threshold, even the right password is
// refused for a while from that address (temporarily: never an account
// lockout), and other clients keep working (the fixture's bystander).
class HostileAddressThrottle : public Hostile {
 protected:
  HostileAddressThrottle()
      : Hostile([] {
          TestServerOptions o;
          o.limits =
              "auth_failures_per_address_per_minute = 3\nmax_auth_failures_per_stream = 10\n";
          return o;
        }()) {}
};

TEST_F(HostileAddressThrottle, Case30_AddressOverTheFailureRateIsRefusedTemporarily) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  ASSERT_TRUE(start_tls(c));
  for (int i = 0; i < 3; ++i) {
    c.clear();
    c.send(plain_auth("", "alice", "guess" + std::to_string(i)));
    EXPECT_NE(failure_of(c).find("<not-authorized/>"), std::string::npos) << c.received();
  }
  c.clear();
  c.send(plain_auth("", "alice", "secret"));
  EXPECT_NE(failure_of(c).find("<temporary-auth-failure/>"), std::string::npos) << c.received();
  EXPECT_EQ(c.received().find("<success"), std::string::npos);
}

}  // namespace
}  // namespace parley::test::hostile

// Hostile cases 21–30, 53 and 54: authentication and the stream around it
// (reliability note §5 items 15–23), and the TLS under it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

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

// The server-first-message's combined nonce after a SCRAM-SHA-1 client-first
// for alice with client nonce `client_nonce`; empty if there was no challenge.
std::string scram_server_nonce(RawClient& c, const std::string& client_nonce) {
  c.clear();
  c.send(std::string("<auth xmlns='") + kSasl + "' mechanism='SCRAM-SHA-1'>" +
         sasl::base64_encode("n,,n=alice,r=" + client_nonce) + "</auth>");
  if (!c.read_until("</challenge>")) return {};
  const std::string& in = c.received();
  const size_t open = in.find('>', in.find("<challenge")) + 1;
  const auto first = sasl::base64_decode(in.substr(open, in.find("</challenge>") - open));
  if (!first || first->rfind("r=", 0) != 0) return {};
  return first->substr(2, first->find(',') - 2);
}

std::string scram_final(const std::string& nonce) {
  // A well-formed proof of the right length (20 bytes for SHA-1); its value
  // does not matter, the nonce check must fail first or with it.
  const std::string proof = sasl::base64_encode(std::string(20, '\x5a'));
  return std::string("<response xmlns='") + kSasl + "'>" +
         sasl::base64_encode("c=biws,r=" + nonce + ",p=" + proof) + "</response>";
}

// 53 (note 22): a client-final-message whose nonce is not the one this
// exchange agreed (tampered, or replayed from another stream) is refused
// with not-authorized, and the right password works afterwards.
TEST_F(HostileAuth, Case53_TamperedOrReplayedScramNonceIsNotAuthorized) {
  RawClient first(server_.c2s_port());
  ASSERT_TRUE(open_stream(first));
  ASSERT_TRUE(start_tls(first));
  const std::string nonce = scram_server_nonce(first, "fyko+d2lbbFgONRv9qkxdawL");
  ASSERT_FALSE(nonce.empty()) << first.received();
  ASSERT_EQ(nonce.rfind("fyko+d2lbbFgONRv9qkxdawL", 0), 0u)
      << "the server nonce extends the client's";
  ASSERT_GT(nonce.size(), std::string("fyko+d2lbbFgONRv9qkxdawL").size());
  first.clear();
  first.send(scram_final(nonce + "x"));
  EXPECT_NE(failure_of(first).find("<not-authorized/>"), std::string::npos) << first.received();

  // Replay: another stream gets another server nonce; the old one is refused.
  RawClient second(server_.c2s_port());
  ASSERT_TRUE(open_stream(second));
  ASSERT_TRUE(start_tls(second));
  const std::string fresh = scram_server_nonce(second, "fyko+d2lbbFgONRv9qkxdawL");
  ASSERT_FALSE(fresh.empty());
  EXPECT_NE(fresh, nonce) << "server nonces must not repeat";
  second.clear();
  second.send(scram_final(nonce));
  EXPECT_NE(failure_of(second).find("<not-authorized/>"), std::string::npos) << second.received();
  EXPECT_EQ(second.received().find("<success"), std::string::npos);

  // The account is not locked by any of this.
  RawClient ok(server_.c2s_port());
  EXPECT_TRUE(raw_login(ok, "alice", "secret"));
}

// The result of a TLS handshake with the direct-TLS port by a client limited
// to `max_version` and the TLS 1.2 `ciphers`: the negotiated version, or 0
// when the server refused.
int handshake_with(uint16_t port, int max_version, const char* ciphers) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  // The client is willing to go as low as an attacker would push it.
  SSL_CTX_set_security_level(ctx, 0);
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  SSL_CTX_set_cipher_list(ctx, ciphers);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  const int version = SSL_connect(ssl) == 1 ? SSL_version(ssl) : 0;
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  return version;
}

// 54 (note 24): protocol and cipher downgrades. TLS 1.0 and 1.1 are refused,
// so are TLS 1.2 CBC suites; TLS 1.2 AEAD works and a modern client gets 1.3.
TEST_F(HostileAuth, Case54_TlsDowngradesAreRefused) {
  const uint16_t port = server_.direct_tls_port();
  const char* any = "ALL:@SECLEVEL=0";
  EXPECT_EQ(handshake_with(port, TLS1_VERSION, any), 0) << "TLS 1.0 accepted";
  EXPECT_EQ(handshake_with(port, TLS1_1_VERSION, any), 0) << "TLS 1.1 accepted";
  // The generated certificate is ECDSA P-256; these suites would fit it.
  EXPECT_EQ(handshake_with(port, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"), 0)
      << "CBC with SHA-1 accepted";
  EXPECT_EQ(handshake_with(port, TLS1_2_VERSION, "ECDHE-ECDSA-AES256-SHA384:@SECLEVEL=0"), 0)
      << "CBC accepted";
  EXPECT_EQ(handshake_with(port, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"), TLS1_2_VERSION);
  EXPECT_EQ(handshake_with(port, TLS1_3_VERSION, "DEFAULT"), TLS1_3_VERSION);
}

}  // namespace
}  // namespace parley::test::hostile

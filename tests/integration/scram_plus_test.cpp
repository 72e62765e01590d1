// SCRAM-SHA-256-PLUS with tls-exporter channel binding (RFC 5802, RFC 9266),
// driven by a hand-rolled client: libstrophe 0.12 has no -PLUS support. The
// client side uses OpenSSL primitives only.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <optional>

#include "support/test_client.hpp"
#include "support/test_server.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley::test {
namespace {

std::string hmac256(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string sha256(const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string attr_value(const std::string& msg, char key) {
  const std::string prefix = std::string(1, key) + "=";
  size_t pos = 0;
  while (pos < msg.size()) {
    size_t end = msg.find(',', pos);
    if (end == std::string::npos) end = msg.size();
    if (msg.compare(pos, 2, prefix) == 0) return msg.substr(pos + 2, end - pos - 2);
    pos = end + 1;
  }
  return {};
}

std::string between(const std::string& s, const std::string& open, const std::string& close) {
  size_t a = s.find(open);
  if (a == std::string::npos) return {};
  a = s.find('>', a) + 1;
  size_t b = s.find(close, a);
  return s.substr(a, b - a);
}

// Opens a STARTTLS stream and returns the client ready to authenticate.
std::unique_ptr<RawClient> tls_stream(const TestServer& server) {
  auto c = std::make_unique<RawClient>(server.c2s_port());
  c->send(RawClient::stream_open());
  c->read_until("</stream:features>");
  c->send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  c->read_until("<proceed");
  EXPECT_TRUE(c->start_tls());
  c->clear();
  c->send(RawClient::stream_open());
  c->read_until("</stream:features>");
  return c;
}

// Runs SCRAM-SHA-256-PLUS; `tamper` corrupts the channel-binding data the
// client sends, as a man in the middle terminating TLS would produce, and
// `binding` replaces it (the exporter of another connection).
std::string scram_plus(RawClient& c, const std::string& password, bool tamper,
                       const std::optional<std::string>& binding = std::nullopt) {
  const std::string gs2 = "p=tls-exporter,,";
  const std::string client_nonce = "clientnonce123456";
  const std::string first_bare = "n=alice,r=" + client_nonce;
  c.clear();
  c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256-PLUS'>" +
         sasl::base64_encode(gs2 + first_bare) + "</auth>");
  if (!c.read_until("</challenge>")) return c.received();
  std::string server_first = *sasl::base64_decode(between(c.received(), "<challenge", "</challenge>"));
  const std::string nonce = attr_value(server_first, 'r');
  const std::string salt = *sasl::base64_decode(attr_value(server_first, 's'));
  const int iterations = std::stoi(attr_value(server_first, 'i'));
  std::string cb_data = binding ? *binding : c.tls_exporter();
  if (tamper) cb_data[0] ^= 0x55;
  const std::string final_without_proof = "c=" + sasl::base64_encode(gs2 + cb_data) + ",r=" + nonce;
  unsigned char salted[32];
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                    iterations, EVP_sha256(), 32, salted);
  const std::string salted_password(reinterpret_cast<char*>(salted), 32);
  const std::string client_key = hmac256(salted_password, "Client Key");
  const std::string auth_message = first_bare + "," + server_first + "," + final_without_proof;
  std::string proof = hmac256(sha256(client_key), auth_message);
  for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= client_key[i];
  c.clear();
  c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
         sasl::base64_encode(final_without_proof + ",p=" + sasl::base64_encode(proof)) + "</response>");
  c.read_until("</success>", 3s) || c.read_until("</failure>", 2s);
  return c.received();
}

class ScramPlus : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.create_user("alice", "wonderland");
    server_.start();
  }
  TestServer server_;
};

TEST_F(ScramPlus, PlusMechanismsAndBindingTypesAreAdvertisedOverTls) {
  auto c = tls_stream(server_);
  EXPECT_NE(c->received().find("<mechanism>SCRAM-SHA-256-PLUS</mechanism>"), std::string::npos);
  EXPECT_NE(c->received().find("<channel-binding type='tls-exporter'/>"), std::string::npos)
      << c->received();
}

TEST_F(ScramPlus, TlsExporterBindingAuthenticates) {
  auto c = tls_stream(server_);
  std::string reply = scram_plus(*c, "wonderland", false);
  EXPECT_NE(reply.find("<success"), std::string::npos) << reply;
}

// A client reconnecting resumes its TLS session (TLS 1.3 ticket), which the
// server keeps only if it ended the first connection with a close_notify;
// the resumed connection has its own exporter, and -PLUS binds to it.
TEST_F(ScramPlus, AResumedTlsSessionAuthenticatesWithItsOwnExporter) {
  auto first = tls_stream(server_);
  ASSERT_FALSE(first->tls_resumed());
  ASSERT_NE(scram_plus(*first, "wonderland", false).find("<success"), std::string::npos);
  const std::string first_exporter = first->tls_exporter();
  first->send("</stream:stream>");
  ASSERT_TRUE(first->read_until("</stream:stream>"));
  first->tls_shutdown();
  ASSERT_TRUE(first->read_until_closed());

  auto second = std::make_unique<RawClient>(server_.c2s_port());
  second->resume_from(*first);
  second->send(RawClient::stream_open());
  ASSERT_TRUE(second->read_until("</stream:features>"));
  second->send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  ASSERT_TRUE(second->read_until("<proceed"));
  ASSERT_TRUE(second->start_tls());
  EXPECT_TRUE(second->tls_resumed());
  second->clear();
  second->send(RawClient::stream_open());
  ASSERT_TRUE(second->read_until("</stream:features>"));
  EXPECT_NE(second->received().find("<mechanism>SCRAM-SHA-256-PLUS</mechanism>"),
            std::string::npos);
  EXPECT_NE(second->tls_exporter(), first_exporter);
  // The first connection's binding, replayed over the resumed session, is refused.
  std::string replayed = scram_plus(*second, "wonderland", false, first_exporter);
  EXPECT_NE(replayed.find("<not-authorized/>"), std::string::npos) << replayed;
  std::string reply = scram_plus(*second, "wonderland", false);
  EXPECT_NE(reply.find("<success"), std::string::npos) << reply;
}

TEST_F(ScramPlus, WrongChannelBindingIsRefused) {
  auto c = tls_stream(server_);
  std::string reply = scram_plus(*c, "wonderland", true);
  EXPECT_NE(reply.find("<failure"), std::string::npos) << reply;
  EXPECT_EQ(reply.find("<success"), std::string::npos);
}

TEST_F(ScramPlus, ClaimingNoBindingWhileServerOffersPlusIsADowngrade) {
  auto c = tls_stream(server_);
  // gs2 flag 'y': "I support channel binding but think you don't" — the
  // server does, so this is a stripped-features downgrade (RFC 5802 §6).
  c->clear();
  c->send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" +
          sasl::base64_encode("y,,n=alice,r=abcdefgh") + "</auth>");
  EXPECT_TRUE(c->read_until("</failure>"));
  EXPECT_NE(c->received().find("<not-authorized/>"), std::string::npos) << c->received();
}

TEST_F(ScramPlus, PlainWithForeignAuthzidIsInvalidAuthzid) {
  auto c = tls_stream(server_);
  c->clear();
  c->send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
          sasl::base64_encode(std::string("victim@localhost\0alice\0wonderland", 33)) + "</auth>");
  EXPECT_TRUE(c->read_until("</failure>"));
  EXPECT_NE(c->received().find("<invalid-authzid/>"), std::string::npos) << c->received();
}

TEST_F(ScramPlus, RepeatedFailuresCloseTheStreamWithPolicyViolation) {
  auto c = tls_stream(server_);
  for (int i = 0; i < 3; ++i)
    c->send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
            sasl::base64_encode(std::string("\0alice\0bad", 10)) + "</auth>");
  EXPECT_TRUE(c->read_until("<policy-violation"));
  EXPECT_TRUE(c->read_until_closed());
}

}  // namespace
}  // namespace parley::test

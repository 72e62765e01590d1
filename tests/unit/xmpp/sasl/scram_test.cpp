#include "xmpp/sasl/scram.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

namespace parley::sasl {
namespace {

using namespace std::string_literals;

// ---------------------------------------------------------------------------
// A minimal SCRAM client, written against RFC 5802 independently of the server.

const EVP_MD* md(Hash h) {
  return h == Hash::Sha1 ? EVP_sha1() : EVP_sha256();
}

std::string hmac(Hash h, const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md(h), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string digest(Hash h, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md(h), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string attr(const std::string& msg, char name) {
  const std::string key = std::string(1, name) + "=";
  size_t pos = msg.rfind(key, 0) == 0 ? 0 : msg.find("," + key);
  if (pos == std::string::npos) return {};
  if (pos != 0) ++pos;
  const size_t end = msg.find(',', pos);
  return msg.substr(pos + 2, end == std::string::npos ? std::string::npos : end - pos - 2);
}

struct Client {
  Client(Hash h, std::string u, std::string pw, std::string n, std::string header = "n,,",
         std::string cb = {})
      : hash(h),
        user(std::move(u)),
        password(std::move(pw)),
        nonce(std::move(n)),
        gs2(std::move(header)),
        cb_data(std::move(cb)) {}

  Hash hash;
  std::string user;
  std::string password;
  std::string nonce;
  std::string gs2;
  std::string cb_data;
  std::string final_extension;  // e.g. "x=1", sent before the proof
  std::string bare, auth_message, salted;

  std::string first() {
    bare = "n=" + user + ",r=" + nonce;
    return gs2 + bare;
  }
  // The client-final-message for `server_first`; `final_nonce` and `cbind`
  // override what an honest client would send.
  std::string final(const std::string& server_first, std::string final_nonce = {},
                    std::optional<std::string> cbind = std::nullopt) {
    const auto salt = base64_decode(attr(server_first, 's'));
    EXPECT_TRUE(salt);
    const uint32_t iterations = static_cast<uint32_t>(std::stoul(attr(server_first, 'i')));
    salted.assign(EVP_MD_get_size(md(hash)), '\0');
    PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                      reinterpret_cast<const unsigned char*>(salt->data()),
                      static_cast<int>(salt->size()), static_cast<int>(iterations), md(hash),
                      static_cast<int>(salted.size()),
                      reinterpret_cast<unsigned char*>(salted.data()));
    if (final_nonce.empty()) final_nonce = attr(server_first, 'r');
    std::string without_proof =
        "c=" + (cbind ? *cbind : base64_encode(gs2 + cb_data)) + ",r=" + final_nonce;
    if (!final_extension.empty()) without_proof += "," + final_extension;
    auth_message = bare + "," + server_first + "," + without_proof;
    const std::string client_key = hmac(hash, salted, "Client Key");
    const std::string signature = hmac(hash, digest(hash, client_key), auth_message);
    std::string proof = client_key;
    for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= signature[i];
    return without_proof + ",p=" + base64_encode(proof);
  }
  std::string expected_server_final() const {
    return "v=" + base64_encode(hmac(hash, hmac(hash, salted, "Server Key"), auth_message));
  }
};

// ---------------------------------------------------------------------------
// Test vectors

TEST(Scram, Rfc5802Sha1Example) {
  const auto salt = base64_decode("QSXCR+Q6sek8bf92");
  ASSERT_TRUE(salt);
  const ScramCredential cred = make_credential(Hash::Sha1, "pencil", 4096, *salt);
  ScramServer server(Hash::Sha1, false, {}, false);
  server.set_server_nonce_for_testing("3rfcNHYJY1ZVvWVs7j");

  const auto first = server.client_first("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  ASSERT_EQ(first.failure, Failure::None);
  EXPECT_EQ(first.data, "user");
  EXPECT_EQ(server.username(), "user");
  EXPECT_EQ(server.authzid(), "");
  EXPECT_EQ(server.server_first(cred),
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
  const auto final = server.client_final(
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  ASSERT_EQ(final.failure, Failure::None);
  EXPECT_EQ(final.data, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
}

TEST(Scram, Rfc7677Sha256Example) {
  const auto salt = base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==");
  ASSERT_TRUE(salt);
  const ScramCredential cred = make_credential(Hash::Sha256, "pencil", 4096, *salt);
  ScramServer server(Hash::Sha256, false, {}, false);
  server.set_server_nonce_for_testing("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");

  const auto first = server.client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  ASSERT_EQ(first.failure, Failure::None);
  EXPECT_EQ(first.data, "user");
  EXPECT_EQ(server.server_first(cred),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
            "i=4096");
  const auto final = server.client_final(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  ASSERT_EQ(final.failure, Failure::None);
  EXPECT_EQ(final.data, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

TEST(Scram, Rfc5802WrongProofFails) {
  const ScramCredential cred =
      make_credential(Hash::Sha1, "pencil", 4096, *base64_decode("QSXCR+Q6sek8bf92"));
  ScramServer server(Hash::Sha1, false, {}, false);
  server.set_server_nonce_for_testing("3rfcNHYJY1ZVvWVs7j");
  ASSERT_EQ(server.client_first("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL").failure, Failure::None);
  server.server_first(cred);
  // Last proof byte changed.
  EXPECT_EQ(server
                .client_final("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                              "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Tw=")
                .failure,
            Failure::NotAuthorized);
}

// ---------------------------------------------------------------------------
// Full exchanges against the test client

struct Exchange {
  Failure first = Failure::None, final = Failure::None;
  std::string server_final, expected_server_final;
};

Exchange run(Hash hash, bool plus, std::vector<ChannelBinding> bindings, bool server_plus,
             Client client, const std::optional<ScramCredential>& cred,
             std::string tamper_nonce = {}, std::optional<std::string> tamper_cbind = {}) {
  ScramServer server(hash, plus, std::move(bindings), server_plus);
  Exchange e;
  const auto first = server.client_first(client.first());
  e.first = first.failure;
  if (e.first != Failure::None) return e;
  const std::string sf = server.server_first(cred);
  const auto final = server.client_final(client.final(sf, tamper_nonce, tamper_cbind));
  e.final = final.failure;
  e.server_final = final.data;
  e.expected_server_final = client.expected_server_final();
  return e;
}

class ScramHash : public ::testing::TestWithParam<Hash> {};

TEST_P(ScramHash, SuccessfulExchangeWithRandomServerNonce) {
  const Hash h = GetParam();
  const auto cred = make_credential(h, "correct horse", 4096);
  const auto e = run(h, false, {}, false, {h, "juliet", "correct horse", "abcdef123"}, cred);
  EXPECT_EQ(e.first, Failure::None);
  EXPECT_EQ(e.final, Failure::None);
  EXPECT_EQ(e.server_final, e.expected_server_final);
}

TEST_P(ScramHash, ServerNonceIsFreshAndExtendsClientNonce) {
  const Hash h = GetParam();
  const auto cred = make_credential(h, "pw", 4096);
  std::string nonces[2];
  for (auto& n : nonces) {
    ScramServer server(h, false, {}, false);
    ASSERT_EQ(server.client_first("n,,n=juliet,r=clientnonce").failure, Failure::None);
    const std::string sf = server.server_first(cred);
    n = attr(sf, 'r');
    ASSERT_EQ(n.rfind("clientnonce", 0), 0u) << sf;
    EXPECT_EQ(n.size(), std::string("clientnonce").size() + 32);  // base64 of 24 bytes
  }
  EXPECT_NE(nonces[0], nonces[1]);
}

TEST_P(ScramHash, WrongPasswordIsNotAuthorized) {
  const Hash h = GetParam();
  const auto cred = make_credential(h, "correct horse", 4096);
  const auto e = run(h, false, {}, false, {h, "juliet", "battery staple", "abcdef123"}, cred);
  EXPECT_EQ(e.final, Failure::NotAuthorized);
  EXPECT_EQ(e.server_final, "");
}

TEST_P(ScramHash, TamperedNonceIsNotAuthorized) {
  const Hash h = GetParam();
  const auto cred = make_credential(h, "pw", 4096);
  const auto e = run(h, false, {}, false, {h, "juliet", "pw", "abcdef123"}, cred, "abcdef123xyz");
  EXPECT_EQ(e.final, Failure::NotAuthorized);
}

TEST_P(ScramHash, TamperedChannelBindingIsNotAuthorized) {
  const Hash h = GetParam();
  const auto cred = make_credential(h, "pw", 4096);
  // "y,," instead of the "n,," actually sent.
  auto e = run(h, false, {}, false, {h, "juliet", "pw", "abcdef123"}, cred, {}, "eSws");
  EXPECT_EQ(e.final, Failure::NotAuthorized);
  // PLUS: correct header, wrong binding data.
  Client c{h, "juliet", "pw", "abcdef123", "p=tls-exporter,,", "wrong data"};
  e = run(h, true, {{"tls-exporter", "exporter data"}}, true, c, cred);
  EXPECT_EQ(e.first, Failure::None);
  EXPECT_EQ(e.final, Failure::NotAuthorized);
}

TEST_P(ScramHash, UnknownUserLooksNormalThenFails) {
  const Hash h = GetParam();
  ScramServer s1(h, false, {}, false), s2(h, false, {}, false), s3(h, false, {}, false);
  ASSERT_EQ(s1.client_first("n,,n=nobody,r=abc").failure, Failure::None);
  ASSERT_EQ(s2.client_first("n,,n=nobody,r=abc").failure, Failure::None);
  ASSERT_EQ(s3.client_first("n,,n=somebody,r=abc").failure, Failure::None);
  const std::string f1 = s1.server_first(std::nullopt);
  const std::string f2 = s2.server_first(std::nullopt);
  const std::string f3 = s3.server_first(std::nullopt);
  // Deterministic salt per user, 16 bytes like a real one, 4096 iterations.
  EXPECT_EQ(attr(f1, 's'), attr(f2, 's'));
  EXPECT_NE(attr(f1, 's'), attr(f3, 's'));
  EXPECT_EQ(base64_decode(attr(f1, 's'))->size(), 16u);
  EXPECT_EQ(attr(f1, 'i'), "4096");
  Client c{h, "nobody", "guess", "abc"};
  c.first();
  EXPECT_EQ(s1.client_final(c.final(f1)).failure, Failure::NotAuthorized);
}

TEST_P(ScramHash, CredentialForOtherHashIsTreatedAsUnknown) {
  const Hash h = GetParam();
  const Hash other = h == Hash::Sha1 ? Hash::Sha256 : Hash::Sha1;
  const auto cred = make_credential(other, "pw", 4096);
  const auto e = run(h, false, {}, false, {h, "juliet", "pw", "abc"}, cred);
  EXPECT_EQ(e.final, Failure::NotAuthorized);
}

TEST_P(ScramHash, PlusWithTlsExporterRoundTrip) {
  const Hash h = GetParam();
  const auto cred = make_credential(h, "pw", 4096);
  const std::vector<ChannelBinding> bindings = {
      {"tls-server-end-point", "cert hash"}, {"tls-exporter", std::string("\x00\x01\xFF\x7F", 4)}};
  Client c{h, "juliet", "pw", "nonce", "p=tls-exporter,,", std::string("\x00\x01\xFF\x7F", 4)};
  auto e = run(h, true, bindings, true, c, cred);
  EXPECT_EQ(e.first, Failure::None);
  EXPECT_EQ(e.final, Failure::None);
  EXPECT_EQ(e.server_final, e.expected_server_final);
  // The other offered type works too, with its own data.
  Client c2{h,          "juliet", "pw", "nonce", "p=tls-server-end-point,a=juliet@example.com,",
            "cert hash"};
  e = run(h, true, bindings, true, c2, cred);
  EXPECT_EQ(e.final, Failure::None);
  // Binding data of the other type does not pass.
  Client c3{h, "juliet", "pw", "nonce", "p=tls-exporter,,", "cert hash"};
  e = run(h, true, bindings, true, c3, cred);
  EXPECT_EQ(e.final, Failure::NotAuthorized);
}

TEST_P(ScramHash, ChannelBindingNegotiation) {
  const Hash h = GetParam();
  const std::vector<ChannelBinding> exporter = {{"tls-exporter", "data"}};
  auto first = [&](bool plus, std::vector<ChannelBinding> b, bool server_plus,
                   const std::string& gs2) {
    ScramServer s(h, plus, std::move(b), server_plus);
    return s.client_first(gs2 + "n=juliet,r=abc").failure;
  };
  // 'y' while the server offers -PLUS: downgrade attack.
  EXPECT_EQ(first(false, exporter, true, "y,,"), Failure::NotAuthorized);
  // 'y' when the server offers no -PLUS: fine.
  EXPECT_EQ(first(false, {}, false, "y,,"), Failure::None);
  EXPECT_EQ(first(false, {}, false, "n,,"), Failure::None);
  EXPECT_EQ(first(false, exporter, true, "n,,"), Failure::None);
  // 'p=' on a non-PLUS mechanism.
  EXPECT_EQ(first(false, exporter, true, "p=tls-exporter,,"), Failure::MalformedRequest);
  // -PLUS mechanism without 'p='.
  EXPECT_EQ(first(true, exporter, true, "n,,"), Failure::MalformedRequest);
  EXPECT_EQ(first(true, exporter, true, "y,,"), Failure::MalformedRequest);
  // Type not available on this connection.
  EXPECT_EQ(first(true, exporter, true, "p=tls-unique,,"), Failure::MalformedRequest);
  EXPECT_EQ(first(true, exporter, true, "p=tls-server-end-point,,"), Failure::MalformedRequest);
  EXPECT_EQ(first(true, exporter, true, "p=,,"), Failure::MalformedRequest);
  EXPECT_EQ(first(true, exporter, true, "p=tls_exporter,,"), Failure::MalformedRequest);
  EXPECT_EQ(first(true, exporter, true, "p=tls-exporter,,"), Failure::None);
}

TEST_P(ScramHash, YFlagRoundTripWhenServerHasNoPlus) {
  const Hash h = GetParam();
  const auto cred = make_credential(h, "pw", 4096);
  Client c{h, "juliet", "pw", "abc", "y,,"};
  const auto e = run(h, false, {}, false, c, cred);
  EXPECT_EQ(e.final, Failure::None);
}

INSTANTIATE_TEST_SUITE_P(BothHashes, ScramHash, ::testing::Values(Hash::Sha1, Hash::Sha256),
                         [](const auto& info) {
                           return info.param == Hash::Sha1 ? std::string("Sha1")
                                                           : std::string("Sha256");
                         });

// ---------------------------------------------------------------------------
// client-first-message parsing

TEST(ScramClientFirst, AuthzidAndUsernameDecoding) {
  ScramServer s(Hash::Sha256, false, {}, false);
  const auto r = s.client_first("n,a=juliet=2Cx=3Dy@example.com,n=Juliet,r=abc");
  ASSERT_EQ(r.failure, Failure::None);
  EXPECT_EQ(s.authzid(), "juliet,x=y@example.com");
  EXPECT_EQ(r.data, "juliet");  // prepared (UsernameCaseMapped) for the lookup
  EXPECT_EQ(s.username(), "juliet");

  ScramServer s2(Hash::Sha256, false, {}, false);
  const auto r2 = s2.client_first("n,,n=\xEF\xBC\xAA\xEF\xBD\x95\xEF\xBD\x8C,r=abc");  // fullwidth
  ASSERT_EQ(r2.failure, Failure::None);
  EXPECT_EQ(r2.data, "jul");
}

TEST(ScramClientFirst, Malformed) {
  const char* cases[] = {
      "",
      "n",
      "n,",
      "n,,",
      "x,,n=user,r=abc",          // unknown cbind flag
      "n,,r=abc,n=user",          // wrong order
      "n,,n=user",                // no nonce
      "n,,n=,r=abc",              // empty username
      "n,,n=user,r=",             // empty nonce
      "n,,m=ext,n=user,r=abc",    // mandatory extension
      "n,,n=us=2Xer,r=abc",       // unknown escape
      "n,,n=user=,r=abc",         // truncated escape
      "n,,n=user=2,r=abc",        // truncated escape
      "n,a=,n=user,r=abc",        // empty authzid
      "n,b=x,n=user,r=abc",       // not an authzid
      "n,a=ju=lie,n=user,r=abc",  // bad escape in authzid
      "n,,n=user,r=ab\x7F"
      "c",                         // non-printable nonce
      "n,,n=user,r=abc,1=x",       // bad extension
      "n,,n=user,r=abc,",          // empty extension
      "n,,n=us er,r=abc",          // not a valid username (space)
      "n,,n=\xFF,r=abc",           // invalid UTF-8
      "n,,n=u\xE2\x99\x9A,r=abc",  // symbol in username
  };
  for (const char* c : cases) {
    ScramServer s(Hash::Sha256, false, {}, false);
    EXPECT_EQ(s.client_first(c).failure, Failure::MalformedRequest) << c;
  }
  ScramServer s(Hash::Sha256, false, {}, false);
  EXPECT_EQ(s.client_first("n,,n=user\0x,r=abc"s).failure, Failure::MalformedRequest);
  // Unknown optional extensions are ignored.
  ScramServer ok(Hash::Sha256, false, {}, false);
  EXPECT_EQ(ok.client_first("n,,n=user,r=abc,x=ext").failure, Failure::None);
}

// ---------------------------------------------------------------------------
// client-final-message parsing and message order

struct Started {
  ScramServer server{Hash::Sha256, false, {}, false};
  Client client{Hash::Sha256, "juliet", "pw", "abc"};
  std::string server_first;
  Started() {
    EXPECT_EQ(server.client_first(client.first()).failure, Failure::None);
    server_first = server.server_first(make_credential(Hash::Sha256, "pw", 4096));
  }
};

TEST(ScramClientFinal, Malformed) {
  Started probe;
  const std::string good = probe.client.final(probe.server_first);
  const std::string nonce = attr(probe.server_first, 'r');
  const std::string proof = good.substr(good.find(",p=") + 3);
  const std::string cases[] = {
      "",
      "c=biws,r=" + nonce,                                   // no proof
      "r=" + nonce + ",c=biws,p=" + proof,                   // order
      "c=biws,p=" + proof,                                   // no nonce
      "c=bi!s,r=" + nonce + ",p=" + proof,                   // bad base64 in c=
      "c=biw,r=" + nonce + ",p=" + proof,                    // bad base64 length
      "c=biws,r=" + nonce + ",p=" + proof.substr(1),         // bad base64 in p=
      "c=biws,r=" + nonce + ",p=" + base64_encode("short"),  // wrong proof size
      "c=biws,r=" + nonce + ",p=" + proof + ",x=1",          // proof not last
      "c=biws,r=" + nonce + ",1=x,p=" + proof,               // bad extension
  };
  for (const auto& c : cases) {
    Started st;
    EXPECT_EQ(st.server.client_final(c).failure, Failure::MalformedRequest) << c;
  }
  // A valid final message with an extension before the proof still verifies
  // (the extension is covered by AuthMessage).
  Started st;
  st.client.final_extension = "x=whatever";
  const auto r = st.server.client_final(st.client.final(st.server_first));
  EXPECT_EQ(r.failure, Failure::None);
  EXPECT_EQ(r.data, st.client.expected_server_final());
}

TEST(ScramOrder, OutOfOrderMessagesAreMalformed) {
  {
    ScramServer s(Hash::Sha256, false, {}, false);
    EXPECT_EQ(s.client_final("c=biws,r=abc,p=AAAA").failure, Failure::MalformedRequest);
  }
  {
    ScramServer s(Hash::Sha256, false, {}, false);
    EXPECT_EQ(s.server_first(std::nullopt), "");
    EXPECT_EQ(s.client_first("n,,n=user,r=abc").failure, Failure::MalformedRequest);
  }
  {
    ScramServer s(Hash::Sha256, false, {}, false);
    ASSERT_EQ(s.client_first("n,,n=user,r=abc").failure, Failure::None);
    EXPECT_EQ(s.client_first("n,,n=user,r=abc").failure, Failure::MalformedRequest);
    EXPECT_EQ(s.server_first(std::nullopt), "");  // failed exchanges stay failed
  }
  {
    ScramServer s(Hash::Sha256, false, {}, false);
    ASSERT_EQ(s.client_first("n,,n=user,r=abc").failure, Failure::None);
    EXPECT_EQ(s.client_final("c=biws,r=abc,p=AAAA").failure, Failure::MalformedRequest);
  }
  {
    // Nothing after success.
    Started st;
    ASSERT_EQ(st.server.client_final(st.client.final(st.server_first)).failure, Failure::None);
    EXPECT_EQ(st.server.client_final(st.client.final(st.server_first)).failure,
              Failure::MalformedRequest);
  }
  {
    // A failed client_first cannot be retried on the same object.
    ScramServer s(Hash::Sha256, false, {}, false);
    EXPECT_EQ(s.client_first("garbage").failure, Failure::MalformedRequest);
    EXPECT_EQ(s.client_first("n,,n=user,r=abc").failure, Failure::MalformedRequest);
  }
}

// ---------------------------------------------------------------------------
// Credentials, PLAIN, passwords, base64, names

TEST(ScramCredentialTest, MakeAndVerify) {
  for (Hash h : {Hash::Sha1, Hash::Sha256}) {
    const auto cred = make_credential(h, "s3cr\xC3\xABt", 4096);
    const size_t n = h == Hash::Sha1 ? 20 : 32;
    EXPECT_EQ(cred.hash, h);
    EXPECT_EQ(cred.iterations, 4096u);
    EXPECT_EQ(cred.salt.size(), 16u);
    EXPECT_EQ(cred.stored_key.size(), n);
    EXPECT_EQ(cred.server_key.size(), n);
    EXPECT_TRUE(verify_password(cred, "s3cr\xC3\xABt"));
    EXPECT_FALSE(verify_password(cred, "s3cret"));
    EXPECT_FALSE(verify_password(cred, ""));
    // Random salts.
    EXPECT_NE(make_credential(h, "pw", 4096).salt, make_credential(h, "pw", 4096).salt);
    // Corrupted credentials never verify.
    auto broken = cred;
    broken.server_key[0] ^= 1;
    EXPECT_FALSE(verify_password(broken, "s3cr\xC3\xABt"));
    broken = cred;
    broken.stored_key.pop_back();
    EXPECT_FALSE(verify_password(broken, "s3cr\xC3\xABt"));
    broken = cred;
    broken.iterations = 0;
    EXPECT_FALSE(verify_password(broken, "s3cr\xC3\xABt"));
  }
  // RFC 5802 keys: the example exchange above depends on them, and a stored
  // credential with a given salt is deterministic.
  const auto a = make_credential(Hash::Sha1, "pencil", 4096, "salt");
  const auto b = make_credential(Hash::Sha1, "pencil", 4096, "salt");
  EXPECT_EQ(a.stored_key, b.stored_key);
  EXPECT_EQ(a.server_key, b.server_key);
  EXPECT_THROW(make_credential(Hash::Sha256, "pw", 0), std::invalid_argument);
}

TEST(Plain, Parse) {
  auto p = parse_plain("authz\0user\0pw"s);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->authzid, "authz");
  EXPECT_EQ(p->authcid, "user");
  EXPECT_EQ(p->password, "pw");
  p = parse_plain("\0user\0pw"s);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->authzid, "");
  EXPECT_EQ(p->authcid, "user");
  EXPECT_EQ(p->password, "pw");
  EXPECT_FALSE(parse_plain("userpw"));
  EXPECT_FALSE(parse_plain("user\0pw"s));
  EXPECT_FALSE(parse_plain(""));
  EXPECT_FALSE(parse_plain("\0user\0"s));       // empty password
  EXPECT_FALSE(parse_plain("\0\0pw"s));         // empty authcid
  EXPECT_FALSE(parse_plain("a\0user\0pw\0"s));  // extra NUL
  EXPECT_FALSE(parse_plain("\0us\xFF\0pw"s));   // invalid UTF-8
}

TEST(Plain, AgainstStoredScramCredential) {
  for (Hash h : {Hash::Sha1, Hash::Sha256}) {
    const auto cred = make_credential(h, *prep_password("pencil"), 4096);
    const auto p = parse_plain("\0user\0pencil"s);
    ASSERT_TRUE(p);
    const auto pw = prep_password(p->password);
    ASSERT_TRUE(pw);
    EXPECT_TRUE(verify_password(cred, *pw));
    EXPECT_FALSE(verify_password(cred, "Pencil"));
  }
}

TEST(Password, Prep) {
  EXPECT_EQ(prep_password("pencil"), "pencil");
  EXPECT_EQ(prep_password("Correct Horse"), "Correct Horse");  // case and spaces kept
  EXPECT_EQ(prep_password("a\xC2\xA0"
                          "b"),
            "a b");                                          // non-ASCII space -> SP
  EXPECT_EQ(prep_password("e\xCC\x81"), "\xC3\xA9");         // NFC
  EXPECT_EQ(prep_password("\xE2\x85\xA3"), "\xE2\x85\xA3");  // compat chars allowed
  EXPECT_FALSE(prep_password(""));
  EXPECT_FALSE(prep_password("pass\tword"));
  EXPECT_FALSE(prep_password("pass\nword"));
  EXPECT_FALSE(prep_password("pass\0word"s));
  EXPECT_FALSE(prep_password("\x7F"));
  EXPECT_FALSE(prep_password("\xC2\x80"));
  EXPECT_FALSE(prep_password("\xFF"));
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> v[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [raw, enc] : v) {
    EXPECT_EQ(base64_encode(raw), enc);
    EXPECT_EQ(base64_decode(enc), std::optional<std::string>(raw));
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
}

TEST(Base64, StrictDecoding) {
  for (const char* bad : {"Zg", "Zg=", "Zg===", "Z===", "=Zg=", "Zm9v=", "Zm 9v", "Zm9v\n",
                          "Zh==",      // non-zero padding bits
                          "Zm9=",      // non-zero padding bits
                          "Zg==Zg==",  // padding in the middle
                          "Zm-v", "Zm_v", "Zm9v!", "Z=g="}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
}

TEST(Names, HashAndFailure) {
  EXPECT_EQ(hash_name(Hash::Sha1), "SHA-1");
  EXPECT_EQ(hash_name(Hash::Sha256), "SHA-256");
  EXPECT_EQ(failure_condition(Failure::Aborted), "aborted");
  EXPECT_EQ(failure_condition(Failure::AccountDisabled), "account-disabled");
  EXPECT_EQ(failure_condition(Failure::CredentialsExpired), "credentials-expired");
  EXPECT_EQ(failure_condition(Failure::EncryptionRequired), "encryption-required");
  EXPECT_EQ(failure_condition(Failure::IncorrectEncoding), "incorrect-encoding");
  EXPECT_EQ(failure_condition(Failure::InvalidAuthzid), "invalid-authzid");
  EXPECT_EQ(failure_condition(Failure::InvalidMechanism), "invalid-mechanism");
  EXPECT_EQ(failure_condition(Failure::MalformedRequest), "malformed-request");
  EXPECT_EQ(failure_condition(Failure::MechanismTooWeak), "mechanism-too-weak");
  EXPECT_EQ(failure_condition(Failure::NotAuthorized), "not-authorized");
  EXPECT_EQ(failure_condition(Failure::TemporaryAuthFailure), "temporary-auth-failure");
  EXPECT_EQ(failure_condition(Failure::None), "");
}

}  // namespace
}  // namespace parley::sasl

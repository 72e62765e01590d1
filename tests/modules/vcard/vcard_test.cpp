// vcard-temp (XEP-0054) end to end.
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

// Clients are created after the server so that they can refer to it.
class VcardModule : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>(
        with_config("[modules.vcard]\nmax_bytes = 2048\n"));
    server_->create_user("alice", "wonderland");
    server_->create_user("bob", "builder");
    server_->start();
    alice_ = std::make_unique<XmppClient>(*server_, "alice@localhost", "wonderland",
                                          XmppClient::Options{.resource = "a"});
    bob_ = std::make_unique<XmppClient>(*server_, "bob@localhost", "builder",
                                        XmppClient::Options{.resource = "b"});
    ASSERT_TRUE(alice_->connect()) << alice_->error();
    ASSERT_TRUE(bob_->connect()) << bob_->error();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_->log_tail() << "\n";
  }
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<XmppClient> alice_, bob_;
};

TEST_F(VcardModule, EmptyWhenNoneStored) {
  auto r = alice_->iq("<iq type='get' id='v1'><vCard xmlns='vcard-temp'/></iq>");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->attr_or("type"), "result") << to_xml(*r);
  const xml::Element* v = r->child("vCard", "vcard-temp");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->element_count(), 0u);
}

TEST_F(VcardModule, SetThenGetOwnAndOthers) {
  auto set = alice_->iq("<iq type='set' id='v2'><vCard xmlns='vcard-temp'><FN>Alice Liddell</FN>"
                        "<NICKNAME>alice</NICKNAME><EMAIL><USERID>alice@example.com</USERID></EMAIL></vCard></iq>");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->attr_or("type"), "result") << to_xml(*set);

  auto own = alice_->iq("<iq type='get' id='v3'><vCard xmlns='vcard-temp'/></iq>");
  ASSERT_TRUE(own);
  const xml::Element* v = own->child("vCard", "vcard-temp");
  ASSERT_NE(v, nullptr) << to_xml(*own);
  EXPECT_EQ(v->child_text("FN", "vcard-temp"), "Alice Liddell");
  ASSERT_NE(v->child("EMAIL", "vcard-temp"), nullptr);
  EXPECT_EQ(v->child("EMAIL", "vcard-temp")->child_text("USERID", "vcard-temp"), "alice@example.com");

  auto other = bob_->iq("<iq type='get' to='alice@localhost' id='v4'><vCard xmlns='vcard-temp'/></iq>");
  ASSERT_TRUE(other);
  ASSERT_EQ(other->attr_or("type"), "result") << to_xml(*other);
  EXPECT_EQ(other->attr_or("from"), "alice@localhost");
  const xml::Element* ov = other->child("vCard", "vcard-temp");
  ASSERT_NE(ov, nullptr);
  EXPECT_EQ(ov->child_text("NICKNAME", "vcard-temp"), "alice");

  // Replacing it keeps only the new one.
  auto replace = alice_->iq("<iq type='set' id='v5'><vCard xmlns='vcard-temp'><FN>A. L.</FN></vCard></iq>");
  ASSERT_TRUE(replace);
  EXPECT_EQ(replace->attr_or("type"), "result");
  auto again = bob_->iq("<iq type='get' to='alice@localhost' id='v6'><vCard xmlns='vcard-temp'/></iq>");
  ASSERT_TRUE(again);
  const xml::Element* av = again->child("vCard", "vcard-temp");
  ASSERT_NE(av, nullptr);
  EXPECT_EQ(av->child_text("FN", "vcard-temp"), "A. L.");
  EXPECT_EQ(av->child("NICKNAME", "vcard-temp"), nullptr);
}

TEST_F(VcardModule, OthersCannotSet) {
  auto r = bob_->iq("<iq type='set' to='alice@localhost' id='v7'><vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*r), "forbidden");
  auto own = alice_->iq("<iq type='get' id='v8'><vCard xmlns='vcard-temp'/></iq>");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->child("vCard", "vcard-temp")->child("FN", "vcard-temp"), nullptr);
}

TEST_F(VcardModule, MissingAccount) {
  auto r = alice_->iq("<iq type='get' to='nobody@localhost' id='v9'><vCard xmlns='vcard-temp'/></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*r), "service-unavailable");
}

TEST_F(VcardModule, OversizeIsNotAcceptable) {
  const std::string photo(4000, 'A');
  auto r = alice_->iq("<iq type='set' id='v10'><vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>" +
                      photo + "</BINVAL></PHOTO></vCard></iq>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attr_or("type"), "error");
  EXPECT_EQ(error_condition(*r), "not-acceptable");
}

TEST_F(VcardModule, SurvivesRestart) {
  auto set = alice_->iq("<iq type='set' id='v11'><vCard xmlns='vcard-temp'><FN>Persistent &amp; &lt;escaped&gt;</FN></vCard></iq>");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->attr_or("type"), "result");
  alice_.reset();
  bob_.reset();
  server_->restart();
  XmppClient bob(*server_, "bob@localhost", "builder");
  ASSERT_TRUE(bob.connect());
  auto r = bob.iq("<iq type='get' to='alice@localhost' id='v12'><vCard xmlns='vcard-temp'/></iq>");
  ASSERT_TRUE(r);
  const xml::Element* v = r->child("vCard", "vcard-temp");
  ASSERT_NE(v, nullptr) << to_xml(*r);
  EXPECT_EQ(v->child_text("FN", "vcard-temp"), "Persistent & <escaped>");
}

}  // namespace
}  // namespace parley::test

// The admin command registry and the commands that work without a server,
// run through execute() on an SQLite store in a temporary directory.
#include "server/admin.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "storage/store.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "parley_admin_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    config_.hosts = {"localhost", "example.org"};
    config_.data_dir = dir_;
    config_.storage.backend = "sqlite";
    config_.storage.sqlite_path = dir_ + "/parley.db";
    config_.scram_iterations = 4096;
    storage_ = storage::open_storage(config_.storage);
  }
  void TearDown() override {
    storage_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  CommandResult run(std::vector<std::string> argv) {
    CommandContext ctx{config_, *storage_, nullptr};
    return execute(ctx, argv);
  }

  std::vector<std::string> users(std::vector<std::string> argv = {"user", "list"}) {
    auto r = run(std::move(argv));
    EXPECT_EQ(r.exit, kExitOk) << r.text;
    std::vector<std::string> out;
    for (const auto& u : r.data.at("users").as_array()) out.emplace_back(u.as_string());
    return out;
  }

  std::string dir_;
  config::Config config_;
  std::unique_ptr<storage::Storage> storage_;
};

TEST_F(AdminTest, FindTakesTheLongestCommandName) {
  size_t consumed = 0;
  const Command* c = CommandRegistry::instance().find({"user", "add", "a@localhost"}, consumed);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->name, "user add");
  EXPECT_EQ(consumed, 2u);
  c = CommandRegistry::instance().find({"status"}, consumed);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(consumed, 1u);
  EXPECT_EQ(CommandRegistry::instance().find({"user"}, consumed), nullptr);
  EXPECT_EQ(CommandRegistry::instance().find({}, consumed), nullptr);
}

TEST_F(AdminTest, EveryCommandOfTheIssueIsRegistered) {
  const auto& all = CommandRegistry::instance().all();
  for (const char* name : {"status", "ping", "reload", "stop", "user add", "user passwd", "user del",
                           "user list", "user kick", "session list", "stats", "check config",
                           "about", "help"}) {
    auto it = all.find(name);
    ASSERT_NE(it, all.end()) << name;
    EXPECT_FALSE(it->second.summary.empty()) << name;
    EXPECT_EQ(it->second.usage.rfind(name, 0), 0u) << name << ": " << it->second.usage;
  }
  for (const char* name : {"user add", "user passwd", "user del", "user list"})
    EXPECT_FALSE(all.at(name).needs_server) << name;
  for (const char* name : {"status", "ping", "reload", "stop", "user kick", "session list", "stats"})
    EXPECT_TRUE(all.at(name).needs_server) << name;
}

TEST_F(AdminTest, UserAddListPasswdDelOffline) {
  auto r = run({"user", "add", "alice@localhost", "--password", "secret"});
  ASSERT_EQ(r.exit, kExitOk) << r.text;
  EXPECT_THAT(r.text, HasSubstr("alice@localhost"));
  EXPECT_EQ(r.data.at("jid").as_string(), "alice@localhost");
  EXPECT_FALSE(r.data.at("admin").as_bool());

  auto account = storage_->accounts().get({"localhost", "alice"});
  ASSERT_TRUE(account);
  EXPECT_FALSE(account->admin);
  ASSERT_EQ(account->credentials.size(), 2u);
  bool sha1 = false, sha256 = false;
  for (const auto& c : account->credentials) {
    EXPECT_EQ(c.iterations, 4096u);
    EXPECT_TRUE(sasl::verify_password(c, "secret"));
    EXPECT_FALSE(sasl::verify_password(c, "Secret"));
    sha1 |= c.hash == sasl::Hash::Sha1;
    sha256 |= c.hash == sasl::Hash::Sha256;
  }
  EXPECT_TRUE(sha1 && sha256);

  ASSERT_EQ(run({"user", "add", "bob@example.org", "--password=pw"}).exit, kExitOk);
  EXPECT_EQ(users(), (std::vector<std::string>{"alice@localhost", "bob@example.org"}));
  EXPECT_EQ(users({"user", "list", "example.org"}), (std::vector<std::string>{"bob@example.org"}));
  EXPECT_EQ(run({"user", "list"}).text, "alice@localhost\nbob@example.org");

  r = run({"user", "passwd", "alice@localhost", "--password", "new one"});
  ASSERT_EQ(r.exit, kExitOk) << r.text;
  account = storage_->accounts().get({"localhost", "alice"});
  ASSERT_TRUE(account);
  ASSERT_EQ(account->credentials.size(), 2u);
  for (const auto& c : account->credentials) {
    EXPECT_TRUE(sasl::verify_password(c, "new one"));
    EXPECT_FALSE(sasl::verify_password(c, "secret"));
  }

  r = run({"user", "del", "alice@localhost"});
  ASSERT_EQ(r.exit, kExitOk) << r.text;
  EXPECT_FALSE(storage_->accounts().exists({"localhost", "alice"}));
  EXPECT_EQ(users(), (std::vector<std::string>{"bob@example.org"}));

  r = run({"user", "del", "alice@localhost"});
  EXPECT_EQ(r.exit, kExitError);
  EXPECT_THAT(r.text, HasSubstr("no such user"));
  EXPECT_EQ(run({"user", "passwd", "alice@localhost", "--password", "x"}).exit, kExitError);
}

TEST_F(AdminTest, UserListIsEmptyAtFirst) {
  auto r = run({"user", "list"});
  EXPECT_EQ(r.exit, kExitOk);
  EXPECT_TRUE(r.data.at("users").as_array().empty());
  EXPECT_EQ(r.text, "no users");
}

TEST_F(AdminTest, UserAddAdmin) {
  auto r = run({"user", "add", "root@localhost", "--admin", "--password", "pw"});
  ASSERT_EQ(r.exit, kExitOk) << r.text;
  EXPECT_TRUE(r.data.at("admin").as_bool());
  auto account = storage_->accounts().get({"localhost", "root"});
  ASSERT_TRUE(account);
  EXPECT_TRUE(account->admin);
}

TEST_F(AdminTest, JidIsPrepared) {
  ASSERT_EQ(run({"user", "add", "Alice@LocalHost", "--password", "pw"}).exit, kExitOk);
  EXPECT_TRUE(storage_->accounts().exists({"localhost", "alice"}));
  EXPECT_EQ(users(), (std::vector<std::string>{"alice@localhost"}));
  // The same account, spelt differently, is a duplicate.
  EXPECT_EQ(run({"user", "add", "ALICE@localhost", "--password", "pw"}).exit, kExitError);
}

TEST_F(AdminTest, DuplicateAddFails) {
  ASSERT_EQ(run({"user", "add", "alice@localhost", "--password", "one"}).exit, kExitOk);
  auto r = run({"user", "add", "alice@localhost", "--password", "two"});
  EXPECT_EQ(r.exit, kExitError);
  EXPECT_THAT(r.text, HasSubstr("already exists"));
  EXPECT_THAT(json::serialize(r.data), HasSubstr("already exists"));
  // The first password still works.
  auto account = storage_->accounts().get({"localhost", "alice"});
  ASSERT_TRUE(account);
  EXPECT_TRUE(sasl::verify_password(account->credentials.front(), "one"));
}

TEST_F(AdminTest, BadJidsAreRefused) {
  for (const std::string jid : {"@localhost", "alice@", "alice@@localhost", "localhost",
                                "alice@localhost/phone", "alice@elsewhere.net", ""}) {
    auto r = run({"user", "add", jid, "--password", "pw"});
    EXPECT_EQ(r.exit, kExitError) << "'" << jid << "': " << r.text;
    EXPECT_FALSE(r.text.empty());
  }
  EXPECT_THAT(run({"user", "add", "alice@elsewhere.net", "--password", "pw"}).text,
              HasSubstr("not served"));
  EXPECT_TRUE(users().empty());
}

TEST_F(AdminTest, UsageErrorsExitWithTwoAndShowTheUsage) {
  auto r = run({"user", "add", "alice@localhost"});
  EXPECT_EQ(r.exit, kExitUsage);
  EXPECT_THAT(r.text, HasSubstr("password is required"));
  EXPECT_THAT(r.text, HasSubstr("usage: parleyctl user add JID"));
  EXPECT_EQ(std::string(r.data.at("usage").as_string()).rfind("parleyctl user add", 0), 0u);

  r = run({"user", "add"});
  EXPECT_EQ(r.exit, kExitUsage);
  r = run({"user", "add", "a@localhost", "b@localhost", "--password", "x"});
  EXPECT_EQ(r.exit, kExitUsage);
  r = run({"user", "add", "a@localhost", "--password"});
  EXPECT_EQ(r.exit, kExitUsage);
  EXPECT_THAT(r.text, HasSubstr("needs a value"));
  r = run({"user", "add", "a@localhost", "--pasword", "x"});
  EXPECT_EQ(r.exit, kExitUsage);
  EXPECT_THAT(r.text, HasSubstr("did you mean '--password'?"));
  r = run({"user", "list", "a", "b"});
  EXPECT_EQ(r.exit, kExitUsage);
  r = run({"about", "extra"});
  EXPECT_EQ(r.exit, kExitUsage);
  EXPECT_TRUE(users().empty());
}

TEST_F(AdminTest, EmptyPasswordIsRefused) {
  auto r = run({"user", "add", "alice@localhost", "--password", ""});
  EXPECT_EQ(r.exit, kExitError);
  EXPECT_FALSE(storage_->accounts().exists({"localhost", "alice"}));
}

TEST_F(AdminTest, UnknownCommandSuggestsTheNearest) {
  auto r = run({"statuss"});
  EXPECT_EQ(r.exit, kExitUsage);
  EXPECT_THAT(r.text, HasSubstr("unknown command 'statuss'"));
  EXPECT_THAT(r.text, HasSubstr("did you mean 'status'?"));
  EXPECT_EQ(r.data.at("suggestion").as_string(), "status");

  r = run({"user", "ad", "alice@localhost"});
  EXPECT_EQ(r.exit, kExitUsage);
  EXPECT_THAT(r.text, HasSubstr("did you mean 'user add'?"));

  r = run({"usr", "list"});
  EXPECT_EQ(r.exit, kExitUsage);
  EXPECT_THAT(r.text, HasSubstr("did you mean 'user list'?"));

  r = run({"user"});
  EXPECT_EQ(r.exit, kExitUsage);
  EXPECT_THAT(r.text, HasSubstr("user add"));
  EXPECT_THAT(r.text, HasSubstr("user kick"));

  r = run({"frobnicate"});
  EXPECT_EQ(r.exit, kExitUsage);
  EXPECT_THAT(r.text, HasSubstr("unknown command 'frobnicate'"));
  EXPECT_THAT(r.text, ::testing::Not(HasSubstr("did you mean")));

  r = run({});
  EXPECT_EQ(r.exit, kExitUsage);
  EXPECT_THAT(r.text, HasSubstr("usage: parleyctl"));
}

TEST_F(AdminTest, Help) {
  auto r = run({"help"});
  ASSERT_EQ(r.exit, kExitOk);
  for (const auto& [name, c] : CommandRegistry::instance().all()) EXPECT_THAT(r.text, HasSubstr(c.usage));
  EXPECT_THAT(r.text, HasSubstr("Exit codes"));
  EXPECT_EQ(r.data.at("commands").as_array().size(), CommandRegistry::instance().all().size());

  r = run({"help", "user", "add"});
  ASSERT_EQ(r.exit, kExitOk);
  EXPECT_THAT(r.text, HasSubstr("usage: parleyctl user add JID"));
  EXPECT_THAT(r.text, HasSubstr("--password-stdin"));
  EXPECT_EQ(r.data.at("name").as_string(), "user add");

  r = run({"help", "stats"});
  ASSERT_EQ(r.exit, kExitOk);
  EXPECT_THAT(r.text, HasSubstr("Needs a running parleyd"));

  r = run({"help", "user"});
  ASSERT_EQ(r.exit, kExitOk);
  EXPECT_THAT(r.text, HasSubstr("user passwd"));

  r = run({"user", "del", "--help"});
  ASSERT_EQ(r.exit, kExitOk);
  EXPECT_THAT(r.text, HasSubstr("usage: parleyctl user del JID"));

  // Anywhere among the options, and the command does not run.
  ASSERT_EQ(run({"user", "add", "alice@localhost", "--password", "pw"}).exit, kExitOk);
  r = run({"user", "del", "alice@localhost", "--help"});
  ASSERT_EQ(r.exit, kExitOk);
  EXPECT_THAT(r.text, HasSubstr("usage: parleyctl user del JID"));
  EXPECT_TRUE(storage_->accounts().exists({"localhost", "alice"}));
  // ... but "-h" as a password is a password.
  ASSERT_EQ(run({"user", "passwd", "alice@localhost", "--password", "-h"}).exit, kExitOk);

  // --help works offline even for a command that needs the server.
  r = run({"session", "list", "--help"});
  EXPECT_EQ(r.exit, kExitOk);

  r = run({"help", "stat"});
  EXPECT_EQ(r.exit, kExitUsage);
  EXPECT_THAT(r.text, HasSubstr("did you mean"));
}

TEST_F(AdminTest, ServerCommandsExitWithThreeOffline) {
  for (std::vector<std::string> argv : std::vector<std::vector<std::string>>{
           {"status"}, {"ping"}, {"reload"}, {"stop"}, {"stats"}, {"session", "list"},
           {"user", "kick", "alice@localhost"}}) {
    auto r = run(argv);
    EXPECT_EQ(r.exit, kExitNotRunning) << argv[0];
    EXPECT_EQ(r.text, "parleyd is not running");
    EXPECT_FALSE(r.data.at("running").as_bool());
  }
}

TEST_F(AdminTest, CheckConfig) {
  const std::string good = dir_ + "/good.toml", bad = dir_ + "/bad.toml";
  std::ofstream(good) << "[server]\nhosts = [\"localhost\"]\ndata_dir = \"" << dir_ << "/data\"\n";
  std::ofstream(bad) << "[server]\nhosts = [\"localhost\"]\n\n[storage]\nbacknd = \"sqlite\"\n"
                     << "\n[log]\nlevel = \"verbose\"\n";
  auto r = run({"check", "config", good});
  EXPECT_EQ(r.exit, kExitOk) << r.text;
  EXPECT_EQ(r.text, good + ": ok");
  EXPECT_TRUE(r.data.at("ok").as_bool());

  r = run({"check", "config", bad});
  EXPECT_EQ(r.exit, kExitError);
  EXPECT_THAT(r.text, HasSubstr("backnd"));
  EXPECT_THAT(r.text, HasSubstr("did you mean"));
  EXPECT_THAT(r.text, HasSubstr("verbose"));  // every error, not just the first
  EXPECT_FALSE(r.data.at("ok").as_bool());
  EXPECT_EQ(r.data.at("errors").as_array().size(), 2u);

  r = run({"check", "config", dir_ + "/missing.toml"});
  EXPECT_EQ(r.exit, kExitError);

  // Without a file: the one the context's config came from.
  config_.path = good;
  EXPECT_EQ(run({"check", "config"}).exit, kExitOk);
  config_.path.clear();
  EXPECT_EQ(run({"check", "config"}).exit, kExitUsage);
}

TEST_F(AdminTest, AboutOffline) {
  auto r = run({"about"});
  ASSERT_EQ(r.exit, kExitOk) << r.text;
  for (const char* what : {"parley", "OpenSSL", "expat", "SQLite", "libpqxx", "Boost"}) {
    EXPECT_THAT(r.text, HasSubstr(what));
    EXPECT_FALSE(r.data.at("versions").at(what).as_string().empty()) << what;
  }
  EXPECT_EQ(r.data.at("versions").at("parley").as_string(), PARLEY_VERSION);
  EXPECT_EQ(r.data.at("storage").at("backend").as_string(), "sqlite");
  EXPECT_GE(r.data.at("storage").at("schema_version").as_int64(), 1);
  EXPECT_FALSE(r.data.at("server").at("running").as_bool());
  EXPECT_TRUE(r.data.at("modules").as_object().contains("localhost"));
  EXPECT_THAT(r.text, HasSubstr("not running"));
}

}  // namespace
}  // namespace parley

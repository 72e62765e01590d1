// parleyctl against a real parleyd: the admin socket, the commands that need
// the server, and the offline fallback on the store once it has stopped.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/store.hpp"
#include "support/test_client.hpp"
#include "support/test_server.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley::test {
namespace {

namespace json = boost::json;

json::value parse_json(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  return v;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// parleyctl with `input` on its standard input; stdout and stderr together.
int ctl_with_stdin(const TestServer& server, const std::string& input,
                   const std::vector<std::string>& args, std::string* out = nullptr) {
  std::string cmd = "printf '%s\\n' " + quote(input) + " | " + PARLEYCTL_PATH + " --config " +
                    quote(server.config_path());
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::string output;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  int status = pclose(p);
  if (out) *out = output;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// True once `pid` has exited (a zombie waiting for its parent counts).
bool wait_exited(pid_t pid, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_field, comm, state;
    if (!(stat >> pid_field >> comm >> state) || state == "Z") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

class ParleyCtl : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  std::string socket_path() const { return server_.dir() + "/data/parleyctl.sock"; }
  TestServer server_;
};

TEST_F(ParleyCtl, StatusPingStatsAboutWhileRunning) {
  server_.start();
  std::string out;
  ASSERT_EQ(server_.ctl({"status"}, &out), 0) << out;
  EXPECT_NE(out.find("is running"), std::string::npos) << out;

  ASSERT_EQ(server_.ctl({"--json", "status"}, &out), 0) << out;
  auto status = parse_json(out);
  EXPECT_EQ(status.at("status").as_string(), "running");
  EXPECT_EQ(status.at("pid").as_int64(), server_.pid());
  EXPECT_EQ(status.at("version").as_string(), PARLEY_VERSION);

  ASSERT_EQ(server_.ctl({"ping"}, &out), 0) << out;
  EXPECT_EQ(out, "pong\n");

  ASSERT_EQ(server_.ctl({"stats", "--json"}, &out), 0) << out;
  auto stats = parse_json(out);
  for (const char* key : {"sessions", "uptime_seconds", "stanzas_in", "stanzas_out",
                          "auth_failures", "auth_successes", "connections_accepted"})
    EXPECT_TRUE(stats.as_object().contains(key)) << key << " in " << out;
  EXPECT_EQ(stats.at("sessions").to_number<int64_t>(), 0);

  ASSERT_EQ(server_.ctl({"about"}, &out), 0) << out;
  for (const char* what : {"parley", "OpenSSL", "expat", "SQLite", "libpqxx", "Boost", "running",
                           server_.config_path().c_str()})
    EXPECT_NE(out.find(what), std::string::npos) << what << " in " << out;

  ASSERT_EQ(server_.ctl({"reload"}, &out), 0) << out;

  // Usage errors come back from the server with exit code 2.
  EXPECT_EQ(server_.ctl({"statuss"}, &out), 2);
  EXPECT_NE(out.find("did you mean 'status'?"), std::string::npos) << out;
  EXPECT_EQ(server_.ctl({"--json", "user", "add", "x@localhost"}, &out), 2);
  EXPECT_TRUE(parse_json(out).as_object().contains("error")) << out;
}

// Replaces the first `from` in the server's configuration file by `to`.
void edit_config(const TestServer& server, const std::string& from, const std::string& to) {
  std::ifstream in(server.config_path());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in\n" << text;
  text.replace(at, from.size(), to);
  std::ofstream(server.config_path()) << text;
}

size_t occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST_F(ParleyCtl, ReloadAppliesTheLogLevelAndNamesWhatNeedsARestart) {
  server_.start();
  std::string out;
  // Quieter: the reload's own info line is already below the new level.
  edit_config(server_, "level = \"debug\"", "level = \"warn\"");
  edit_config(server_, "[limits]\n", "[limits]\nmax_resources_per_account = 3\n");
  ASSERT_EQ(server_.ctl({"reload"}, &out), 0) << out;
  EXPECT_NE(out.find("log.level (warn)"), std::string::npos) << out;
  EXPECT_NE(out.find("tls certificates"), std::string::npos) << out;
  EXPECT_NE(out.find("effective after a restart: limits"), std::string::npos) << out;

  // Louder again, through SIGHUP this time.
  edit_config(server_, "level = \"warn\"", "level = \"debug\"");
  ASSERT_EQ(::kill(server_.pid(), SIGHUP), 0);
  std::string log;
  // Each reload warns about the limits (warnings pass at any level here).
  const std::string limits_warning = "limits changed; it takes effect after a restart";
  for (int i = 0;
       i < 50 && (occurrences(log, limits_warning) < 2 || occurrences(log, "reloaded: ") < 1);
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream f(server_.dir() + "/parleyd.log");
    log.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  // Only the second reload logged at info: the first ran at "warn".
  EXPECT_EQ(occurrences(log, "reloaded: "), 1u) << log;
  EXPECT_EQ(occurrences(log, limits_warning), 2u) << log;

  // A broken file: parleyctl names the error; SIGHUP logs it and the server
  // keeps running on its old settings.
  edit_config(server_, "level = \"debug\"", "level = \"loud\"");
  EXPECT_EQ(server_.ctl({"reload"}, &out), 1) << out;
  EXPECT_NE(out.find("'log.level' must be one of"), std::string::npos) << out;
  ASSERT_EQ(::kill(server_.pid(), SIGHUP), 0);
  for (int i = 0; i < 50 && occurrences(log, "the running configuration stays") < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream f(server_.dir() + "/parleyd.log");
    log.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  EXPECT_EQ(occurrences(log, "the running configuration stays"), 1u) << log;
  EXPECT_NE(log.find("reload: " + server_.config_path()), std::string::npos) << log;
  EXPECT_EQ(occurrences(log, "got \"loud\""), 1u) << log;
  edit_config(server_, "level = \"loud\"", "level = \"debug\"");
  ASSERT_EQ(server_.ctl({"status"}, &out), 0) << out;
}

TEST_F(ParleyCtl, AdminSocketIsPrivate) {
  server_.start();
  struct stat st {};
  ASSERT_EQ(::stat(socket_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, ::getuid());
}

TEST_F(ParleyCtl, UserAddWhileRunningThenSessionListAndKick) {
  server_.start();
  std::string out;
  ASSERT_EQ(server_.ctl({"user", "add", "alice@localhost", "--password", "wonderland"}, &out), 0)
      << out;
  EXPECT_EQ(server_.ctl({"user", "add", "alice@localhost", "--password", "again"}, &out), 1) << out;
  ASSERT_EQ(server_.ctl({"user", "list"}, &out), 0);
  EXPECT_EQ(out, "alice@localhost\n");

  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "phone"});
  ASSERT_TRUE(alice.connect()) << alice.error();
  alice.available("<priority>5</priority>");

  ASSERT_EQ(server_.ctl({"session", "list"}, &out), 0) << out;
  EXPECT_NE(out.find("alice@localhost/phone"), std::string::npos) << out;
  EXPECT_NE(out.find("127.0.0.1"), std::string::npos) << out;

  ASSERT_EQ(server_.ctl({"--json", "session", "list"}, &out), 0) << out;
  auto sessions = parse_json(out).at("sessions").as_array();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].at("jid").as_string(), "alice@localhost/phone");
  EXPECT_EQ(sessions[0].at("address").as_string(), "127.0.0.1");
  EXPECT_TRUE(sessions[0].at("secure").as_bool());
  EXPECT_TRUE(sessions[0].at("available").as_bool());
  EXPECT_EQ(sessions[0].at("priority").as_int64(), 5);

  ASSERT_EQ(server_.ctl({"stats", "--json"}, &out), 0) << out;
  auto stats = parse_json(out);
  EXPECT_EQ(stats.at("sessions").to_number<int64_t>(), 1);
  EXPECT_GE(stats.at("auth_successes").to_number<int64_t>(), 1);
  EXPECT_GE(stats.at("connections_accepted").to_number<int64_t>(), 1);

  EXPECT_EQ(server_.ctl({"user", "kick", "alice@localhost/laptop"}, &out), 1) << out;
  ASSERT_EQ(server_.ctl({"user", "kick", "alice@localhost"}, &out), 0) << out;
  EXPECT_NE(out.find("alice@localhost/phone"), std::string::npos) << out;
  EXPECT_TRUE(alice.wait_disconnected());
  EXPECT_EQ(alice.error(), "policy-violation");

  // The account still exists: log in again, then kick by full JID.
  XmppClient again(server_, "alice@localhost", "wonderland", {.resource = "tablet"});
  ASSERT_TRUE(again.connect()) << again.error();
  ASSERT_EQ(server_.ctl({"user", "kick", "alice@localhost/tablet"}, &out), 0) << out;
  EXPECT_TRUE(again.wait_disconnected());
  // The session leaves the router once its stream has closed.
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(server_.ctl({"session", "list"}, &out), 0) << out;
    if (out == "no sessions\n") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(out, "no sessions\n");
}

TEST_F(ParleyCtl, PasswdAndDelWhileRunning) {
  server_.start();
  std::string out;
  ASSERT_EQ(server_.ctl({"user", "add", "bob@localhost", "--password", "builder"}, &out), 0) << out;
  ASSERT_EQ(server_.ctl({"user", "passwd", "bob@localhost", "--password", "digger"}, &out), 0)
      << out;
  {
    XmppClient old_password(server_, "bob@localhost", "builder");
    EXPECT_FALSE(old_password.connect());
  }
  XmppClient bob(server_, "bob@localhost", "digger", {.resource = "desk"});
  ASSERT_TRUE(bob.connect()) << bob.error();

  ASSERT_EQ(server_.ctl({"user", "del", "bob@localhost"}, &out), 0) << out;
  EXPECT_TRUE(bob.wait_disconnected());
  EXPECT_EQ(bob.error(), "policy-violation");
  XmppClient deleted(server_, "bob@localhost", "digger");
  EXPECT_FALSE(deleted.connect());
  EXPECT_EQ(server_.ctl({"user", "del", "bob@localhost"}, &out), 1) << out;
}

// The credentials stored for an account verify `password` (SQLite only: the
// harness does not expose the PostgreSQL database).
::testing::AssertionResult password_is(const TestServer& server, const std::string& user,
                                       const std::string& password) {
  if (server.backend() != "sqlite") return ::testing::AssertionSuccess();
  storage::StorageConfig config;
  config.sqlite_path = server.dir() + "/data/parley.db";
  auto store = storage::open_storage(config);
  auto account = store->accounts().get({"localhost", user});
  if (!account) return ::testing::AssertionFailure() << "no account " << user;
  if (account->credentials.size() != 2)
    return ::testing::AssertionFailure() << account->credentials.size() << " credentials";
  for (const auto& c : account->credentials)
    if (!sasl::verify_password(c, password))
      return ::testing::AssertionFailure() << "the password of " << user << " is not " << password;
  return ::testing::AssertionSuccess();
}

TEST_F(ParleyCtl, PasswordFromStandardInput) {
  server_.start();
  std::string out;
  ASSERT_EQ(ctl_with_stdin(server_, "it's a secret",
                           {"user", "add", "carol@localhost", "--password-stdin"}, &out),
            0)
      << out;
  EXPECT_TRUE(password_is(server_, "carol", "it's a secret"));
  server_.stop();
  // Offline too.
  ASSERT_EQ(ctl_with_stdin(server_, "new secret",
                           {"user", "passwd", "carol@localhost", "--password-stdin"}, &out),
            0)
      << out;
  EXPECT_TRUE(password_is(server_, "carol", "new secret"));
  // Nothing on standard input: an error, not an empty password.
  std::string cmd = std::string(PARLEYCTL_PATH) + " --config " + quote(server_.config_path()) +
                    " user passwd carol@localhost --password-stdin < /dev/null 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  out.clear();
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  EXPECT_EQ(WEXITSTATUS(pclose(p)), 1) << out;
  EXPECT_TRUE(password_is(server_, "carol", "new secret"));
}

TEST_F(ParleyCtl, PasswordFromStandardInputLogsIn) {
  server_.start();
  std::string out;
  ASSERT_EQ(ctl_with_stdin(server_, "it's a secret",
                           {"user", "add", "carol@localhost", "--password-stdin"}, &out),
            0)
      << out;
  XmppClient carol(server_, "carol@localhost", "it's a secret");
  EXPECT_TRUE(carol.connect()) << carol.error();
}

TEST_F(ParleyCtl, StopEndsTheServerThenAccountCommandsWorkOffline) {
  server_.start();
  std::string out;
  ASSERT_EQ(server_.ctl({"user", "add", "dave@localhost", "--password", "pw"}, &out), 0) << out;

  ASSERT_EQ(server_.ctl({"stop"}, &out), 0) << out;
  EXPECT_EQ(out, "parleyd is shutting down\n");
  ASSERT_TRUE(wait_exited(server_.pid(), std::chrono::seconds(10)));
  EXPECT_EQ(server_.stop(), 0);  // reaps it: the exit status after the stop command
  EXPECT_FALSE(std::filesystem::exists(socket_path()));

  EXPECT_EQ(server_.ctl({"status"}, &out), 3) << out;
  EXPECT_EQ(out, "parleyd is not running\n");
  EXPECT_EQ(server_.ctl({"stats", "--json"}, &out), 3) << out;
  EXPECT_EQ(parse_json(out).at("running").as_bool(), false);
  EXPECT_EQ(server_.ctl({"session", "list"}, &out), 3) << out;
  EXPECT_EQ(server_.ctl({"user", "kick", "dave@localhost"}, &out), 3) << out;

  ASSERT_EQ(server_.ctl({"user", "list"}, &out), 0) << out;
  EXPECT_EQ(out, "dave@localhost\n");
  ASSERT_EQ(server_.ctl({"user", "add", "erin@localhost", "--password", "pw2", "--admin"}, &out), 0)
      << out;
  ASSERT_EQ(server_.ctl({"--json", "user", "list"}, &out), 0) << out;
  EXPECT_EQ(json::serialize(parse_json(out)), R"({"users":["dave@localhost","erin@localhost"]})");
  ASSERT_EQ(server_.ctl({"about"}, &out), 0) << out;
  EXPECT_NE(out.find("not running"), std::string::npos) << out;

  // The server started again sees what was changed offline.
  server_.start();
  EXPECT_EQ(server_.ctl({"status"}, &out), 0) << out;
  ASSERT_EQ(server_.ctl({"user", "del", "dave@localhost"}, &out), 0) << out;
  ASSERT_EQ(server_.ctl({"user", "list"}, &out), 0) << out;
  EXPECT_EQ(out, "erin@localhost\n");
}

TEST_F(ParleyCtl, StopClosesClientSessionsWithSystemShutdown) {
  server_.start();
  std::string out;
  ASSERT_EQ(server_.ctl({"user", "add", "dave@localhost", "--password", "pw"}, &out), 0) << out;
  XmppClient dave(server_, "dave@localhost", "pw");
  ASSERT_TRUE(dave.connect()) << dave.error();
  ASSERT_EQ(server_.ctl({"stop"}, &out), 0) << out;
  EXPECT_TRUE(dave.wait_disconnected());
  EXPECT_EQ(dave.error(), "system-shutdown");
  ASSERT_TRUE(wait_exited(server_.pid(), std::chrono::seconds(10)));
  EXPECT_EQ(server_.stop(), 0);
}

TEST_F(ParleyCtl, OfflineBeforeTheFirstStart) {
  std::string out;
  EXPECT_EQ(server_.ctl({"status"}, &out), 3) << out;
  EXPECT_EQ(server_.ctl({"ping"}, &out), 3) << out;
  ASSERT_EQ(server_.ctl({"help"}, &out), 0) << out;
  EXPECT_NE(out.find("user add"), std::string::npos);
  ASSERT_EQ(server_.ctl({"help", "user", "kick"}, &out), 0) << out;
  EXPECT_NE(out.find("usage: parleyctl user kick JID"), std::string::npos) << out;
  ASSERT_EQ(server_.ctl({"check", "config"}, &out), 0) << out;
  EXPECT_EQ(out, server_.config_path() + ": ok\n");
  EXPECT_EQ(server_.ctl({"frobnicate"}, &out), 2) << out;
  ASSERT_EQ(server_.ctl({"user", "add", "frank@localhost", "--password", "pw"}, &out), 0) << out;
  EXPECT_EQ(server_.ctl({"user", "add", "frank@nowhere.example", "--password", "pw"}, &out), 1)
      << out;
  server_.start();
  ASSERT_EQ(server_.ctl({"user", "list"}, &out), 0) << out;
  EXPECT_EQ(out, "frank@localhost\n");
}

TEST_F(ParleyCtl, AccountCreatedOfflineCanLogIn) {
  std::string out;
  ASSERT_EQ(server_.ctl({"user", "add", "frank@localhost", "--password", "pw"}, &out), 0) << out;
  server_.start();
  XmppClient frank(server_, "frank@localhost", "pw");
  EXPECT_TRUE(frank.connect()) << frank.error();
}

TEST_F(ParleyCtl, CheckConfigReportsEveryError) {
  const std::string bad = server_.dir() + "/bad.toml";
  std::ofstream(bad) << "[server]\nhosts = [\"localhost\"]\n[storage]\nbacknd = \"sqlite\"\n"
                        "[log]\nlevel = \"loud\"\n";
  std::string out;
  EXPECT_EQ(server_.ctl({"check", "config", bad}, &out), 1) << out;
  EXPECT_NE(out.find("backnd"), std::string::npos) << out;
  EXPECT_NE(out.find("loud"), std::string::npos) << out;
  // parleyctl given a broken config: check config still reports, other commands fail.
  std::string cmd = std::string(PARLEYCTL_PATH) + " --config " + quote(bad) + " check config 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  out.clear();
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int status = pclose(p);
  EXPECT_EQ(WEXITSTATUS(status), 1) << out;
  EXPECT_NE(out.find("backnd"), std::string::npos) << out;
}

TEST_F(ParleyCtl, StaleSocketAfterACrash) {
  server_.start();
  server_.kill();  // SIGKILL: the socket file stays behind
  ASSERT_TRUE(std::filesystem::exists(socket_path()));
  std::string out;
  EXPECT_EQ(server_.ctl({"status"}, &out), 3) << out;
  EXPECT_EQ(server_.ctl({"user", "list"}, &out), 0) << out;
  server_.start();  // removes the stale socket and binds a new one
  EXPECT_EQ(server_.ctl({"status"}, &out), 0) << out;
}

}  // namespace
}  // namespace parley::test

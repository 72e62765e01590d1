// The benchmark's load generator (bench/loadgen) against a real parleyd: a
// smoke test that the generator and the server still work together. Small
// sizes and no timing assertions (the benchmark is not part of pass/fail):
// every login succeeds and no chat message is lost.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "support/test_server.hpp"

namespace parley::test {
namespace {

#ifdef PARLEY_LOADGEN_PATH

namespace json = boost::json;

struct LoadgenRun {
  int status = -1;
  std::string output;   // stdout and stderr
  json::object result;  // the JSON line
};

LoadgenRun loadgen(const std::vector<std::string>& args) {
  std::string cmd = PARLEY_LOADGEN_PATH;
  for (const auto& a : args) {
    cmd += " '";
    cmd += a;
    cmd += "'";
  }
  cmd += " 2>&1";
  LoadgenRun run;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return run;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) run.output.append(buf, n);
  const int status = pclose(p);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  // The report is the one line that is a JSON object.
  size_t pos = 0;
  while (pos < run.output.size()) {
    size_t end = run.output.find('\n', pos);
    if (end == std::string::npos) end = run.output.size();
    const std::string line = run.output.substr(pos, end - pos);
    if (!line.empty() && line.front() == '{') {
      boost::system::error_code ec;
      json::value v = json::parse(line, ec);
      if (!ec && v.is_object()) run.result = v.as_object();
    }
    pos = end + 1;
  }
  return run;
}

double number(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (!v) return -1;
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  if (v->is_double()) return v->as_double();
  return -1;
}

TestServerOptions bench_options() {
  TestServerOptions o;
  o.limits =
      "max_connections_per_address = 10000\n"
      "new_connections_per_address_per_second = 10000\n"
      "new_connections_per_address_burst = 10000\n";
  return o;
}

std::vector<std::string> connection_args(const TestServer& server) {
  return {"--port",       std::to_string(server.c2s_port()),
          "--domain",     "localhost",
          "--password",   "benchpass",
          "--server-pid", std::to_string(server.pid())};
}

TEST(Loadgen, LoginAndChatWithoutLoss) {
  TestServer server(bench_options());
  server.start();
  constexpr int kAccounts = 20;
  for (int i = 0; i < kAccounts; ++i) server.create_user("bench" + std::to_string(i), "benchpass");

  // login: STARTTLS + SCRAM + bind + presence, 5 at a time.
  auto args = connection_args(server);
  std::vector<std::string> login = {"login", "--count", std::to_string(kAccounts), "--concurrency",
                                    "5"};
  login.insert(login.end(), args.begin(), args.end());
  LoadgenRun l = loadgen(login);
  ASSERT_EQ(l.status, 0) << l.output << server.log_tail();
  ASSERT_FALSE(l.result.empty()) << l.output;
  EXPECT_EQ(number(l.result, "login_ok"), kAccounts) << l.output;
  EXPECT_EQ(number(l.result, "login_failed"), 0) << l.output;
  EXPECT_EQ(number(l.result, "tls_full_handshakes"), kAccounts) << l.output;

  // login --resume: every account's second login resumes the TLS session of
  // its first, which the server keeps because both ends closed cleanly.
  login.push_back("--resume");
  LoadgenRun resumed = loadgen(login);
  ASSERT_EQ(resumed.status, 0) << resumed.output << server.log_tail();
  EXPECT_EQ(number(resumed.result, "login_ok"), kAccounts) << resumed.output;
  EXPECT_EQ(number(resumed.result, "tls_resumed_handshakes"), kAccounts) << resumed.output;
  EXPECT_EQ(number(resumed.result, "tls_full_handshakes"), 0) << resumed.output;

  // chat: 5 pairs, 100 msgs/s for 2 s = 200 messages, none lost.
  std::vector<std::string> chat = {"chat", "--pairs",  "5", "--rate",  "100", "--duration",
                                   "2",    "--warmup", "0", "--drain", "5"};
  chat.insert(chat.end(), args.begin(), args.end());
  LoadgenRun c = loadgen(chat);
  ASSERT_EQ(c.status, 0) << c.output << server.log_tail();
  ASSERT_FALSE(c.result.empty()) << c.output;
  EXPECT_EQ(number(c.result, "sent"), 200) << c.output;
  EXPECT_EQ(number(c.result, "received"), 200) << c.output;
  EXPECT_EQ(number(c.result, "lost"), 0) << c.output;
  EXPECT_EQ(number(c.result, "dead_connections"), 0) << c.output;
  EXPECT_GT(number(c.result, "latency_p50_ms"), 0) << c.output;
  // Every message reached its recipient's socket before the generator parsed
  // it, so each percentile at arrival is at most the same one after parsing.
  EXPECT_GT(number(c.result, "arrival_latency_p50_ms"), 0) << c.output;
  EXPECT_LE(number(c.result, "arrival_latency_p99_ms"), number(c.result, "latency_p99_ms"))
      << c.output;
  EXPECT_LE(number(c.result, "arrival_latency_max_ms"), number(c.result, "latency_max_ms"))
      << c.output;
}

#else

TEST(Loadgen, LoginAndChatWithoutLoss) {
  GTEST_SKIP() << "built without PARLEY_BENCH";
}

#endif

}  // namespace
}  // namespace parley::test

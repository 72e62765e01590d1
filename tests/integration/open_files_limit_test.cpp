// parleyd raises its soft limit of open files to the hard limit at start, so
// a server launched with a service manager's low default (systemd's 1024)
// still takes as many connections as the admin's hard limit allows.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

using namespace std::chrono_literals;

// "Max open files  <soft>  <hard>  files" of /proc/PID/limits.
std::pair<uint64_t, uint64_t> open_files_limits(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(std::string("Max open files").size()));
    std::string soft, hard;
    fields >> soft >> hard;
    auto value = [](const std::string& v) {
      return v == "unlimited" ? RLIM_INFINITY : std::stoull(v);
    };
    return {value(soft), value(hard)};
  }
  return {0, 0};
}

TEST(OpenFilesLimit, ALowInheritedSoftLimitIsRaisedAndMoreClientsThanItAreServed) {
  rlimit inherited{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &inherited), 0);
  constexpr rlim_t kLowSoftLimit = 128;
  constexpr int kClients = 200;  // more than the low limit, with room for the test's own
  if (inherited.rlim_max != RLIM_INFINITY && inherited.rlim_max < 2 * kClients + 64)
    GTEST_SKIP() << "hard limit of open files too low: " << inherited.rlim_max;

  TestServerOptions options;
  options.limits =
      "max_connections_per_address = 1000\n"
      "new_connections_per_address_per_second = 1000\n"
      "new_connections_per_address_burst = 1000\n";
  TestServer server(options);
  // parleyd inherits the low soft limit from this process, as from a service manager.
  rlimit low = inherited;
  low.rlim_cur = kLowSoftLimit;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  try {
    server.start();
  } catch (...) {
    setrlimit(RLIMIT_NOFILE, &inherited);
    throw;
  }
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &inherited), 0);

  const auto [soft, hard] = open_files_limits(server.pid());
  EXPECT_EQ(hard, inherited.rlim_max);
  EXPECT_GT(soft, kLowSoftLimit);
  if (inherited.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(soft, inherited.rlim_max);
  }

  // Every client gets its stream features while all of them stay connected.
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    auto c = std::make_unique<RawClient>(server.c2s_port());
    ASSERT_TRUE(c->ok()) << "client " << i;
    c->send(RawClient::stream_open());
    ASSERT_TRUE(c->read_until("</stream:features>", 5s))
        << "client " << i << " got: " << c->received() << server.log_tail();
    clients.push_back(std::move(c));
  }
}

}  // namespace
}  // namespace parley::test

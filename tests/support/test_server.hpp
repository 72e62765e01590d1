#pragma once
// Starts a real parleyd on ephemeral loopback ports with a temporary data
// directory, for integration tests. The storage backend follows the
// PARLEY_TEST_BACKEND environment variable ("sqlite" by default, or
// "postgresql" with PARLEY_TEST_PG_URI naming a server where a fresh database
// is created for each TestServer).
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace parley::storage {
class Storage;
}

namespace parley::test {

struct TestServerOptions {
  std::vector<std::string> hosts{"localhost"};
  bool require_starttls = true;
  std::string
      extra_config;  // TOML appended to the generated file (e.g. "[modules.offline]\nquota = 2\n")
  std::string limits;        // lines inside [limits]
  std::string server_extra;  // lines inside [server]
  // Extra environment of the parleyd process (e.g. LD_PRELOAD of libfaketime).
  std::vector<std::pair<std::string, std::string>> environment;
  // Lines inside [http] (the HTTP listener is on, on an ephemeral port).
  std::string http;
  // Run parleyd-test: parleyd plus the test-only modules of
  // support/parleyd_test/ (the hook recorder, see hook_events()).
  bool test_modules = false;
};

class TestServer {
 public:
  explicit TestServer(TestServerOptions options = {});
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // Starts parleyd and waits until its listeners are bound. Throws on failure.
  void start();
  // SIGTERM and wait; returns the exit status (or -1 when it had to be killed).
  int stop();
  // SIGKILL and wait (crash simulation).
  void kill();
  void restart() {
    stop();
    start();
  }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Creates an account directly in the store (works with the server running).
  void create_user(const std::string& user, const std::string& password,
                   const std::string& domain = "localhost");
  // Opens this server's database from the test (works with the server running).
  std::unique_ptr<storage::Storage> open_storage() const;

  uint16_t c2s_port() const { return c2s_port_; }
  uint16_t direct_tls_port() const { return direct_tls_port_; }
  // 0 when [http] is disabled.
  uint16_t http_port() const { return http_port_; }
  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  std::string log_tail(size_t bytes = 8000) const;
  // With test_modules: the hook events recorded so far, in the order fired,
  // one serialized <event xmlns='urn:parley:test:hooks' type=...> each.
  std::vector<std::string> hook_events() const;
  // Runs parleyctl with this server's config; returns the exit code, output in `out`.
  int ctl(const std::vector<std::string>& args, std::string* out = nullptr) const;
  const std::string& backend() const { return backend_; }
  // PostgreSQL only: this server's own database and the URI of the cluster's
  // admin database (to simulate the database going away).
  const std::string& pg_database() const { return pg_db_; }

 private:
  void write_config();
  TestServerOptions options_;
  std::string dir_, config_path_, backend_, pg_uri_, pg_db_;
  pid_t pid_ = -1;
  uint16_t c2s_port_ = 0, direct_tls_port_ = 0, http_port_ = 0;
};

}  // namespace parley::test

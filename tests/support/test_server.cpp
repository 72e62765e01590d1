#include "support/test_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "storage/store.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley::test {

namespace fs = std::filesystem;

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string make_temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "parley-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

std::atomic<int> pg_counter{0};

}  // namespace

TestServer::TestServer(TestServerOptions options) : options_(std::move(options)) {
  dir_ = make_temp_dir();
  config_path_ = dir_ + "/parley.toml";
  backend_ = env_or("PARLEY_TEST_BACKEND", "sqlite");
  if (backend_ == "postgresql") {
    const std::string admin_uri = env_or("PARLEY_TEST_PG_URI", "");
    if (admin_uri.empty())
      throw std::runtime_error("PARLEY_TEST_BACKEND=postgresql needs PARLEY_TEST_PG_URI");
    pg_db_ = "parley_it_" + std::to_string(getpid()) + "_" + std::to_string(pg_counter++) + "_" +
             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
    pqxx::connection c(admin_uri);
    pqxx::nontransaction tx(c);
    tx.exec("CREATE DATABASE " + tx.quote_name(pg_db_));
    pg_uri_ = admin_uri + " dbname=" + pg_db_;
  }
  write_config();
}

TestServer::~TestServer() {
  if (pid_ > 0) stop();
  if (!pg_db_.empty()) {
    try {
      pqxx::connection c(env_or("PARLEY_TEST_PG_URI", ""));
      pqxx::nontransaction tx(c);
      tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(pg_db_));
    } catch (...) {
    }
  }
  if (!std::getenv("PARLEY_TEST_KEEP")) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

void TestServer::write_config() {
  std::ostringstream c;
  c << "[server]\nhosts = [";
  for (size_t i = 0; i < options_.hosts.size(); ++i)
    c << (i ? ", " : "") << '"' << options_.hosts[i] << '"';
  c << "]\ndata_dir = \"" << dir_ << "/data\"\nthreads = 2\n" << options_.server_extra << "\n";
  c << "[[listeners]]\nkind = \"c2s\"\nbind = \"127.0.0.1\"\nport = 0\n\n";
  c << "[[listeners]]\nkind = \"c2s_direct_tls\"\nbind = \"127.0.0.1\"\nport = 0\n\n";
  c << "[tls]\nrequire_starttls = " << (options_.require_starttls ? "true" : "false") << "\n\n";
  c << "[storage]\n";
  if (backend_ == "postgresql")
    c << "backend = \"postgresql\"\npostgresql_uri = \"" << pg_uri_ << "\"\npool_size = 4\n\n";
  else
    c << "backend = \"sqlite\"\nsqlite_path = \"parley.db\"\n\n";
  c << "[limits]\n" << options_.limits << "\n\n";
  c << "[http]\nbind = \"127.0.0.1\"\nport = 0\n" << options_.http << "\n\n";
  c << "[log]\nlevel = \"debug\"\nfile = \"" << dir_ << "/parleyd.log\"\n\n";
  c << options_.extra_config << "\n";
  std::ofstream(config_path_) << c.str();
}

void TestServer::start() {
  const std::string ports_file = dir_ + "/data/ports";
  std::error_code ec;
  fs::remove(ports_file, ec);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, STDIN_FILENO);
    int log = open((dir_ + "/stderr.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    for (const auto& [name, value] : options_.environment) setenv(name.c_str(), value.c_str(), 1);
    const char* binary = options_.test_modules ? PARLEYD_TEST_PATH : PARLEYD_PATH;
    execl(binary, "parleyd", "--config", config_path_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("parleyd exited during start-up:\n" + log_tail());
    }
    std::ifstream in(ports_file);
    std::string kind, bind;
    unsigned port;
    c2s_port_ = direct_tls_port_ = http_port_ = 0;
    while (in >> kind >> bind >> port) {
      if (kind == "c2s") c2s_port_ = static_cast<uint16_t>(port);
      if (kind == "c2s_direct_tls") direct_tls_port_ = static_cast<uint16_t>(port);
      if (kind == "http") http_port_ = static_cast<uint16_t>(port);
    }
    // The admin socket appears after the listeners: the server is fully up.
    if (c2s_port_ && direct_tls_port_ && fs::exists(dir_ + "/data/parleyctl.sock")) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill();
  throw std::runtime_error("parleyd did not start in time:\n" + log_tail());
}

int TestServer::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill();
  return -1;
}

void TestServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::unique_ptr<storage::Storage> TestServer::open_storage() const {
  storage::StorageConfig sc;
  sc.backend = backend_;
  sc.sqlite_path = dir_ + "/data/parley.db";
  sc.postgresql_uri = pg_uri_;
  sc.pool_size = 1;
  fs::create_directories(dir_ + "/data");
  return storage::open_storage(sc);
}

void TestServer::create_user(const std::string& user, const std::string& password,
                             const std::string& domain) {
  auto store = open_storage();
  storage::Account account;
  account.key = {domain, user};
  account.created = storage::Clock::now();
  account.credentials.push_back(sasl::make_credential(sasl::Hash::Sha1, password, 4096));
  account.credentials.push_back(sasl::make_credential(sasl::Hash::Sha256, password, 4096));
  if (!store->accounts().create(account)) throw std::runtime_error("account exists: " + user);
}

std::string TestServer::log_tail(size_t bytes) const {
  std::string out;
  for (const char* name : {"/parleyd.log", "/stderr.log"}) {
    std::ifstream in(dir_ + name, std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), {});
    if (s.size() > bytes) s = s.substr(s.size() - bytes);
    out += std::string("--- ") + name + "\n" + s;
  }
  return out;
}

std::vector<std::string> TestServer::hook_events() const {
  std::vector<std::string> out;
  std::ifstream in(dir_ + "/data/hook-events.xml");
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

int TestServer::ctl(const std::vector<std::string>& args, std::string* out) const {
  // Appended piecewise: GCC 12 warns (-Warray-bounds) on the chained operator+.
  std::string cmd = PARLEYCTL_PATH;
  cmd += " --config '";
  cmd += config_path_;
  cmd += "'";
  for (const auto& a : args) cmd += " '" + a + "'";
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

}  // namespace parley::test

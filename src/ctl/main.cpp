// parleyctl: the admin CLI. It sends the command to parleyd over the admin
// socket; when parleyd is not running, account commands run here, directly on
// the store, and commands that need the server exit with 3.
//
//   parleyctl [--config FILE] [--socket PATH] [--json] COMMAND [ARGS...]
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "server/admin.hpp"
#include "storage/store.hpp"
#include "xmpp/config.hpp"
#include "xmpp/module.hpp"

namespace {

namespace json = boost::json;
using parley::CommandResult;

constexpr int kReplyTimeoutMs = 300 * 1000;
constexpr size_t kMaxReplyBytes = 256u * 1024 * 1024;

// Opens the store on first use, so that help, usage errors and commands that
// need the server never touch the database.
class LazyStorage final : public parley::storage::Storage {
 public:
  explicit LazyStorage(parley::storage::StorageConfig config) : config_(std::move(config)) {}
  parley::storage::AccountStore& accounts() override { return open().accounts(); }
  parley::storage::RosterStore& roster() override { return open().roster(); }
  parley::storage::OfflineStore& offline() override { return open().offline(); }
  parley::storage::KeyValueStore& keyval() override { return open().keyval(); }
  parley::storage::ArchiveStore& archive() override { return open().archive(); }
  parley::storage::BlockListStore& blocklist() override { return open().blocklist(); }
  parley::storage::MucStore& muc() override { return open().muc(); }
  std::string backend_name() const override { return config_.backend; }
  int schema_version() override { return open().schema_version(); }
  void flush() override {
    if (store_) store_->flush();
  }

 private:
  parley::storage::Storage& open() {
    if (!store_) {
      if (config_.backend == "sqlite") {
        // The server has never run: create its data directory like it would.
        std::error_code ec;
        auto dir = std::filesystem::path(config_.sqlite_path).parent_path();
        if (!dir.empty()) std::filesystem::create_directories(dir, ec);
      }
      config_.pool_size = 1;
      store_ = parley::storage::open_storage(config_);
    }
    return *store_;
  }

  parley::storage::StorageConfig config_;
  std::unique_ptr<parley::storage::Storage> store_;
};

enum class Connect { Ok, NotRunning, Failed };

struct Connection {
  int fd = -1;
  ~Connection() {
    if (fd >= 0) ::close(fd);
  }
};

Connect connect_socket(const std::string& path, Connection& conn, std::string& error) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    error = "admin socket path is too long: " + path;
    return Connect::Failed;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  conn.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (conn.fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return Connect::Failed;
  }
  if (::connect(conn.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return Connect::Ok;
  const int err = errno;
  // No socket file, or a stale one left by a crash: nobody is serving.
  if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR) return Connect::NotRunning;
  error = "cannot connect to the admin socket " + path + ": " + std::strerror(err);
  if (err == EACCES || err == EPERM) error += " (run parleyctl as the user parleyd runs as)";
  return Connect::Failed;
}

std::optional<CommandResult> forward(Connection& conn, const std::vector<std::string>& args,
                                     bool json_output, std::string& error) {
  json::object request;
  json::array list;
  for (const auto& a : args) list.emplace_back(a);
  request["args"] = std::move(list);
  request["json"] = json_output;
  const std::string line = json::serialize(request) + "\n";
  for (size_t sent = 0; sent < line.size();) {
    ssize_t n = ::send(conn.fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = std::string("cannot send the command to parleyd: ") + std::strerror(errno);
      return std::nullopt;
    }
    sent += static_cast<size_t>(n);
  }

  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReplyTimeoutMs);
  for (;;) {
    if (auto nl = reply.find('\n'); nl != std::string::npos) {
      reply.resize(nl);
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    pollfd p{conn.fd, POLLIN, 0};
    int r = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      error = "parleyd did not answer within " + std::to_string(kReplyTimeoutMs / 1000) + " s";
      return std::nullopt;
    }
    char buf[65536];
    ssize_t n = ::recv(conn.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = "parleyd closed the connection without answering (is it shutting down?)";
      return std::nullopt;
    }
    reply.append(buf, static_cast<size_t>(n));
    if (reply.size() > kMaxReplyBytes) {
      error = "the reply from parleyd is too large";
      return std::nullopt;
    }
  }

  boost::system::error_code ec;
  json::value v = json::parse(reply, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  const json::value* exit = o ? o->if_contains("exit") : nullptr;
  const json::value* text = o ? o->if_contains("text") : nullptr;
  if (!exit || !exit->is_int64() || !text || !text->is_string()) {
    error = "malformed reply from parleyd";
    return std::nullopt;
  }
  CommandResult result;
  result.exit = static_cast<int>(exit->as_int64());
  result.text = std::string(text->as_string());
  if (const json::value* data = o->if_contains("data")) result.data = *data;
  return result;
}

void usage(std::ostream& out) {
  out << "usage: parleyctl [--config FILE] [--socket PATH] [--json] COMMAND [ARGS...]\n"
         "  --config FILE   configuration (default conf/parley.toml), as given to parleyd\n"
         "  --socket PATH   admin socket (default: server.admin_socket from the config)\n"
         "  --json          print the result as JSON\n"
         "Run 'parleyctl help' for the commands.\n";
}

int print(const CommandResult& r, bool json_output) {
  if (json_output) {
    std::cout << json::serialize(r.data) << "\n";
  } else if (!r.text.empty()) {
    (r.exit == parley::kExitOk ? std::cout : std::cerr) << r.text << "\n";
  }
  std::cout.flush();
  return r.exit;
}

CommandResult local_error(int exit, std::string text) {
  CommandResult r;
  r.exit = exit;
  r.text = std::move(text);
  json::object o;
  o["error"] = r.text;
  r.data = std::move(o);
  return r;
}

bool is_help_request(const std::vector<std::string>& words) {
  if (words.empty() || words[0] == "help") return true;
  for (size_t k = 0; k < words.size(); ++k) {
    if (words[k] == "--") break;
    if (k > 0 && words[k - 1] == "--password") continue;  // a password, not an option
    if (words[k] == "--help" || words[k] == "-h") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // the store logs its migrations at info
  std::string config_path = "conf/parley.toml";
  std::string socket_path;
  bool json_output = false;
  std::vector<std::string> words;

  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& name) -> std::optional<std::string> {
      if (a.rfind(name + "=", 0) == 0) return a.substr(name.size() + 1);
      if (a == name) {
        if (i + 1 >= argc) {
          std::cerr << "parleyctl: " << name << " needs a value\n";
          return std::nullopt;
        }
        return std::string(argv[++i]);
      }
      return std::nullopt;
    };
    if (a == "--config" || a == "-c" || a.rfind("--config=", 0) == 0) {
      auto v = value(a == "-c" ? "-c" : "--config");
      if (!v) return parley::kExitUsage;
      config_path = *v;
    } else if (a == "--socket" || a.rfind("--socket=", 0) == 0) {
      auto v = value("--socket");
      if (!v) return parley::kExitUsage;
      socket_path = *v;
    } else if (a == "--json") {
      json_output = true;
    } else if (a == "--help" || a == "-h") {
      words = {"help"};
    } else if (a == "--version") {
      std::cout << "parleyctl " << PARLEY_VERSION << "\n";
      return 0;
    } else if (a.size() > 1 && a[0] == '-' && words.empty()) {
      std::cerr << "parleyctl: unknown option '" << a << "'\n";
      usage(std::cerr);
      return parley::kExitUsage;
    } else {
      break;
    }
  }
  // The command's words; --json may also come after them ("parleyctl stats --json"),
  // except as the value of --password.
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json" && !(words.size() && words.back() == "--password")) {
      json_output = true;
      continue;
    }
    words.push_back(std::move(a));
  }

  // --password-stdin: read the password here, send it as --password.
  if (!is_help_request(words)) {
    for (size_t k = 0; k < words.size(); ++k) {
      if (words[k] == "--") break;
      if (k > 0 && words[k - 1] == "--password") continue;
      if (words[k] != "--password-stdin") continue;
      std::string password;
      if (!std::getline(std::cin, password) && password.empty())
        return print(local_error(parley::kExitError, "no password on standard input"), json_output);
      if (!password.empty() && password.back() == '\r') password.pop_back();
      words[k] = "--password";
      words.insert(words.begin() + static_cast<std::ptrdiff_t>(k) + 1, password);
      ++k;
    }
  }

  auto& modules = parley::ModuleRegistry::instance();
  auto loaded = parley::config::load_file(config_path, modules.schemas(), modules.enabled_by_default());
  size_t consumed = 0;
  const parley::Command* command = parley::CommandRegistry::instance().find(words, consumed);
  // These only read local files: always run here, even when parleyd runs.
  const bool local_only =
      words.empty() || (command && (command->name == "help" || command->name == "check config")) ||
      is_help_request(words);

  parley::config::Config config;
  if (loaded.config) {
    config = std::move(*loaded.config);
  } else if (local_only) {
    config.path = config_path;  // check config reports the errors
  } else {
    for (const auto& e : loaded.errors) std::cerr << e << "\n";
    return print(local_error(parley::kExitError, "parleyctl: cannot load the configuration " +
                                                     config_path),
                 json_output);
  }

  if (!local_only) {
    if (socket_path.empty())
      socket_path = config.admin_socket.empty()
                        ? (std::filesystem::path(config.data_dir) / "parleyctl.sock").string()
                        : config.admin_socket;
    Connection conn;
    std::string error;
    switch (connect_socket(socket_path, conn, error)) {
      case Connect::Ok: {
        auto result = forward(conn, words, json_output, error);
        if (!result) return print(local_error(parley::kExitError, "parleyctl: " + error), json_output);
        return print(*result, json_output);
      }
      case Connect::Failed:
        return print(local_error(parley::kExitError, "parleyctl: " + error), json_output);
      case Connect::NotRunning:
        break;
    }
  }

  // Offline: on the store directly (commands that need the server exit with 3).
  LazyStorage storage(config.storage);
  parley::CommandContext ctx{config, storage, nullptr};
  CommandResult result = parley::execute(ctx, words);
  try {
    storage.flush();
  } catch (const std::exception& e) {
    std::cerr << "parleyctl: flushing the store failed: " << e.what() << "\n";
  }
  return print(result, json_output);
}

// The admin command registry, execute(), and the Unix-socket server behind
// parleyctl. The commands themselves live in admin_commands.cpp.
#include "server/admin.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "server/server.hpp"

namespace parley {

namespace asio = boost::asio;
namespace json = boost::json;
using local_stream = asio::local::stream_protocol;

// ---------------------------------------------------------------------------
// Registry

CommandRegistry& CommandRegistry::instance() {
  static CommandRegistry registry;
  return registry;
}

void CommandRegistry::add(Command command) {
  std::string name = command.name;
  if (name.empty() || !command.run) throw std::logic_error("admin command without name or body");
  if (!commands_.emplace(name, std::move(command)).second)
    throw std::logic_error("admin command registered twice: " + name);
}

const Command* CommandRegistry::find(const std::vector<std::string>& argv, size_t& consumed) const {
  consumed = 0;
  size_t max_words = 1;
  for (const auto& [name, c] : commands_)
    max_words = std::max<size_t>(max_words, 1 + std::count(name.begin(), name.end(), ' '));
  for (size_t k = std::min(max_words, argv.size()); k > 0; --k) {
    std::string name;
    for (size_t i = 0; i < k; ++i) name += (i ? " " : "") + argv[i];
    auto it = commands_.find(name);
    if (it != commands_.end()) {
      consumed = k;
      return &it->second;
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------------------
// execute()

namespace {

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find(' ', pos);
    if (end == std::string::npos) end = s.size();
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

// "user" when some command is called "user ...".
bool is_group(const std::string& word) {
  for (const auto& [name, c] : CommandRegistry::instance().all())
    if (name.size() > word.size() && name.compare(0, word.size(), word) == 0 &&
        name[word.size()] == ' ')
      return true;
  return false;
}

// --help or -h among the options; not after "--", not as the value of --password.
bool wants_help(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") return false;
    if (i > 0 && args[i - 1] == "--password") continue;
    if (args[i] == "--help" || args[i] == "-h") return true;
  }
  return false;
}

CommandResult error_result(int exit, std::string text) {
  CommandResult r;
  r.exit = exit;
  r.text = std::move(text);
  return r;
}

// The help command's output for `words` ("" = the overview), with `exit`.
CommandResult run_help(CommandContext& ctx, const std::vector<std::string>& words, int exit,
                       const std::string& prefix) {
  CommandResult r;
  size_t consumed = 0;
  std::vector<std::string> argv{"help"};
  argv.insert(argv.end(), words.begin(), words.end());
  if (const Command* help = CommandRegistry::instance().find(argv, consumed);
      help && consumed == 1) {
    try {
      r = help->run(ctx, words);
    } catch (const std::exception& e) {
      r.text = e.what();
    }
  } else {
    r.text = "usage: parleyctl COMMAND [ARGS...]";
  }
  r.exit = exit;
  if (!prefix.empty()) {
    r.text = prefix + "\n\n" + r.text;
    if (exit != kExitOk) {
      json::object o;
      o["error"] = prefix;
      o["help"] = std::move(r.data);
      r.data = std::move(o);
    }
  }
  return r;
}

CommandResult unknown_command(CommandContext& ctx, const std::vector<std::string>& argv) {
  const auto& all = CommandRegistry::instance().all();
  if (is_group(argv[0]) && argv.size() == 1)
    return run_help(ctx, {argv[0]}, kExitUsage, "'" + argv[0] + "' needs a subcommand");

  std::vector<std::string> names, groups;
  for (const auto& [name, c] : all) {
    names.push_back(name);
    auto words = split_words(name);
    if (words.size() > 1 && (groups.empty() || groups.back() != words[0]))
      groups.push_back(words[0]);
  }
  const bool group = is_group(argv[0]);
  const std::string typed = group ? argv[0] + " " + argv[1] : argv[0];
  std::string suggestion;
  // "usr add" -> "user add", "stauts" -> "status", "sessions" -> "session".
  if (argv.size() >= 2) suggestion = config::nearest(argv[0] + " " + argv[1], names);
  if (suggestion.empty()) suggestion = config::nearest(typed, names);
  if (suggestion.empty() && !group) suggestion = config::nearest(argv[0], groups);

  std::string text = "unknown command '" + typed + "'";
  if (!suggestion.empty()) text += " (did you mean '" + suggestion + "'?)";
  if (group) {
    std::string subs;
    for (const auto& name : names)
      if (name.rfind(argv[0] + " ", 0) == 0)
        subs += (subs.empty() ? "" : ", ") + name.substr(argv[0].size() + 1);
    text += "\n'" + argv[0] + "' commands: " + subs;
  }
  text += "\nRun 'parleyctl help' for the list of commands.";
  CommandResult r = error_result(kExitUsage, std::move(text));
  json::object o;
  o["error"] = "unknown command '" + typed + "'";
  if (!suggestion.empty()) o["suggestion"] = suggestion;
  r.data = std::move(o);
  return r;
}

}  // namespace

CommandResult execute(CommandContext& ctx, const std::vector<std::string>& argv) {
  if (argv.empty()) return run_help(ctx, {}, kExitUsage, "no command given");
  size_t consumed = 0;
  const Command* cmd = CommandRegistry::instance().find(argv, consumed);
  if (!cmd) return unknown_command(ctx, argv);
  std::vector<std::string> args(argv.begin() + static_cast<std::ptrdiff_t>(consumed), argv.end());

  // "parleyctl user add --help" (anywhere among the options) is "parleyctl help user add".
  if (cmd->name != "help" && wants_help(args))
    return run_help(ctx, split_words(cmd->name), kExitOk, {});

  CommandResult r;
  if (cmd->needs_server && !ctx.server) {
    r = error_result(kExitNotRunning, "parleyd is not running");
    json::object o;
    o["error"] = r.text;
    o["running"] = false;
    r.data = std::move(o);
    return r;
  }
  try {
    r = cmd->run(ctx, args);
  } catch (const storage::StorageError& e) {
    r = error_result(kExitError, std::string("storage error: ") + e.what());
  } catch (const std::exception& e) {
    r = error_result(kExitError, std::string("error: ") + e.what());
  }
  if (r.exit == kExitUsage) {
    json::object o;
    o["error"] = r.text;
    o["usage"] = "parleyctl " + cmd->usage;
    r.data = std::move(o);
    r.text += (r.text.empty() ? "" : "\n") + std::string("usage: parleyctl ") + cmd->usage;
  } else if (r.exit != kExitOk && r.data.is_null()) {
    json::object o;
    o["error"] = r.text;
    r.data = std::move(o);
  }
  return r;
}

// ---------------------------------------------------------------------------
// AdminServer

namespace {

constexpr size_t kMaxRequestBytes = 64 * 1024;
constexpr auto kIoTimeout = std::chrono::seconds(10);

// For the log: the words of a request with passwords masked.
std::string redacted(const std::vector<std::string>& args) {
  std::string out;
  bool mask_next = false;
  for (const auto& a : args) {
    std::string word = a;
    if (mask_next) {
      word = "***";
      mask_next = false;
    } else if (a == "--password") {
      mask_next = true;
    } else if (a.rfind("--password=", 0) == 0) {
      word = "--password=***";
    }
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

// Parses {"args": ["user", "list"], "json": false}; an error message otherwise.
std::optional<std::vector<std::string>> parse_request(std::string_view line, std::string& error) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec) {
    error = "bad request: " + ec.message();
    return std::nullopt;
  }
  const json::object* o = v.if_object();
  const json::value* args = o ? o->if_contains("args") : nullptr;
  if (!args || !args->is_array()) {
    error = "bad request: expected {\"args\": [...]}";
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& a : args->get_array()) {
    if (!a.is_string()) {
      error = "bad request: every argument must be a string";
      return std::nullopt;
    }
    out.emplace_back(a.get_string());
  }
  return out;
}

std::string reply_line(const CommandResult& r) {
  json::object o;
  o["exit"] = r.exit;
  o["text"] = r.text;
  o["data"] = r.data;
  return json::serialize(o) + "\n";
}

// True when something accepts connections on the Unix socket `path`.
bool socket_answers(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), std::min(path.size(), sizeof addr.sun_path - 1));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

asio::awaitable<void> serve_connection(Server& server, local_stream::socket peer) {
  // Shared with the timer's handler, which may outlive this frame.
  auto socket_ptr = std::make_shared<local_stream::socket>(std::move(peer));
  auto& socket = *socket_ptr;
  asio::steady_timer timer(socket.get_executor());
  // Closes the socket when the peer stalls; the pending operation then fails.
  auto arm = [&] {
    timer.expires_after(kIoTimeout);
    timer.async_wait([socket_ptr](boost::system::error_code ec) {
      if (!ec) {
        boost::system::error_code ignored;
        socket_ptr->close(ignored);
      }
    });
  };

  std::string line;
  boost::system::error_code ec;
  arm();
  size_t n = co_await asio::async_read_until(socket, asio::dynamic_buffer(line, kMaxRequestBytes),
                                             '\n', asio::redirect_error(asio::use_awaitable, ec));
  timer.cancel();

  CommandResult result;
  if (ec == asio::error::not_found) {
    result = error_result(kExitUsage, "request too large (the limit is " +
                                          std::to_string(kMaxRequestBytes / 1024) + " KiB)");
  } else if (ec) {
    co_return;  // closed, timed out or reset before a full request
  } else {
    std::string error;
    auto args = parse_request(std::string_view(line).substr(0, n - 1), error);
    if (!args) {
      result = error_result(kExitUsage, error);
    } else {
      spdlog::info("admin: {}", redacted(*args));
      try {
        // Commands are synchronous and may touch the store: never on this thread.
        // The job captures by reference only (this frame outlives it): GCC 12
        // destroys a temporary closure that owns memory twice when it is an
        // argument inside a co_await expression.
        const std::vector<std::string>& argv = *args;
        result = co_await server.pool().run([&server, &argv] {
          CommandContext ctx{server.config(), server.storage(), &server};
          return execute(ctx, argv);
        });
      } catch (const std::exception& e) {
        result = error_result(kExitError, std::string("error: ") + e.what());
      }
    }
  }
  if (result.exit != kExitOk && result.data.is_null()) {
    json::object o;
    o["error"] = result.text;
    result.data = std::move(o);
  }

  const std::string reply = reply_line(result);
  arm();
  co_await asio::async_write(socket, asio::buffer(reply),
                             asio::redirect_error(asio::use_awaitable, ec));
  timer.cancel();
  boost::system::error_code ignored;
  socket.shutdown(local_stream::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace

struct AdminServer::Impl {
  explicit Impl(Server& s) : server(s) {}
  Server& server;
  std::shared_ptr<local_stream::acceptor> acceptor;
  dev_t dev = 0;
  ino_t ino = 0;
  bool bound = false;
};

AdminServer::AdminServer(Server& server, std::string socket_path)
    : impl_(std::make_unique<Impl>(server)), path_(std::move(socket_path)) {}

AdminServer::~AdminServer() {
  stop();
}

void AdminServer::start() {
  namespace fs = std::filesystem;
  if (path_.size() >= sizeof(sockaddr_un{}.sun_path))
    throw std::runtime_error("admin socket path is too long (" + std::to_string(path_.size()) +
                             " bytes, the limit is " +
                             std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + "): " + path_);
  std::error_code fec;
  if (fs::path(path_).has_parent_path()) fs::create_directories(fs::path(path_).parent_path(), fec);

  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw std::runtime_error("admin socket path " + path_ +
                               " exists and is not a socket; refusing to replace it");
    if (socket_answers(path_))
      throw std::runtime_error("another parleyd is already serving the admin socket " + path_);
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
      throw std::runtime_error("cannot remove the stale admin socket " + path_ + ": " +
                               std::strerror(errno));
    spdlog::info("removed stale admin socket {}", path_);
  }

  auto acceptor = std::make_shared<local_stream::acceptor>(impl_->server.service_executor());
  acceptor->open(local_stream());
  boost::system::error_code ec;
  // No window in which the socket exists with wider permissions.
  const mode_t old_mask = ::umask(0177);
  acceptor->bind(local_stream::endpoint(path_), ec);
  ::umask(old_mask);
  if (ec) throw std::runtime_error("cannot bind the admin socket " + path_ + ": " + ec.message());
  impl_->bound = true;
  if (::chmod(path_.c_str(), 0600) != 0)
    throw std::runtime_error("cannot chmod the admin socket " + path_ + ": " +
                             std::strerror(errno));
  if (::stat(path_.c_str(), &st) == 0) {
    impl_->dev = st.st_dev;
    impl_->ino = st.st_ino;
  }
  acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on the admin socket " + path_ + ": " + ec.message());
  impl_->acceptor = acceptor;

  Server& server = impl_->server;
  asio::co_spawn(
      acceptor->get_executor(),
      [acceptor, &server]() -> asio::awaitable<void> {
        for (;;) {
          // Each connection on its own strand: its timer and its I/O never race.
          auto strand = asio::make_strand(server.service_executor());
          local_stream::socket socket(strand);
          boost::system::error_code ec;
          co_await acceptor->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
          if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
            spdlog::warn("admin socket: accept failed: {}", ec.message());
            asio::steady_timer t(acceptor->get_executor(), std::chrono::milliseconds(100));
            co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
          }
          asio::co_spawn(strand, serve_connection(server, std::move(socket)), asio::detached);
        }
      },
      asio::detached);
  spdlog::info("admin socket on {}", path_);
}

void AdminServer::stop() {
  if (impl_->acceptor) {
    boost::system::error_code ec;
    impl_->acceptor->close(ec);
    impl_->acceptor.reset();
  }
  if (impl_->bound) {
    impl_->bound = false;
    // Only our own socket: a newer server may have taken the path over.
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == impl_->dev && st.st_ino == impl_->ino)
      ::unlink(path_.c_str());
  }
}

}  // namespace parley

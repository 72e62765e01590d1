#pragma once
// The admin command registry behind `parleyctl`, served over a local Unix
// socket (mode 0600, owned by the server's user). Commands that only touch
// accounts also run inside parleyctl directly on the store when the server is
// not running. Protocol: one JSON request line {"args": [...], "json": bool},
// one JSON reply line {"exit": N, "text": "...", "data": ...}.
#include <boost/json/value.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/store.hpp"
#include "xmpp/config.hpp"

namespace parley {

class Server;

struct CommandContext {
  const config::Config& config;
  storage::Storage& storage;
  Server* server = nullptr;  // null when run offline by parleyctl
};

// Exit codes shared by every command (parleyctl's own exit status).
enum ExitCode { kExitOk = 0, kExitError = 1, kExitUsage = 2, kExitNotRunning = 3 };

struct CommandResult {
  int exit = kExitOk;
  std::string text;         // human-readable output
  boost::json::value data;  // the same as data for --json
};

struct Command {
  std::string name;     // "user add"
  std::string summary;  // one line
  std::string usage;    // "user add JID [--password P] [--admin]"
  bool needs_server = false;
  std::function<CommandResult(CommandContext&, const std::vector<std::string>& args)> run;
};

class CommandRegistry {
 public:
  static CommandRegistry& instance();
  void add(Command command);
  // Longest match of the leading words of `argv` ("user add x" -> "user add");
  // `consumed` tells how many words named the command.
  const Command* find(const std::vector<std::string>& argv, size_t& consumed) const;
  const std::map<std::string, Command>& all() const { return commands_; }

 private:
  std::map<std::string, Command> commands_;
};

// Runs a request (the words after `parleyctl`) against the registry.
CommandResult execute(CommandContext& ctx, const std::vector<std::string>& argv);

class AdminServer {
 public:
  AdminServer(Server& server, std::string socket_path);
  ~AdminServer();
  void start();  // on the server's service executor
  void stop();
  const std::string& path() const { return path_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace parley

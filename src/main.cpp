// parleyd: the Parley XMPP server.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <string>

#include "server/logging.hpp"
#include "server/open_files_limit.hpp"
#include "server/server.hpp"
#include "xmpp/config.hpp"
#include "xmpp/module.hpp"

namespace {

void usage() {
  std::cout << "usage: parleyd [--config FILE] [--check-config] [--version]\n"
               "  --config FILE    configuration (default conf/parley.toml)\n"
               "  --check-config   validate the configuration and exit\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "conf/parley.toml";
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--config" || arg == "-c") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--version") {
      std::cout << "parleyd " << PARLEY_VERSION << "\n";
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    } else {
      std::cerr << "parleyd: unknown argument '" << arg << "'\n";
      usage();
      return 2;
    }
  }
  auto& registry = parley::ModuleRegistry::instance();
  auto loaded = parley::config::load_file(config_path, registry.schemas(), registry.enabled_by_default());
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::cerr << e << "\n";
    return 1;
  }
  if (check_only) {
    std::cout << config_path << ": ok\n";
    return 0;
  }
  parley::setup_logging(loaded.config->log);
  // A write past a file size limit (RLIMIT_FSIZE, a quota) must fail with
  // EFBIG like a full disk, so storage reports an error; by default the
  // signal would kill the server instead.
  std::signal(SIGXFSZ, SIG_IGN);
  const auto files = parley::raise_open_files_limit();
  if (files.now != files.before)
    spdlog::info("open files limit raised from {} to {}", files.before, files.now);
  else
    spdlog::info("open files limit {} (hard limit {})", files.now, files.hard);
  try {
    parley::Server server(std::move(*loaded.config));
    return server.run();
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
}

#pragma once
#include <spdlog/formatter.h>

#include <memory>

#include "xmpp/config.hpp"

namespace parley {
// Configures the default spdlog logger: level, text or JSON lines, file or stderr.
void setup_logging(const config::LogConfig& log);
// Applies a new level to every logger (the default and the modules'), as a
// reload does. `level` is one of the config's level names.
void apply_log_level(const std::string& level);
// One JSON object per line (log.format = "json"): time, level, logger, msg,
// with the message escaped, since it may quote what clients sent.
std::unique_ptr<spdlog::formatter> make_json_formatter();
}  // namespace parley

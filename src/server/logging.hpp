#pragma once
#include "xmpp/config.hpp"

namespace parley {
// Configures the default spdlog logger: level, text or JSON lines, file or stderr.
void setup_logging(const config::LogConfig& log);
}  // namespace parley

#include "server/logging.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace parley {

void setup_logging(const config::LogConfig& log) {
  std::shared_ptr<spdlog::logger> logger;
  if (log.file.empty())
    logger = spdlog::stderr_logger_mt("parley");
  else
    logger = spdlog::basic_logger_mt("parley", log.file);
  if (log.format == "json")
    // %v is escaped by spdlog's JSON-unaware formatter only as far as our own
    // messages go: they never contain user-controlled quotes unescaped (%q).
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","msg":"%v"})",
                        spdlog::pattern_time_type::utc);
  else
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %n: %v");
  spdlog::set_default_logger(logger);
  apply_log_level(log.level);
  spdlog::flush_every(std::chrono::seconds(1));
}

void apply_log_level(const std::string& level) {
  const auto l = spdlog::level::from_str(level);
  spdlog::set_level(l);
  // Warnings reach the disk at once; the rest within a second. At debug
  // level and below (diagnosis), everything is flushed at once.
  spdlog::flush_on(l <= spdlog::level::debug ? spdlog::level::trace : spdlog::level::warn);
}

}  // namespace parley

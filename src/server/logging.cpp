#include "server/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace parley {

namespace {

// %j: the message as the inside of a JSON string (RFC 8259 §7).
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : msg.payload) {
      const auto u = static_cast<unsigned char>(c);
      const char* escaped = nullptr;
      switch (c) {
        case '"':
          escaped = "\\\"";
          break;
        case '\\':
          escaped = "\\\\";
          break;
        case '\n':
          escaped = "\\n";
          break;
        case '\r':
          escaped = "\\r";
          break;
        case '\t':
          escaped = "\\t";
          break;
        default:
          break;
      }
      if (escaped) {
        dest.append(escaped, escaped + std::char_traits<char>::length(escaped));
      } else if (u < 0x20 || u == 0x7f) {
        const char unicode[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0xf]};
        dest.append(unicode, unicode + sizeof unicode);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_json_formatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonEscapedMessage>('j').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","msg":"%j"})");
  return formatter;
}

void setup_logging(const config::LogConfig& log) {
  std::shared_ptr<spdlog::logger> logger;
  if (log.file.empty())
    logger = spdlog::stderr_logger_mt("parley");
  else
    logger = spdlog::basic_logger_mt("parley", log.file);
  if (log.format == "json")
    logger->set_formatter(make_json_formatter());
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

// JSON log lines stay valid JSON whatever the message quotes: clients choose
// resources, stream ids and error texts that end up in log messages.
#include "server/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/json.hpp>
#include <sstream>

namespace parley {
namespace {

namespace json = boost::json;
using namespace std::string_literals;

std::string log_line(const std::string& message) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  spdlog::logger logger("mod_test@localhost", sink);
  logger.set_formatter(make_json_formatter());
  logger.warn("from {}", message);
  return out.str();
}

TEST(JsonLog, HostileMessagesStayOneValidObjectPerLine) {
  const std::string hostile[] = {
      "alice@localhost/\"},\"admin\":true,\"x\":{\"",  // a resource closing the object
      "back\\slash \\\" and \\u0041",
      "two\nlines\r\nand a\ttab",
      "nul \0 bell \x07 esc \x1b del \x7f"s,
      "caf\xC3\xA9 \xE2\x9C\x93",  // UTF-8 passes through
  };
  for (const std::string& m : hostile) {
    const std::string line = log_line(m);
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.find('\n'), line.size() - 1) << line;  // one line, newline-terminated
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    EXPECT_EQ(v.at("msg").as_string(), "from " + m);
    EXPECT_EQ(v.at("level").as_string(), "warning");
    EXPECT_EQ(v.at("logger").as_string(), "mod_test@localhost");
    EXPECT_EQ(v.as_object().size(), 4u) << line;
    const std::string time(v.at("time").as_string());
    EXPECT_EQ(time.size(), 27u) << time;  // 2026-11-28T19:10:00.123456Z
    EXPECT_EQ(time.back(), 'Z');
  }
}

}  // namespace
}  // namespace parley

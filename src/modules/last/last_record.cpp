#include "modules/last/last_record.hpp"

#include <charconv>

namespace parley::last {

std::string encode(const Record& r) { return std::to_string(r.logout_unix) + " " + r.status; }

std::optional<Record> decode(std::string_view text) {
  const size_t space = text.find(' ');
  if (space == std::string_view::npos || space == 0) return std::nullopt;
  Record r;
  auto [end, ec] = std::from_chars(text.data(), text.data() + space, r.logout_unix);
  if (ec != std::errc() || end != text.data() + space) return std::nullopt;
  r.status = std::string(text.substr(space + 1));
  return r;
}

int64_t seconds_since(int64_t logout_unix, int64_t now_unix) {
  return now_unix > logout_unix ? now_unix - logout_unix : 0;
}

}  // namespace parley::last

#pragma once
// What the last module keeps per account in the key/value store ("last", ""):
// when the account's last session ended and the status text of its last
// unavailable presence. Encoded as "<unix seconds> <status>" (the status may
// contain anything, including spaces and newlines).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::last {

struct Record {
  int64_t logout_unix = 0;  // seconds since the epoch
  std::string status;
  friend bool operator==(const Record&, const Record&) = default;
};

std::string encode(const Record& r);
std::optional<Record> decode(std::string_view text);

// Seconds from `logout_unix` to `now_unix`, never negative (clock steps).
int64_t seconds_since(int64_t logout_unix, int64_t now_unix);

}  // namespace parley::last

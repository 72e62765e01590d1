#pragma once
// Every connection costs a file descriptor, and service managers start
// daemons with a low soft limit (systemd: 1024, with a hard limit of 524288):
// parleyd raises its soft limit to the hard one at start, as Prosody and
// ejabberd do, so the connection count is bounded by what the admin allows
// (LimitNOFILE=) rather than by an inherited default.
#include <cstdint>

namespace parley {

struct OpenFilesLimit {
  uint64_t before = 0;  // the soft limit parleyd started with
  uint64_t now = 0;     // the soft limit after raising it
  uint64_t hard = 0;
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit (capped at what the
// kernel accepts) and returns the limits; `now` stays `before` on failure.
OpenFilesLimit raise_open_files_limit();

}  // namespace parley

#include "server/open_files_limit.hpp"

#include <sys/resource.h>

#include <fstream>

namespace parley {

OpenFilesLimit raise_open_files_limit() {
  OpenFilesLimit out;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return out;
  out.before = out.now = limit.rlim_cur;
  out.hard = limit.rlim_max;
  rlim_t target = limit.rlim_max;
  // An unlimited hard limit cannot be the soft one: the kernel caps
  // descriptors at fs.nr_open.
  if (target == RLIM_INFINITY) {
    std::ifstream nr_open("/proc/sys/fs/nr_open");
    uint64_t cap = 0;
    target = (nr_open >> cap) ? cap : limit.rlim_cur;
  }
  if (target <= limit.rlim_cur) return out;
  limit.rlim_cur = target;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) out.now = target;
  return out;
}

}  // namespace parley

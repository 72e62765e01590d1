#pragma once
// Completion token for fire-and-forget coroutines: like asio::detached, but an
// escaped exception is logged instead of vanishing.
#include <spdlog/spdlog.h>

#include <exception>

namespace parley {

struct LogExceptions {
  const char* what;
  void operator()(std::exception_ptr e) const {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("{}: {}", what, ex.what());
    } catch (...) {
      spdlog::error("{}: unknown exception", what);
    }
  }
};

inline LogExceptions log_exceptions(const char* what) { return LogExceptions{what}; }

}  // namespace parley

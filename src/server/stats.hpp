#pragma once
// The server's figures in the two shapes operators read them: the OpenMetrics
// text exposition of GET /metrics, and the table / JSON of `parleyctl stats`.
// Both come from the same Metrics and the same process figures, so they agree.
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xmpp/metrics.hpp"

namespace parley {

// The figures read at scrape time rather than counted on the way.
struct ProcessFigures {
  double uptime_seconds = 0;
  uint64_t resident_bytes = 0;  // /proc/self/statm
  uint64_t virtual_bytes = 0;
  uint64_t sessions = 0;  // bound client sessions (the router's table)
  int64_t http_connections = 0;
};

// Fills resident_bytes and virtual_bytes from /proc/self/statm (zero when it
// cannot be read).
void read_process_memory(ProcessFigures& figures);

inline constexpr std::string_view kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

// The OpenMetrics 1.0 text format, ending in "# EOF\n".
std::string render_openmetrics(const metrics::Metrics& m, const ProcessFigures& p);

// `parleyctl stats`: one JSON object (the flat keys of earlier versions kept,
// breakdowns as nested objects) and the rows ("key", "value") of its
// human-readable table, with the same figures.
boost::json::object stats_json(const metrics::Metrics& m, const ProcessFigures& p);
std::vector<std::pair<std::string, std::string>> stats_rows(const metrics::Metrics& m,
                                                            const ProcessFigures& p);

// An estimate of quantile q (0..1) from a histogram: the upper bound of the
// bucket holding it (+Inf as the largest bound); 0 when empty.
double histogram_quantile(const metrics::Histogram::Snapshot& s, double q);

}  // namespace parley

#include "server/stats.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <cstdio>
#include <iterator>

namespace parley {

namespace json = boost::json;

namespace {

// Shortest round-trip form, always with a '.' or an exponent ("1.0", "1e-05").
std::string number(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view unit,
              std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# TYPE {} {}\n", name, type);
    if (!unit.empty()) fmt::format_to(std::back_inserter(out_), "# UNIT {} {}\n", name, unit);
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n", name, help);
  }

  // name{label="value"} v
  void sample(std::string_view name, std::string_view suffix, std::string_view label,
              std::string_view label_value, std::string_view value) {
    if (label.empty())
      fmt::format_to(std::back_inserter(out_), "{}{} {}\n", name, suffix, value);
    else
      fmt::format_to(std::back_inserter(out_), "{}{}{{{}=\"{}\"}} {}\n", name, suffix, label,
                     label_value, value);
  }

  template <class Array, class Names>
  void counters(std::string_view name, std::string_view help, std::string_view label,
                const Array& counters, const Names& names) {
    family(name, "counter", "", help);
    for (size_t i = 0; i < counters.size(); ++i)
      sample(name, "_total", label, names[i], std::to_string(counters[i].value()));
  }

  void counter(std::string_view name, std::string_view help, uint64_t value) {
    family(name, "counter", "", help);
    sample(name, "_total", "", "", std::to_string(value));
  }

  void gauge(std::string_view name, std::string_view unit, std::string_view help,
             std::string_view value) {
    family(name, "gauge", unit, help);
    sample(name, "", "", "", value);
  }

  void histogram(std::string_view name, std::string_view help, const metrics::Histogram& h) {
    const auto s = h.snapshot();
    family(name, "histogram", "seconds", help);
    for (size_t i = 0; i < s.bounds.size(); ++i)
      sample(name, "_bucket", "le", number(s.bounds[i]), std::to_string(s.cumulative[i]));
    sample(name, "_bucket", "le", "+Inf", std::to_string(s.count));
    sample(name, "_count", "", "", std::to_string(s.count));
    sample(name, "_sum", "", "", number(s.sum));
  }

  std::string finish() {
    out_ += "# EOF\n";
    return std::move(out_);
  }

 private:
  std::string out_;
};

template <class Array, class Names>
json::object breakdown(const Array& counters, const Names& names) {
  json::object o;
  for (size_t i = 0; i < counters.size(); ++i) o[names[i]] = counters[i].value();
  return o;
}

// "3 (message 2, iq 1)": the total and its non-zero parts.
template <class Array, class Names>
std::string breakdown_text(const Array& counters, const Names& names) {
  std::string parts;
  uint64_t total = 0;
  for (size_t i = 0; i < counters.size(); ++i) {
    const uint64_t v = counters[i].value();
    total += v;
    if (v == 0) continue;
    if (!parts.empty()) parts += ", ";
    parts += fmt::format("{} {}", names[i], v);
  }
  return parts.empty() ? std::to_string(total) : fmt::format("{} ({})", total, parts);
}

json::object latency_json(const metrics::Histogram& h) {
  const auto s = h.snapshot();
  json::object o;
  o["count"] = s.count;
  o["sum_seconds"] = s.sum;
  o["p50_seconds"] = histogram_quantile(s, 0.5);
  o["p99_seconds"] = histogram_quantile(s, 0.99);
  return o;
}

std::string millis(double seconds) {
  return fmt::format("{:.3f} ms", seconds * 1000);
}

std::string latency_text(const metrics::Histogram& h) {
  const auto s = h.snapshot();
  if (s.count == 0) return "0 observed";
  return fmt::format("{} observed, mean {}, p50 <= {}, p99 <= {}", s.count,
                     millis(s.sum / static_cast<double>(s.count)),
                     millis(histogram_quantile(s, 0.5)), millis(histogram_quantile(s, 0.99)));
}

}  // namespace

void read_process_memory(ProcessFigures& figures) {
  figures.resident_bytes = figures.virtual_bytes = 0;
  // procfs is memory, not disk: this read does not block.
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return;
  unsigned long long size = 0, resident = 0;
  if (std::fscanf(f, "%llu %llu", &size, &resident) == 2) {
    const long page = ::sysconf(_SC_PAGESIZE);
    const uint64_t page_bytes = page > 0 ? static_cast<uint64_t>(page) : 4096;
    figures.virtual_bytes = size * page_bytes;
    figures.resident_bytes = resident * page_bytes;
  }
  std::fclose(f);
}

double histogram_quantile(const metrics::Histogram::Snapshot& s, double q) {
  if (s.count == 0) return 0;
  const double rank = q * static_cast<double>(s.count);
  for (size_t i = 0; i < s.bounds.size(); ++i)
    if (static_cast<double>(s.cumulative[i]) >= rank) return s.bounds[i];
  return s.bounds.empty() ? 0 : s.bounds.back();
}

std::string render_openmetrics(const metrics::Metrics& m, const ProcessFigures& p) {
  Exposition e;
  e.gauge("parley_uptime_seconds", "seconds", "Seconds since parleyd started.",
          number(p.uptime_seconds));
  e.gauge("process_resident_memory_bytes", "bytes", "Resident memory of parleyd.",
          std::to_string(p.resident_bytes));
  e.gauge("process_virtual_memory_bytes", "bytes", "Virtual memory of parleyd.",
          std::to_string(p.virtual_bytes));
  e.gauge("parley_sessions", "",
          "Bound client sessions, including those waiting for XEP-0198 resumption.",
          std::to_string(p.sessions));
  e.family("parley_authenticated_connections", "gauge", "",
           "Authenticated client connections, by listener.");
  for (size_t i = 0; i < m.authenticated_connections.size(); ++i)
    e.sample("parley_authenticated_connections", "", "listener", metrics::kListeners[i],
             std::to_string(m.authenticated_connections[i].value()));
  e.counter("parley_connections_accepted", "Client connections accepted.",
            m.connections_accepted.value());
  e.counter("parley_connections_refused", "Client connections refused by the per-address limits.",
            m.connections_refused.value());
  e.counters("parley_stanzas_received", "Stanzas received from clients, by kind.", "kind",
             m.stanzas_in, metrics::kStanzaKinds);
  e.counters("parley_stanzas_sent", "Stanzas written to clients, by kind.", "kind", m.stanzas_out,
             metrics::kStanzaKinds);
  e.counters("parley_auth_successes", "Successful SASL authentications, by mechanism.", "mechanism",
             m.auth_successes, metrics::kMechanisms);
  e.counters("parley_auth_failures", "Failed SASL authentications, by mechanism.", "mechanism",
             m.auth_failures, metrics::kMechanisms);
  e.histogram("parley_routing_latency_seconds",
              "Time from a parsed client stanza to its hand-over by the router.",
              m.routing_latency);
  e.histogram("parley_storage_latency_seconds",
              "Time of a storage call on the database pool, queueing included.", m.storage_latency);
  e.counter("parley_http_requests", "HTTP requests read.", m.http_requests.value());
  e.counter("parley_http_rejected",
            "HTTP connections or requests refused: malformed, too large, over the cap.",
            m.http_rejected.value());
  e.gauge("parley_http_connections", "", "Open HTTP connections.",
          std::to_string(p.http_connections));
  return e.finish();
}

json::object stats_json(const metrics::Metrics& m, const ProcessFigures& p) {
  json::object o;
  o["sessions"] = p.sessions;
  o["uptime_seconds"] = static_cast<uint64_t>(p.uptime_seconds);
  o["stanzas_in"] = metrics::Metrics::total(m.stanzas_in);
  o["stanzas_out"] = metrics::Metrics::total(m.stanzas_out);
  o["auth_successes"] = metrics::Metrics::total(m.auth_successes);
  o["auth_failures"] = metrics::Metrics::total(m.auth_failures);
  o["connections_accepted"] = m.connections_accepted.value();
  o["connections_refused"] = m.connections_refused.value();
  o["authenticated_connections"] = breakdown(m.authenticated_connections, metrics::kListeners);
  o["stanzas_in_by_kind"] = breakdown(m.stanzas_in, metrics::kStanzaKinds);
  o["stanzas_out_by_kind"] = breakdown(m.stanzas_out, metrics::kStanzaKinds);
  o["auth_successes_by_mechanism"] = breakdown(m.auth_successes, metrics::kMechanisms);
  o["auth_failures_by_mechanism"] = breakdown(m.auth_failures, metrics::kMechanisms);
  o["resident_memory_bytes"] = p.resident_bytes;
  o["virtual_memory_bytes"] = p.virtual_bytes;
  o["routing_latency"] = latency_json(m.routing_latency);
  o["storage_latency"] = latency_json(m.storage_latency);
  o["http_requests"] = m.http_requests.value();
  o["http_rejected"] = m.http_rejected.value();
  o["http_connections"] = p.http_connections;
  return o;
}

std::vector<std::pair<std::string, std::string>> stats_rows(const metrics::Metrics& m,
                                                            const ProcessFigures& p) {
  std::vector<std::pair<std::string, std::string>> rows;
  rows.emplace_back("sessions", std::to_string(p.sessions));
  std::string authenticated;
  int64_t total = 0;
  for (size_t i = 0; i < m.authenticated_connections.size(); ++i) {
    const int64_t v = m.authenticated_connections[i].value();
    total += v;
    if (!authenticated.empty()) authenticated += ", ";
    authenticated += fmt::format("{} {}", metrics::kListeners[i], v);
  }
  rows.emplace_back("authenticated_connections", fmt::format("{} ({})", total, authenticated));
  rows.emplace_back("uptime_seconds", std::to_string(static_cast<uint64_t>(p.uptime_seconds)));
  rows.emplace_back("resident_memory",
                    fmt::format("{:.1f} MiB", static_cast<double>(p.resident_bytes) / 1048576.0));
  rows.emplace_back("stanzas_in", breakdown_text(m.stanzas_in, metrics::kStanzaKinds));
  rows.emplace_back("stanzas_out", breakdown_text(m.stanzas_out, metrics::kStanzaKinds));
  rows.emplace_back("auth_successes", breakdown_text(m.auth_successes, metrics::kMechanisms));
  rows.emplace_back("auth_failures", breakdown_text(m.auth_failures, metrics::kMechanisms));
  rows.emplace_back("connections_accepted", std::to_string(m.connections_accepted.value()));
  rows.emplace_back("connections_refused", std::to_string(m.connections_refused.value()));
  rows.emplace_back("routing_latency", latency_text(m.routing_latency));
  rows.emplace_back("storage_latency", latency_text(m.storage_latency));
  rows.emplace_back("http_requests", std::to_string(m.http_requests.value()));
  rows.emplace_back("http_rejected", std::to_string(m.http_rejected.value()));
  rows.emplace_back("http_connections", std::to_string(p.http_connections));
  return rows;
}

}  // namespace parley

// The OpenMetrics exposition and the `parleyctl stats` figures for a known
// state: exact text, so that a renamed metric or a format slip shows up here.
#include "server/stats.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley {
namespace {

using namespace std::chrono_literals;

// A state with something in most families.
void fill(metrics::Metrics& m, ProcessFigures& p) {
  m.stanzas_in[0].inc(3);  // message
  m.stanzas_in[2].inc();   // iq
  m.stanzas_out[0].inc(2);
  m.auth_successes[metrics::mechanism_index("SCRAM-SHA-256")].inc();
  m.auth_failures[metrics::mechanism_index("PLAIN")].inc();
  m.auth_failures[metrics::mechanism_index("X-UNKNOWN")].inc(2);
  m.connections_accepted.inc(2);
  m.authenticated_connections[0].inc();
  m.routing_latency.observe(30us);
  m.routing_latency.observe(2ms);
  m.routing_latency.observe(5s);
  m.http_requests.inc(4);
  m.http_rejected.inc();
  p.uptime_seconds = 12.5;
  p.resident_bytes = 1048576;
  p.virtual_bytes = 4194304;
  p.sessions = 1;
  p.http_connections = 1;
}

TEST(Stats, OpenMetricsTextOfAKnownState) {
  metrics::Metrics m;
  ProcessFigures p;
  fill(m, p);
  const std::string expected = R"(# TYPE parley_uptime_seconds gauge
# UNIT parley_uptime_seconds seconds
# HELP parley_uptime_seconds Seconds since parleyd started.
parley_uptime_seconds 12.5
# TYPE process_resident_memory_bytes gauge
# UNIT process_resident_memory_bytes bytes
# HELP process_resident_memory_bytes Resident memory of parleyd.
process_resident_memory_bytes 1048576
# TYPE process_virtual_memory_bytes gauge
# UNIT process_virtual_memory_bytes bytes
# HELP process_virtual_memory_bytes Virtual memory of parleyd.
process_virtual_memory_bytes 4194304
# TYPE parley_sessions gauge
# HELP parley_sessions Bound client sessions, including those waiting for XEP-0198 resumption.
parley_sessions 1
# TYPE parley_authenticated_connections gauge
# HELP parley_authenticated_connections Authenticated client connections, by listener.
parley_authenticated_connections{listener="c2s"} 1
parley_authenticated_connections{listener="c2s_direct_tls"} 0
# TYPE parley_connections_accepted counter
# HELP parley_connections_accepted Client connections accepted.
parley_connections_accepted_total 2
# TYPE parley_connections_refused counter
# HELP parley_connections_refused Client connections refused by the per-address limits.
parley_connections_refused_total 0
# TYPE parley_stanzas_received counter
# HELP parley_stanzas_received Stanzas received from clients, by kind.
parley_stanzas_received_total{kind="message"} 3
parley_stanzas_received_total{kind="presence"} 0
parley_stanzas_received_total{kind="iq"} 1
# TYPE parley_stanzas_sent counter
# HELP parley_stanzas_sent Stanzas written to clients, by kind.
parley_stanzas_sent_total{kind="message"} 2
parley_stanzas_sent_total{kind="presence"} 0
parley_stanzas_sent_total{kind="iq"} 0
# TYPE parley_auth_successes counter
# HELP parley_auth_successes Successful SASL authentications, by mechanism.
parley_auth_successes_total{mechanism="PLAIN"} 0
parley_auth_successes_total{mechanism="SCRAM-SHA-1"} 0
parley_auth_successes_total{mechanism="SCRAM-SHA-1-PLUS"} 0
parley_auth_successes_total{mechanism="SCRAM-SHA-256"} 1
parley_auth_successes_total{mechanism="SCRAM-SHA-256-PLUS"} 0
parley_auth_successes_total{mechanism="other"} 0
# TYPE parley_auth_failures counter
# HELP parley_auth_failures Failed SASL authentications, by mechanism.
parley_auth_failures_total{mechanism="PLAIN"} 1
parley_auth_failures_total{mechanism="SCRAM-SHA-1"} 0
parley_auth_failures_total{mechanism="SCRAM-SHA-1-PLUS"} 0
parley_auth_failures_total{mechanism="SCRAM-SHA-256"} 0
parley_auth_failures_total{mechanism="SCRAM-SHA-256-PLUS"} 0
parley_auth_failures_total{mechanism="other"} 2
# TYPE parley_routing_latency_seconds histogram
# UNIT parley_routing_latency_seconds seconds
# HELP parley_routing_latency_seconds Time from a parsed client stanza to its hand-over by the router.
parley_routing_latency_seconds_bucket{le="1e-05"} 0
parley_routing_latency_seconds_bucket{le="2.5e-05"} 0
parley_routing_latency_seconds_bucket{le="5e-05"} 1
parley_routing_latency_seconds_bucket{le="0.0001"} 1
parley_routing_latency_seconds_bucket{le="0.00025"} 1
parley_routing_latency_seconds_bucket{le="0.0005"} 1
parley_routing_latency_seconds_bucket{le="0.001"} 1
parley_routing_latency_seconds_bucket{le="0.0025"} 2
parley_routing_latency_seconds_bucket{le="0.005"} 2
parley_routing_latency_seconds_bucket{le="0.01"} 2
parley_routing_latency_seconds_bucket{le="0.025"} 2
parley_routing_latency_seconds_bucket{le="0.05"} 2
parley_routing_latency_seconds_bucket{le="0.1"} 2
parley_routing_latency_seconds_bucket{le="0.25"} 2
parley_routing_latency_seconds_bucket{le="1.0"} 2
parley_routing_latency_seconds_bucket{le="+Inf"} 3
parley_routing_latency_seconds_count 3
parley_routing_latency_seconds_sum 5.00203
# TYPE parley_storage_latency_seconds histogram
# UNIT parley_storage_latency_seconds seconds
# HELP parley_storage_latency_seconds Time of a storage call on the database pool, queueing included.
parley_storage_latency_seconds_bucket{le="0.0001"} 0
parley_storage_latency_seconds_bucket{le="0.00025"} 0
parley_storage_latency_seconds_bucket{le="0.0005"} 0
parley_storage_latency_seconds_bucket{le="0.001"} 0
parley_storage_latency_seconds_bucket{le="0.0025"} 0
parley_storage_latency_seconds_bucket{le="0.005"} 0
parley_storage_latency_seconds_bucket{le="0.01"} 0
parley_storage_latency_seconds_bucket{le="0.025"} 0
parley_storage_latency_seconds_bucket{le="0.05"} 0
parley_storage_latency_seconds_bucket{le="0.1"} 0
parley_storage_latency_seconds_bucket{le="0.25"} 0
parley_storage_latency_seconds_bucket{le="0.5"} 0
parley_storage_latency_seconds_bucket{le="1.0"} 0
parley_storage_latency_seconds_bucket{le="2.5"} 0
parley_storage_latency_seconds_bucket{le="10.0"} 0
parley_storage_latency_seconds_bucket{le="+Inf"} 0
parley_storage_latency_seconds_count 0
parley_storage_latency_seconds_sum 0.0
# TYPE parley_http_requests counter
# HELP parley_http_requests HTTP requests read.
parley_http_requests_total 4
# TYPE parley_http_rejected counter
# HELP parley_http_rejected HTTP connections or requests refused: malformed, too large, over the cap.
parley_http_rejected_total 1
# TYPE parley_http_connections gauge
# HELP parley_http_connections Open HTTP connections.
parley_http_connections 1
# EOF
)";
  EXPECT_EQ(render_openmetrics(m, p), expected);
}

TEST(Stats, EmptyStateEndsWithEofAndHasNoBlankLines) {
  metrics::Metrics m;
  const std::string text = render_openmetrics(m, ProcessFigures{});
  ASSERT_GE(text.size(), 6u);
  EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
  EXPECT_EQ(text.find("\n\n"), std::string::npos);
  EXPECT_NE(text.find("parley_routing_latency_seconds_count 0\n"), std::string::npos);
  EXPECT_NE(text.find("parley_routing_latency_seconds_sum 0.0\n"), std::string::npos);
}

TEST(Stats, JsonAndRowsCarryTheSameFigures) {
  metrics::Metrics m;
  ProcessFigures p;
  fill(m, p);
  const auto o = stats_json(m, p);
  EXPECT_EQ(o.at("sessions").to_number<int64_t>(), 1);
  EXPECT_EQ(o.at("uptime_seconds").to_number<int64_t>(), 12);
  EXPECT_EQ(o.at("stanzas_in").to_number<int64_t>(), 4);
  EXPECT_EQ(o.at("stanzas_out").to_number<int64_t>(), 2);
  EXPECT_EQ(o.at("auth_successes").to_number<int64_t>(), 1);
  EXPECT_EQ(o.at("auth_failures").to_number<int64_t>(), 3);
  EXPECT_EQ(o.at("connections_accepted").to_number<int64_t>(), 2);
  EXPECT_EQ(o.at("connections_refused").to_number<int64_t>(), 0);
  EXPECT_EQ(o.at("stanzas_in_by_kind").at("message").to_number<int64_t>(), 3);
  EXPECT_EQ(o.at("stanzas_in_by_kind").at("iq").to_number<int64_t>(), 1);
  EXPECT_EQ(o.at("auth_failures_by_mechanism").at("other").to_number<int64_t>(), 2);
  EXPECT_EQ(o.at("authenticated_connections").at("c2s").to_number<int64_t>(), 1);
  EXPECT_EQ(o.at("resident_memory_bytes").to_number<int64_t>(), 1048576);
  EXPECT_EQ(o.at("routing_latency").at("count").to_number<int64_t>(), 3);
  EXPECT_DOUBLE_EQ(o.at("routing_latency").at("p50_seconds").to_number<double>(), 0.0025);
  EXPECT_DOUBLE_EQ(o.at("routing_latency").at("p99_seconds").to_number<double>(), 1.0);
  EXPECT_EQ(o.at("storage_latency").at("count").to_number<int64_t>(), 0);
  EXPECT_EQ(o.at("http_requests").to_number<int64_t>(), 4);

  const auto rows = stats_rows(m, p);
  auto row = [&](const std::string& key) {
    for (const auto& [k, v] : rows)
      if (k == key) return v;
    return std::string("(missing)");
  };
  EXPECT_EQ(row("sessions"), "1");
  EXPECT_EQ(row("authenticated_connections"), "1 (c2s 1, c2s_direct_tls 0)");
  EXPECT_EQ(row("resident_memory"), "1.0 MiB");
  EXPECT_EQ(row("stanzas_in"), "4 (message 3, iq 1)");
  EXPECT_EQ(row("stanzas_out"), "2 (message 2)");
  EXPECT_EQ(row("auth_successes"), "1 (SCRAM-SHA-256 1)");
  EXPECT_EQ(row("auth_failures"), "3 (PLAIN 1, other 2)");
  EXPECT_EQ(row("routing_latency"),
            "3 observed, mean 1667.343 ms, p50 <= 2.500 ms, p99 <= 1000.000 ms");
  EXPECT_EQ(row("storage_latency"), "0 observed");
}

TEST(Stats, HistogramQuantileIsTheUpperBoundOfItsBucket) {
  metrics::Histogram h({1ms, 10ms});
  EXPECT_EQ(histogram_quantile(h.snapshot(), 0.5), 0.0);
  for (int i = 0; i < 98; ++i) h.observe(500us);
  h.observe(5ms);
  h.observe(50ms);
  EXPECT_DOUBLE_EQ(histogram_quantile(h.snapshot(), 0.5), 0.001);
  EXPECT_DOUBLE_EQ(histogram_quantile(h.snapshot(), 0.99), 0.01);
  EXPECT_DOUBLE_EQ(histogram_quantile(h.snapshot(), 1.0), 0.01);  // +Inf: the largest bound
}

TEST(Stats, ProcessMemoryIsReadFromProc) {
  ProcessFigures p;
  read_process_memory(p);
  EXPECT_GT(p.resident_bytes, 1024u * 1024u);
  EXPECT_GE(p.virtual_bytes, p.resident_bytes);
}

}  // namespace
}  // namespace parley

// The HTTP listener and GET /metrics against a real parleyd: the figures
// follow what real clients do, `parleyctl stats` shows the same, and hostile
// HTTP input is refused without hurting the server.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test {
namespace {

struct HttpReply {
  int status = 0;  // 0: no answer (the connection was closed)
  std::string head, body;
  std::string header(const std::string& name) const {
    const std::string key = "\r\n" + name + ": ";
    const size_t at = head.find(key);
    if (at == std::string::npos) return {};
    const size_t start = at + key.size();
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

HttpReply parse_reply(const std::string& in) {
  HttpReply r;
  const size_t end = in.find("\r\n\r\n");
  if (in.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(in.substr(9, 3));
  r.head = in.substr(0, end + 2);
  r.body = in.substr(end + 4);
  return r;
}

// Sends `request` on a new connection and reads until the server closes it.
HttpReply http_raw(uint16_t port, const std::string& request,
                   std::chrono::milliseconds timeout = 5s) {
  RawClient c(port);
  EXPECT_TRUE(c.ok());
  c.send(request);
  EXPECT_TRUE(c.read_until_closed(timeout)) << "still open: " << c.received();
  return parse_reply(c.received());
}

HttpReply http_get(uint16_t port, const std::string& path) {
  return http_raw(port,
                  "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
}

// The value of one sample ("name" or "name{label=\"v\"}"), or -1.
double sample(const std::string& text, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const size_t at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + key.size()));
}

// The default options, with lines for [http] and [server].
TestServerOptions with(std::string http, std::string server_extra = "") {
  return {.hosts = {"localhost"},
          .require_starttls = true,
          .extra_config = "",
          .limits = "",
          .server_extra = std::move(server_extra),
          .environment = {},
          .http = std::move(http),
          .test_modules = false};
}

class Metrics : public ::testing::Test {
 protected:
  // Only SCRAM-SHA-256 is offered, so that a wrong password is one failure
  // (libstrophe would go on with the next mechanism).
  explicit Metrics(TestServerOptions options = with("", "sasl_mechanisms = [\"SCRAM-SHA-256\"]\n"))
      : server_(std::move(options)) {}
  void SetUp() override {
    server_.create_user("alice", "wonderland");
    server_.create_user("bob", "builder");
    server_.start();
    ASSERT_NE(server_.http_port(), 0);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << server_.log_tail() << "\n";
  }
  std::string scrape() {
    HttpReply r = http_get(server_.http_port(), "/metrics");
    EXPECT_EQ(r.status, 200) << r.head;
    return "\n" + r.body;  // so that the first sample is found like the others
  }
  TestServer server_;
};

TEST_F(Metrics, ServesOpenMetricsText) {
  HttpReply r = http_get(server_.http_port(), "/metrics");
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.header("Content-Type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_EQ(std::to_string(r.body.size()), r.header("Content-Length"));
  ASSERT_GE(r.body.size(), 6u);
  EXPECT_EQ(r.body.substr(r.body.size() - 6), "# EOF\n");
  EXPECT_NE(r.body.find("# TYPE parley_stanzas_received counter\n"), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE parley_routing_latency_seconds histogram\n"), std::string::npos);
  const std::string text = "\n" + r.body;
  EXPECT_GT(sample(text, "process_resident_memory_bytes"), 1e6);
  EXPECT_GE(sample(text, "parley_uptime_seconds"), 0);
  EXPECT_EQ(sample(text, "parley_sessions"), 0);
  EXPECT_EQ(sample(text, "parley_http_connections"), 1);  // this one
}

TEST_F(Metrics, FollowSessionsMessagesAuthenticationAndStorage) {
  const std::string before = scrape();
  const double messages_before = sample(before, "parley_stanzas_received_total{kind=\"message\"}");
  ASSERT_GE(messages_before, 0);

  // A wrong password: one failure, counted under the only mechanism offered.
  {
    XmppClient mallory(server_, "alice@localhost", "not-the-password");
    EXPECT_FALSE(mallory.connect());
  }
  XmppClient alice(server_, "alice@localhost", "wonderland", {.resource = "phone"});
  ASSERT_TRUE(alice.connect()) << alice.error();
  alice.available();
  // To bob, who is offline: each goes through the router into offline storage.
  constexpr int kSent = 5;
  for (int i = 0; i < kSent; ++i)
    alice.send("<message to='bob@localhost' type='chat'><body>m" + std::to_string(i) +
               "</body></message>");
  // Answered after the messages were routed (one session handles its stanzas in order).
  ASSERT_TRUE(alice.iq("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>"));

  const std::string after = scrape();
  EXPECT_EQ(sample(after, "parley_sessions"), 1);
  EXPECT_EQ(sample(after, "parley_authenticated_connections{listener=\"c2s\"}"), 1);
  EXPECT_EQ(sample(after, "parley_authenticated_connections{listener=\"c2s_direct_tls\"}"), 0);
  EXPECT_EQ(sample(after, "parley_stanzas_received_total{kind=\"message\"}"),
            messages_before + kSent);
  EXPECT_GE(sample(after, "parley_stanzas_received_total{kind=\"presence\"}"), 1);
  EXPECT_GE(sample(after, "parley_stanzas_received_total{kind=\"iq\"}"), 1);
  EXPECT_GE(sample(after, "parley_stanzas_sent_total{kind=\"iq\"}"), 1);
  EXPECT_EQ(sample(after, "parley_auth_failures_total{mechanism=\"SCRAM-SHA-256\"}"),
            sample(before, "parley_auth_failures_total{mechanism=\"SCRAM-SHA-256\"}") + 1);
  EXPECT_EQ(sample(after, "parley_auth_successes_total{mechanism=\"SCRAM-SHA-256\"}"),
            sample(before, "parley_auth_successes_total{mechanism=\"SCRAM-SHA-256\"}") + 1);
  EXPECT_EQ(sample(after, "parley_auth_failures_total{mechanism=\"PLAIN\"}"), 0);
  EXPECT_GE(sample(after, "parley_connections_accepted_total"), 2);
  EXPECT_GE(sample(after, "parley_routing_latency_seconds_count"),
            sample(before, "parley_routing_latency_seconds_count") + kSent + 2);
  EXPECT_EQ(sample(after, "parley_routing_latency_seconds_bucket{le=\"+Inf\"}"),
            sample(after, "parley_routing_latency_seconds_count"));
  EXPECT_GT(sample(after, "parley_storage_latency_seconds_count"),
            sample(before, "parley_storage_latency_seconds_count"));
  EXPECT_NE(after.find("\n# EOF\n"), std::string::npos);

  // parleyctl stats shows the same figures.
  std::string out;
  ASSERT_EQ(server_.ctl({"stats", "--json"}, &out), 0) << out;
  boost::system::error_code ec;
  auto stats = boost::json::parse(out, ec);
  ASSERT_FALSE(ec) << out;
  EXPECT_EQ(stats.at("sessions").to_number<int64_t>(), 1);
  EXPECT_EQ(stats.at("stanzas_in_by_kind").at("message").to_number<double>(),
            messages_before + kSent);
  EXPECT_EQ(stats.at("auth_failures_by_mechanism").at("SCRAM-SHA-256").to_number<double>(),
            sample(after, "parley_auth_failures_total{mechanism=\"SCRAM-SHA-256\"}"));
  EXPECT_EQ(stats.at("authenticated_connections").at("c2s").to_number<int64_t>(), 1);
  EXPECT_GT(stats.at("resident_memory_bytes").to_number<int64_t>(), 1000000);
  EXPECT_GT(stats.at("routing_latency").at("count").to_number<int64_t>(), kSent);
  EXPECT_GT(stats.at("storage_latency").at("count").to_number<int64_t>(), 0);

  ASSERT_EQ(server_.ctl({"stats"}, &out), 0) << out;
  EXPECT_NE(out.find("sessions                   1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("authenticated_connections  1 (c2s 1, c2s_direct_tls 0)"), std::string::npos)
      << out;
  EXPECT_NE(out.find("auth_failures              1 (SCRAM-SHA-256 1)"), std::string::npos) << out;
  EXPECT_NE(out.find("routing_latency            "), std::string::npos) << out;
  EXPECT_NE(out.find(" observed, mean "), std::string::npos) << out;

  // The gauges go down when the client leaves.
  alice.disconnect();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  std::string last;
  do {
    last = scrape();
    if (sample(last, "parley_sessions") == 0 &&
        sample(last, "parley_authenticated_connections{listener=\"c2s\"}") == 0)
      break;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(sample(last, "parley_sessions"), 0);
  EXPECT_EQ(sample(last, "parley_authenticated_connections{listener=\"c2s\"}"), 0);
}

TEST_F(Metrics, KeepAliveHeadAndErrorsOfMethodAndPath) {
  RawClient c(server_.http_port());
  ASSERT_TRUE(c.ok());
  // Two requests pipelined on one connection, then a HEAD that closes it.
  c.send(
      "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\nPOST /metrics HTTP/1.1\r\nHost: a\r\n"
      "Content-Length: 2\r\n\r\nxyHEAD /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(c.read_until_closed()) << c.received();
  const std::string& in = c.received();
  const size_t second = in.find("HTTP/1.1 405");
  ASSERT_NE(second, std::string::npos) << in;
  EXPECT_EQ(in.rfind("HTTP/1.1 200", 0), 0u) << in;
  EXPECT_NE(in.find("# EOF\n", 0), std::string::npos);
  EXPECT_NE(in.find("Allow: GET, HEAD", second), std::string::npos) << in;
  const size_t third = in.find("HTTP/1.1 200", second);
  ASSERT_NE(third, std::string::npos) << in;
  HttpReply head = parse_reply(in.substr(third));
  EXPECT_TRUE(head.body.empty()) << head.body.size();
  EXPECT_GT(std::stoul(head.header("Content-Length")), 100u);

  EXPECT_EQ(http_get(server_.http_port(), "/").status, 404);
  EXPECT_EQ(http_get(server_.http_port(), "/metrics/").status, 404);
  EXPECT_EQ(http_get(server_.http_port(), "/nothing/here?x=1").status, 404);
  EXPECT_EQ(http_get(server_.http_port(), "/metrics?format=text").status, 200);
}

// Hostile HTTP with small limits; after each case parleyd still serves an
// XMPP client and /metrics.
class HttpHostile : public Metrics {
 protected:
  HttpHostile()
      : Metrics(with("max_connections = 8\nmax_header_bytes = 1024\nmax_body_bytes = 1024\n"
                     "request_timeout_seconds = 2\nidle_timeout_seconds = 3\n")) {}

  void TearDown() override {
    // A clean exit: under the sanitizers a leak or a use-after-free at
    // shutdown makes it non-zero.
    EXPECT_EQ(server_.stop(), 0);
    Metrics::TearDown();
  }

  void still_serving() {
    XmppClient alice(server_, "alice@localhost", "wonderland");
    EXPECT_TRUE(alice.connect()) << alice.error();
    alice.disconnect();
    HttpReply r = http_get(server_.http_port(), "/metrics");
    EXPECT_EQ(r.status, 200) << r.head;
  }
};

TEST_F(HttpHostile, OversizedHeaderGets431) {
  HttpReply r =
      http_raw(server_.http_port(),
               "GET /metrics HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.status, 431) << r.head;
  // A request line alone over the limit, never ended.
  r = http_raw(server_.http_port(), "GET /" + std::string(3000, 'b'));
  EXPECT_EQ(r.status, 431) << r.head;
  still_serving();
}

TEST_F(HttpHostile, OversizedBodyGets413) {
  HttpReply r = http_raw(server_.http_port(),
                         "POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n");
  EXPECT_EQ(r.status, 413) << r.head;
  r = http_raw(server_.http_port(),
               "POST /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               "4000\r\n" +
                   std::string(0x4000, 'z') + "\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 413) << r.head;
  still_serving();
}

TEST_F(HttpHostile, GarbageGets400) {
  for (const std::string& garbage :
       {std::string("HELLO\r\n\r\n"), std::string("GET\r\n\r\n"),
        std::string("GET /metrics HTTP/1.1\r\nBad Header\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n",
        std::string("GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
        std::string("GET /metrics HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        std::string("GET /a\0b HTTP/1.1\r\n\r\n", 21)}) {
    HttpReply r = http_raw(server_.http_port(), garbage);
    EXPECT_EQ(r.status, 400) << garbage << " -> " << r.head;
  }
  still_serving();
}

TEST_F(HttpHostile, TraversalLikePathsGet404) {
  for (const char* path :
       {"/../metrics", "/metrics/../metrics", "/./metrics", "//metrics", "/%2e%2e/etc/passwd",
        "/..%2fetc/passwd", "/metrics%00", "/../../../../etc/passwd"}) {
    HttpReply r = http_get(server_.http_port(), path);
    EXPECT_EQ(r.status, 404) << path << " -> " << r.head;
  }
  // Absolute-form and asterisk targets name no route either.
  EXPECT_EQ(http_get(server_.http_port(), "http://localhost/metrics").status, 404);
  EXPECT_EQ(
      http_raw(server_.http_port(), "OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
          .status,
      404);
  still_serving();
}

TEST_F(HttpHostile, SlowlorisIsCutOffAtTheRequestDeadline) {
  RawClient c(server_.http_port());
  ASSERT_TRUE(c.ok());
  const auto start = std::chrono::steady_clock::now();
  c.send("GET /metrics HTTP/1.1\r\nHost: a\r\n");
  bool closed = false;
  // One header line every 300 ms, never the end of the headers.
  for (int i = 0; i < 40 && !closed; ++i) {
    c.send("X-" + std::to_string(i) + ": y\r\n");
    closed = c.read_until_closed(300ms);
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(closed);
  EXPECT_LT(took, 6s);
  EXPECT_EQ(c.received().find("HTTP/1.1 200"), std::string::npos);
  // A connection that sends nothing at all is closed after the idle timeout.
  RawClient silent(server_.http_port());
  ASSERT_TRUE(silent.ok());
  EXPECT_TRUE(silent.read_until_closed(8s));
  still_serving();
}

TEST_F(HttpHostile, ConnectionsOverTheCapAreClosed) {
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 8; ++i) {
    held.push_back(std::make_unique<RawClient>(server_.http_port()));
    ASSERT_TRUE(held.back()->ok());
  }
  // Each held connection is accepted (a keep-alive request answered) before
  // the next test, so the count is exact.
  for (auto& h : held) {
    h->send("GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_TRUE(h->read_until("not found\n")) << h->received();
  }
  RawClient extra(server_.http_port());
  ASSERT_TRUE(extra.ok());
  extra.send("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(extra.read_until_closed(3s));
  EXPECT_EQ(extra.received(), "");
  held.clear();
  // The slots come free once the server saw the connections close.
  HttpReply r;
  for (int i = 0; i < 50 && r.status != 200; ++i) {
    r = http_get(server_.http_port(), "/metrics");
    if (r.status != 200) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(r.status, 200);
  EXPECT_GE(sample("\n" + r.body, "parley_http_rejected_total"), 1);
  still_serving();
}

class MetricsRestricted : public Metrics {
 protected:
  MetricsRestricted() : Metrics(with("metrics_allow = [\"::1\", \"192.0.2.1\"]\n")) {}
};

TEST_F(MetricsRestricted, OtherAddressesGet403) {
  HttpReply r = http_get(server_.http_port(), "/metrics");
  EXPECT_EQ(r.status, 403) << r.head;
  EXPECT_EQ(r.body.find("parley_"), std::string::npos);
}

TEST(HttpListener, DisabledOpensNoPort) {
  TestServer server(with("enabled = false\n"));
  server.start();
  EXPECT_EQ(server.http_port(), 0);
  std::string out;
  EXPECT_EQ(server.ctl({"stats"}, &out), 0) << out;
}

}  // namespace
}  // namespace parley::test

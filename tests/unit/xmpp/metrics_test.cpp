// The lock-free metrics: sharded counters and gauges, histograms, and the
// route registry of the HTTP listener.
#include "xmpp/metrics.hpp"

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "xmpp/http_routes.hpp"

namespace parley {
namespace {

using namespace std::chrono_literals;

TEST(Metrics, CountersSumTheirShardsAcrossThreads) {
  metrics::Counter c;
  metrics::Gauge g;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        g.inc();
        if (i % 2) g.dec();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 80000u);
  EXPECT_EQ(g.value(), 40000);
  c.inc(5);
  EXPECT_EQ(c.value(), 80005u);
}

TEST(Metrics, HistogramBucketsAreCumulativeAndUpperBoundsInclusive) {
  metrics::Histogram h({1ms, 10ms, 100ms});
  h.observe(500us);
  h.observe(1ms);  // on the bound: in that bucket (le = less or equal)
  h.observe(2ms);
  h.observe(1s);    // +Inf
  h.observe(-5ms);  // clamped to 0
  const auto s = h.snapshot();
  ASSERT_EQ(s.bounds.size(), 3u);
  EXPECT_DOUBLE_EQ(s.bounds[0], 0.001);
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{3, 4, 4, 5}));
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.sum, 1.0035);
}

TEST(Metrics, HistogramFromManyThreadsKeepsCountEqualToInfBucket) {
  metrics::Histogram h(metrics::routing_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) h.observe(std::chrono::microseconds(i * (t + 1)));
    });
  for (auto& t : threads) t.join();
  const auto s = h.snapshot();
  EXPECT_EQ(s.count, 20000u);
  EXPECT_EQ(s.cumulative.back(), s.count);
  for (size_t i = 1; i < s.cumulative.size(); ++i) EXPECT_LE(s.cumulative[i - 1], s.cumulative[i]);
}

TEST(Metrics, HistogramRefusesUnorderedOrTooManyBounds) {
  EXPECT_THROW(metrics::Histogram({2ms, 1ms}), std::logic_error);
  EXPECT_THROW(metrics::Histogram({1ms, 1ms}), std::logic_error);
  std::vector<std::chrono::nanoseconds> many;
  for (int i = 1; i <= 30; ++i) many.push_back(std::chrono::milliseconds(i));
  EXPECT_THROW(metrics::Histogram{many}, std::logic_error);
}

TEST(Metrics, MechanismIndexMapsUnknownToOther) {
  EXPECT_EQ(metrics::kMechanisms[metrics::mechanism_index("SCRAM-SHA-256")], "SCRAM-SHA-256");
  EXPECT_EQ(metrics::kMechanisms[metrics::mechanism_index("PLAIN")], "PLAIN");
  EXPECT_EQ(metrics::kMechanisms[metrics::mechanism_index("")], "other");
  EXPECT_EQ(metrics::kMechanisms[metrics::mechanism_index("X-OAUTH2")], "other");
  EXPECT_EQ(metrics::kMechanisms[metrics::mechanism_index("other")], "other");
}

boost::asio::awaitable<HttpResponse> answer(const HttpRequest&) {
  co_return HttpResponse{};
}

TEST(HttpRoutes, ExactPathsPrefixesAndMethods) {
  HttpRoutes routes;
  const auto metrics = routes.add({"/metrics", false, {"GET"}, answer});
  routes.add({"/upload/", true, {"PUT", "GET"}, answer});
  routes.add({"/upload/special/", true, {"POST"}, answer});

  EXPECT_EQ(routes.find("/metrics", "GET").outcome, HttpRoutes::Outcome::Found);
  EXPECT_EQ(routes.find("/metrics", "HEAD").outcome, HttpRoutes::Outcome::Found);
  EXPECT_EQ(routes.find("/metrics", "POST").outcome, HttpRoutes::Outcome::MethodNotAllowed);
  EXPECT_EQ(routes.find("/metrics/", "GET").outcome, HttpRoutes::Outcome::NotFound);
  EXPECT_EQ(routes.find("/metricsx", "GET").outcome, HttpRoutes::Outcome::NotFound);
  EXPECT_EQ(routes.find("/", "GET").outcome, HttpRoutes::Outcome::NotFound);

  auto m = routes.find("/upload/abc/file.jpg", "PUT");
  EXPECT_EQ(m.outcome, HttpRoutes::Outcome::Found);
  EXPECT_EQ(m.route->path, "/upload/");
  m = routes.find("/upload/special/x", "POST");  // the longest prefix
  EXPECT_EQ(m.outcome, HttpRoutes::Outcome::Found);
  EXPECT_EQ(m.route->path, "/upload/special/");
  EXPECT_EQ(routes.find("/upload", "PUT").outcome, HttpRoutes::Outcome::NotFound);

  routes.remove(metrics);
  EXPECT_EQ(routes.find("/metrics", "GET").outcome, HttpRoutes::Outcome::NotFound);
  EXPECT_EQ(routes.size(), 2u);
}

TEST(HttpRoutes, DotSegmentsAndOddPathsNeverMatch) {
  HttpRoutes routes;
  routes.add({"/metrics", false, {"GET"}, answer});
  routes.add({"/files/", true, {"GET"}, answer});
  for (const char* path :
       {"/files/../metrics", "/files/./x", "/files/..", "/files/a/../../etc/passwd", "/files/a\\b",
        "metrics", "", "//metrics", "/./metrics", "/files/%2e%2e/x/.."})
    EXPECT_EQ(routes.find(path, "GET").outcome, HttpRoutes::Outcome::NotFound) << path;
  EXPECT_EQ(routes.find(std::string_view("/files/a\0b", 10), "GET").outcome,
            HttpRoutes::Outcome::NotFound);
  // Percent-encoded dots are not decoded: just a strange file name.
  EXPECT_EQ(routes.find("/files/%2e%2e", "GET").outcome, HttpRoutes::Outcome::Found);
}

TEST(HttpRoutes, InvalidOrDuplicateRegistrationsThrow) {
  HttpRoutes routes;
  routes.add({"/metrics", false, {"GET"}, answer});
  EXPECT_THROW(routes.add({"/metrics", false, {"POST"}, answer}), std::logic_error);
  EXPECT_THROW(routes.add({"metrics", false, {"GET"}, answer}), std::logic_error);
  EXPECT_THROW(routes.add({"/upload", true, {"GET"}, answer}), std::logic_error);
  EXPECT_THROW(routes.add({"/a/../b", false, {"GET"}, answer}), std::logic_error);
  EXPECT_THROW(routes.add({"/x", false, {}, answer}), std::logic_error);
  EXPECT_THROW(routes.add({"/y", false, {"GET"}, nullptr}), std::logic_error);
  // The same path as a prefix is another route.
  EXPECT_NO_THROW(routes.add({"/metrics/", true, {"GET"}, answer}));
}

TEST(HttpRoutes, HeadersAreFoundCaseInsensitively) {
  HttpRequest r;
  r.headers = {{"Content-Type", "text/plain"}, {"X-A", "1"}, {"x-a", "2"}};
  ASSERT_NE(r.header("content-type"), nullptr);
  EXPECT_EQ(*r.header("content-type"), "text/plain");
  EXPECT_EQ(*r.header("X-a"), "1");
  EXPECT_EQ(r.header("Accept"), nullptr);
}

}  // namespace
}  // namespace parley

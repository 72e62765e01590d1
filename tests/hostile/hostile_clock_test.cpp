// Hostile case 52 (reliability note §5, "a stepped wall clock"): NTP or an
// admin steps the system clock back a day and then forward. parleyd runs
// under libfaketime with only the wall clock faked (as a real step leaves
// CLOCK_MONOTONIC alone): timers keep their durations and the archive keeps
// the order in which messages were accepted, whatever their time stamps say.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "hostile/hostile_support.hpp"

namespace parley::test::hostile {
namespace {

using namespace std::chrono_literals;

constexpr const char* kLibFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
constexpr const char* kMam = "urn:xmpp:mam:2";

// The file libfaketime reads the offset from on every call ("+0", "-1d").
std::string make_clock_file() {
  char path[] = "/tmp/parley-clock-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return {};
  const std::string now = "+0\n";
  (void)!write(fd, now.data(), now.size());
  close(fd);
  return path;
}

TestServerOptions faked_wall_clock(const std::string& clock_file) {
  TestServerOptions o;
  o.limits = "unauthenticated_timeout_seconds = 2\n";
  std::string asan = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
  // The preload comes before the sanitizer runtime; that is intended here.
  asan += asan.empty() ? "verify_asan_link_order=0" : ":verify_asan_link_order=0";
  o.environment = {{"LD_PRELOAD", kLibFaketime},
                   {"FAKETIME_TIMESTAMP_FILE", clock_file},
                   {"FAKETIME_NO_CACHE", "1"},
                   {"FAKETIME_DONT_FAKE_MONOTONIC", "1"},
                   {"ASAN_OPTIONS", asan}};
  return o;
}

// The bodies of the MAM results `c` has received (their archive ids into `ids`).
std::vector<std::string> archived_bodies(XmppClient& c, std::vector<std::string>* ids = nullptr) {
  std::vector<std::string> bodies;
  while (auto m = c.expect([](const xml::Element& el) { return el.child("result", kMam); }, 0ms)) {
    const xml::Element* result = m->child("result", kMam);
    if (ids) ids->push_back(result->attr_or("id"));
    const xml::Element* fwd = result->child("forwarded", "urn:xmpp:forward:0");
    const xml::Element* inner = fwd ? fwd->child("message", "jabber:client") : nullptr;
    bodies.push_back(inner ? inner->child_text("body") : "");
  }
  return bodies;
}

class HostileClock : public Hostile {
 protected:
  HostileClock() : HostileClock(make_clock_file()) {}
  explicit HostileClock(const std::string& clock_file)
      : Hostile(faked_wall_clock(clock_file)), clock_file_(clock_file) {}
  ~HostileClock() override { std::remove(clock_file_.c_str()); }
  void SetUp() override {
    if (access(kLibFaketime, R_OK) != 0) GTEST_FAIL() << kLibFaketime << " missing (faketime)";
    ASSERT_FALSE(clock_file_.empty());
    Hostile::SetUp();
  }
  // Steps parleyd's wall clock to `offset` from the real time ("-1d", "+2d").
  void step_wall_clock(const std::string& offset) { std::ofstream(clock_file_) << offset << "\n"; }

  // The unauthenticated-stream timer (2 s) fires after 2 s, not a day early or late.
  void expect_silent_stream_times_out_on_time() {
    RawClient c(server_.c2s_port());
    ASSERT_TRUE(open_stream(c));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(c.read_until("<connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'", 8s))
        << c.received();
    EXPECT_GE(std::chrono::steady_clock::now() - start, 1500ms);
    EXPECT_TRUE(c.read_until_closed());
  }

  std::string clock_file_;
};

TEST_F(HostileClock, Case52_SteppedWallClockBreaksNeitherTimersNorArchiveOrder) {
  auto alice = raw_alice("a");
  ASSERT_TRUE(alice);
  XmppClient bob(server_, "bob@localhost", "secret", {.resource = "b"});
  ASSERT_TRUE(bob.connect()) << bob.error();
  bob.available();
  auto say = [&](const std::string& body) {
    alice->send("<message to='bob@localhost/b' type='chat'><body>" + body + "</body></message>");
    auto got = bob.expect([&](const xml::Element& el) { return el.name() == "message"; });
    ASSERT_TRUE(got) << "message " << body << " was not delivered";
    EXPECT_EQ(got->child_text("body"), body) << "delivered out of order";
  };
  say("1");
  say("2");
  step_wall_clock("-1d");
  say("3");
  say("4");
  step_wall_clock("+2d");
  say("5");

  // The archive lists them as accepted, although 3 and 4 carry earlier stamps.
  const std::string query =
      "<iq type='set' id='mam'><query xmlns='urn:xmpp:mam:2' queryid='q'/></iq>";
  auto fin = bob.iq(query);
  ASSERT_TRUE(fin && fin->attr_or("type") == "result");
  std::vector<std::string> ids;
  EXPECT_EQ(archived_bodies(bob, &ids), (std::vector<std::string>{"1", "2", "3", "4", "5"}));
  ASSERT_EQ(ids.size(), 5u);
  // Paging by archive id follows the same order: after 2 come 3, 4, 5.
  std::string after = "<iq type='set' id='mam-after'><query xmlns='urn:xmpp:mam:2' queryid='q2'>";
  after += "<set xmlns='http://jabber.org/protocol/rsm'><after>";
  after += ids[1];
  after += "</after></set></query></iq>";
  auto page = bob.iq(after);
  ASSERT_TRUE(page && page->attr_or("type") == "result");
  EXPECT_EQ(archived_bodies(bob), (std::vector<std::string>{"3", "4", "5"}));

  // Timers measure durations on the monotonic clock, in both directions.
  step_wall_clock("-1d");
  expect_silent_stream_times_out_on_time();
  step_wall_clock("+1d");
  expect_silent_stream_times_out_on_time();
}

}  // namespace
}  // namespace parley::test::hostile

#include "hostile/hostile_support.hpp"

#include <dirent.h>

#include <fstream>
#include <thread>

namespace parley::test::hostile {

using namespace std::chrono_literals;

ProcessUsage usage_of(pid_t pid) {
  ProcessUsage u;
  const std::string proc = "/proc/" + std::to_string(pid);
  if (DIR* d = ::opendir((proc + "/fd").c_str())) {
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++u.fds;
    ::closedir(d);
  }
  std::ifstream status(proc + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> u.rss_kib;
      break;
    }
    status.ignore(4096, '\n');
  }
  return u;
}

bool open_stream(RawClient& c, const std::string& host) {
  if (!c.ok()) return false;
  c.send(RawClient::stream_open(host));
  return c.read_until("</stream:features>");
}

bool start_tls(RawClient& c, const std::string& host) {
  c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  if (!c.read_until("<proceed") || !c.start_tls()) return false;
  c.clear();
  c.send(RawClient::stream_open(host));
  return c.read_until("</stream:features>");
}

::testing::AssertionResult stream_error_then_close(RawClient& c, const std::string& condition) {
  const std::string needle = "<" + condition + " xmlns='" + kStreamsNs + "'";
  if (!c.read_until(needle))
    return ::testing::AssertionFailure() << "no <" << condition << "/> in: " << c.received();
  if (!c.read_until_closed())
    return ::testing::AssertionFailure() << "the stream stayed open after <" << condition << "/>";
  return ::testing::AssertionSuccess();
}

std::optional<xml::Element> reply_with_id(RawClient& c, const std::string& id) {
  const std::string needle = "id='" + id + "'";
  if (!c.read_until(needle)) return std::nullopt;
  for (int i = 0; i < 50; ++i) {
    const std::string& in = c.received();
    const size_t at_id = in.find(needle);
    for (const char* tag : {"<iq", "<message", "<presence"}) {
      const size_t at = in.rfind(tag, at_id);
      if (at == std::string::npos) continue;
      // The nearest opening tag before the id is the stanza that carries it.
      if (in.find('<', at + 1) < at_id) continue;
      if (auto el = parse_xml(in.substr(at))) return el;
    }
    c.read_until("\x01never", 50ms);
  }
  return std::nullopt;
}

void Hostile::SetUp() {
  for (const char* u : {"alice", "bob", "carol"}) server_.create_user(u, "secret");
  server_.start();
  bystander_ = std::make_unique<XmppClient>(server_, "carol@localhost", "secret",
                                            XmppClient::Options{.resource = "bystander"});
  ASSERT_TRUE(bystander_->connect()) << bystander_->error();
  bystander_->available();
  bystander_->drain(200ms);
  baseline_ = usage_of(server_.pid());
  ASSERT_GT(baseline_.fds, 0u);
  // PostgreSQL connections of the storage pool open on first use (pool_size
  // 4 in the test config): up to four more sockets are the pool, not a leak.
  if (server_.backend() == "postgresql") baseline_.fds += 4;
}

void Hostile::TearDown() {
  if (bystander_ && server_.running()) {
    auto pong = bystander_->iq(
        "<iq type='get' id='still-there' to='localhost'>"
        "<ping xmlns='urn:xmpp:ping'/></iq>");
    EXPECT_TRUE(pong && pong->attr_or("type") == "result") << "the bystander lost its server";
    bystander_->send("<message to='carol@localhost/bystander' id='self'><body>ok</body></message>");
    EXPECT_TRUE(bystander_->expect([](const xml::Element& el) {
      return el.name() == "message" && el.child_text("body") == "ok";
    })) << "the bystander's own message did not come back";
    // Descriptors: the attack's sockets are all closed (give the server a moment).
    ProcessUsage now = usage_of(server_.pid());
    for (int i = 0; i < 50 && now.fds > baseline_.fds; ++i) {
      std::this_thread::sleep_for(100ms);
      now = usage_of(server_.pid());
    }
    EXPECT_LE(now.fds, baseline_.fds) << "file descriptors leaked";
    expect_memory_near_baseline();
    // A clean shutdown; under the sanitizers this is where LeakSanitizer
    // reports (and, with abort_on_error, fails the exit status).
    EXPECT_EQ(server_.stop(), 0) << "parleyd did not shut down cleanly";
  }
  if (HasFailure()) std::cerr << server_.log_tail() << "\n";
}

bool Hostile::rss_tracks_leaks() {
#if defined(__SANITIZE_ADDRESS__)
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return false;
#else
  return true;
#endif
#else
  return true;
#endif
}

void Hostile::expect_memory_near_baseline() {
  if (!rss_tracks_leaks()) return;
  const ProcessUsage now = usage_of(server_.pid());
  EXPECT_LE(now.rss_kib, baseline_.rss_kib + rss_slack_kib_)
      << "memory grew from " << baseline_.rss_kib << " KiB";
}

std::unique_ptr<RawClient> Hostile::raw_alice(const std::string& resource) {
  auto c = std::make_unique<RawClient>(server_.c2s_port());
  if (!raw_login(*c, "alice", "secret")) return nullptr;
  if (raw_bind(*c, resource).empty()) return nullptr;
  c->clear();
  return c;
}

}  // namespace parley::test::hostile

#pragma once
// Shared by the numbered hostile cases (tests/hostile/): a server with a
// bystander session that must stay unaffected, and the process's descriptors
// and memory, which must return to their baseline after each attack.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/test_client.hpp"
#include "support/test_server.hpp"

namespace parley::test::hostile {

struct ProcessUsage {
  size_t fds = 0;
  size_t rss_kib = 0;
};
ProcessUsage usage_of(pid_t pid);

inline constexpr const char* kStreamsNs = "urn:ietf:params:xml:ns:xmpp-streams";

// Opens a stream on `c` (no TLS) and reads its features.
bool open_stream(RawClient& c, const std::string& host = "localhost");
// STARTTLS on an opened stream, then the stream again; reads the features.
bool start_tls(RawClient& c, const std::string& host = "localhost");
// The stream error `condition` arrives and the server closes the connection.
::testing::AssertionResult stream_error_then_close(RawClient& c, const std::string& condition);
// The stanza error condition of an error reply, or "".
// The reply to the stanza with id `id` in what `c` received so far (reads on
// until it is complete), parsed.
std::optional<xml::Element> reply_with_id(RawClient& c, const std::string& id);

class Hostile : public ::testing::Test {
 protected:
  explicit Hostile(TestServerOptions options = {}) : server_(std::move(options)) {}
  void SetUp() override;
  // Every case: the bystander still works, descriptors and memory are back
  // to where they were before the attack.
  void TearDown() override;

  // A raw client logged in (STARTTLS + PLAIN) and bound as alice/`resource`.
  std::unique_ptr<RawClient> raw_alice(const std::string& resource = "raw");

  TestServer server_;
  std::unique_ptr<XmppClient> bystander_;  // carol@localhost/bystander
  ProcessUsage baseline_;
  // Memory an attack may leave in allocator caches without being a leak.
  size_t rss_slack_kib_ = 16 * 1024;
  // Whether the resident size of parleyd says anything about leaks: under
  // AddressSanitizer freed blocks wait in a quarantine of up to 256 MiB, so
  // RSS only grows; there LeakSanitizer's report at shutdown is the check.
  static bool rss_tracks_leaks();
  // RSS is back within the slack of the baseline (when it is meaningful).
  void expect_memory_near_baseline();
};

}  // namespace parley::test::hostile

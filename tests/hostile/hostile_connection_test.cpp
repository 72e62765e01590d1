// Hostile cases 41–47: connection-level denial of service (reliability note
// §5 items 34–38): slow and silent clients, floods from one address, clients
// that never read.
#include <sys/socket.h>

#include <boost/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "hostile/hostile_support.hpp"

namespace parley::test::hostile {
namespace {

using namespace std::chrono_literals;

// True when the server closed `c` without sending anything (refused at the
// TCP level, before any XML).
bool closed_without_a_word(RawClient& c) {
  return c.read_until_closed(3s) && c.received().empty();
}

class HostileTimeouts : public Hostile {
 protected:
  HostileTimeouts()
      : Hostile([] {
          TestServerOptions o;
          o.limits = "unauthenticated_timeout_seconds = 2\ntls_handshake_timeout_seconds = 2\n";
          return o;
        }()) {}
};

// 41 (note 34): a connection that opens a stream and then says nothing.
TEST_F(HostileTimeouts, Case41_SilentUnauthenticatedStreamTimesOut) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.read_until("<connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'", 6s))
      << c.received();
  EXPECT_TRUE(c.read_until_closed());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1500ms);
}

// 42 (note 34): slowloris — a byte now and then does not extend the deadline.
TEST_F(HostileTimeouts, Case42_DrippingUnauthenticatedStreamStillTimesOut) {
  RawClient c(server_.c2s_port());
  ASSERT_TRUE(open_stream(c));
  bool closed = false;
  for (int i = 0; i < 12 && !closed; ++i) {
    c.send(" ");  // whitespace keepalive
    closed = c.read_until_closed(500ms);
  }
  EXPECT_TRUE(closed) << "still open after 6 s of drip-feeding";
  EXPECT_NE(c.received().find("connection-timeout"), std::string::npos) << c.received();
}

// 43 (note 34): a TLS handshake that never starts on the direct TLS port.
TEST_F(HostileTimeouts, Case43_StalledTlsHandshakeIsClosed) {
  RawClient c(server_.direct_tls_port());  // connected, no ClientHello
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c.read_until_closed(6s));
}

// 44 (note 35): more concurrent connections than one address may hold.
class HostileConnectionCap : public Hostile {
 protected:
  HostileConnectionCap()
      : Hostile([] {
          TestServerOptions o;
          o.limits =
              "max_connections_per_address = 8\nnew_connections_per_address_burst = 1000\n"
              "new_connections_per_address_per_second = 1000\n";
          return o;
        }()) {}
};

TEST_F(HostileConnectionCap, Case44_ConnectionsOverThePerAddressCapAreClosedAtOnce) {
  // The bystander holds one of the 8 slots.
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 7; ++i) {
    held.push_back(std::make_unique<RawClient>(server_.c2s_port()));
    ASSERT_TRUE(open_stream(*held.back())) << i;
  }
  RawClient over(server_.c2s_port());
  EXPECT_TRUE(closed_without_a_word(over));
  std::string out;
  ASSERT_EQ(server_.ctl({"--json", "stats"}, &out), 0) << out;
  EXPECT_GE(boost::json::parse(out).at("connections_refused").to_number<int64_t>(), 1);
  // Closing one frees its slot.
  held.pop_back();
  bool admitted = false;
  for (int i = 0; i < 30 && !admitted; ++i) {
    std::this_thread::sleep_for(100ms);
    RawClient again(server_.c2s_port());
    admitted = open_stream(again);
  }
  EXPECT_TRUE(admitted);
}

// 45 (note 35): a burst of new connections beyond the rate.
class HostileConnectionRate : public Hostile {
 protected:
  HostileConnectionRate()
      : Hostile([] {
          TestServerOptions o;
          o.limits =
              "new_connections_per_address_burst = 5\nnew_connections_per_address_per_second = 1\n";
          return o;
        }()) {}
};

TEST_F(HostileConnectionRate, Case45_ConnectionsFasterThanTheRateAreClosedAtOnce) {
  // The bystander used one token at SetUp; one more comes back per second.
  const auto start = std::chrono::steady_clock::now();
  int admitted = 0, refused = 0;
  for (int i = 0; i < 12; ++i) {
    RawClient c(server_.c2s_port());
    if (open_stream(c))
      ++admitted;
    else if (c.received().empty())
      ++refused;
  }
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
  EXPECT_GE(admitted, 4);
  EXPECT_LE(admitted, 5 + static_cast<int>(seconds.count()));
  EXPECT_GE(refused, 1);
  EXPECT_EQ(admitted + refused, 12);
}

// 46 (note 35): many connections that open a stream and vanish leave no
// descriptor and no memory behind (the fixture compares with the baseline).
class HostileChurn : public Hostile {
 protected:
  HostileChurn()
      : Hostile([] {
          TestServerOptions o;
          o.limits =
              "new_connections_per_address_burst = 10000\n"
              "new_connections_per_address_per_second = 10000\n";
          return o;
        }()) {}
};

TEST_F(HostileChurn, Case46_ThousandAbortedConnectionsReturnToBaseline) {
  for (int i = 0; i < 1000; ++i) {
    RawClient c(server_.c2s_port());
    ASSERT_TRUE(c.ok()) << i;
    if (i % 2 == 0) c.send(RawClient::stream_open() + "<message><body>half");
    // Destroyed here: the connection drops mid-stream.
  }
  expect_memory_near_baseline();
}

// 47 (note 38): a client that never reads is cut off at the send buffer cap;
// nothing else suffers.
class HostileNonReader : public Hostile {
 protected:
  HostileNonReader()
      : Hostile([] {
          TestServerOptions o;
          // The pump must outrun the kernel's buffers, so its own reading is not shaped.
          o.limits =
              "send_buffer_bytes = 65536\nclient_bytes_per_second = 1073741824\n"
              "client_burst_bytes = 1073741824\n";
          return o;
        }()) {}
};

TEST_F(HostileNonReader, Case47_ClientThatNeverReadsIsDisconnected) {
  auto sink = raw_alice("sink");  // logs in, then never reads again
  ASSERT_TRUE(sink);
  auto bob = std::make_unique<RawClient>(server_.c2s_port());
  ASSERT_TRUE(raw_login(*bob, "bob", "secret"));
  ASSERT_FALSE(raw_bind(*bob, "pump").empty());
  const std::string body(32 * 1024, 'q');
  std::string out;
  bool gone = false;
  for (int round = 0; round < 40 && !gone; ++round) {
    std::string burst;
    for (int i = 0; i < 16; ++i)
      burst += "<message to='alice@localhost/sink' type='chat'><body>" + body + "</body></message>";
    bob->send(burst);
    bob->clear();  // bob reads what comes back (nothing) to keep his own buffer empty
    bob->read_until("\x01never", 10ms);
    ASSERT_EQ(server_.ctl({"session", "list"}, &out), 0) << out;
    gone = out.find("alice@localhost/sink") == std::string::npos;
  }
  EXPECT_TRUE(gone) << "the non-reading session is still there after 20 MiB";
  bob->send("<iq type='get' id='alive' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_TRUE(reply_with_id(*bob, "alive"));
}

// 50 (note 37): a client sending faster than its rate is read more slowly,
// not cut off, and loses nothing.
class HostileShaping : public Hostile {
 protected:
  HostileShaping()
      : Hostile([] {
          TestServerOptions o;
          o.limits = "client_bytes_per_second = 16384\nclient_burst_bytes = 16384\n";
          return o;
        }()) {}
};

TEST_F(HostileShaping, Case50_FastClientIsSlowedDownNotDropped) {
  XmppClient bob(server_, "bob@localhost", "secret", {.resource = "b"});
  ASSERT_TRUE(bob.connect());
  bob.available();
  auto c = raw_alice();
  ASSERT_TRUE(c);
  const std::string body(8000, 'f');
  const auto start = std::chrono::steady_clock::now();
  std::string burst;
  for (int i = 0; i < 10; ++i)
    burst += "<message to='bob@localhost/b' type='chat' id='f" + std::to_string(i) + "'><body>" +
             body + "</body></message>";
  c->send(burst);  // 80 kB at once, five times the burst
  for (int i = 0; i < 10; ++i) {
    const std::string id = "f" + std::to_string(i);
    ASSERT_TRUE(bob.expect([&](const xml::Element& el) { return el.attr_or("id") == id; }, 20s))
        << id;
  }
  // (80 kB - 16 kB burst) at 16 kB/s: about four seconds of paced reading.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 3s);
  c->send("<iq type='get' id='after' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_TRUE(reply_with_id(*c, "after"));
}

}  // namespace
}  // namespace parley::test::hostile

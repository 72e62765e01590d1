// parley-loadgen: an XMPP load generator (one process, many connections on
// Boost.Asio coroutines). Works against any XMPP server. Every scenario prints
// one JSON line on stdout; progress and errors go to stderr.
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>

#include "runner.hpp"
#include "scenarios.hpp"

namespace {

constexpr const char* kUsage = R"(usage: parley-loadgen SCENARIO [OPTIONS]

scenarios:
  register   create --count accounts with in-band registration (XEP-0077)
  login      log --count clients in (TLS, SASL, bind, presence); logins/s, latency
             --keep: hold them until all logged in (default: each closes at once)
  idle       log --count clients in and hold them for --duration seconds;
             --ready-file F is written once all are in (read the server's RSS then)
  chat       --pairs P sender/receiver pairs at an aggregate --rate R msgs/s for
             --duration D s; --max ramps R to the highest rate with no loss and
             p99 below --p99-limit-ms (100)
  muc        one room with --occupants M, --senders S at --rate R msgs/s (--max too);
             --muc-service (conference.DOMAIN), --room NAME
  roster     --count N accounts (201) with --contacts K (200, on a ring) log in at once
             (--concurrency) and wait for all their contacts' presence; --setup first
             creates the mutual subscriptions through the protocol (--rate subscribes/s)
  mam        --clients K sessions of account 1 page through its whole archive (XEP-0313,
             RSM, --page-size 50); --setup first sends it --messages 10000 from account 0

connection options:
  --host 127.0.0.1 --port 5222 --domain localhost
  --tls starttls|direct|none          (certificates are not verified)
  --mech auto|PLAIN|SCRAM-SHA-1|SCRAM-SHA-256   (auto: best offered, no -PLUS)
  --sm                                enable stream management (XEP-0198)
  --resume                            resume each account's last TLS session (login: after
                                      an unmeasured first login of every account)
  --login-end ping|echo|sent          a login ends with the reply to a ping sent after the
                                      initial presence (default), when our own presence
                                      comes back, or once the presence is written
  --source-addrs 127.0.0.1,127.0.0.2  local addresses, round-robin
  --timeout-ms 30000                  per login / registration / join

accounts: USER-PREFIX + index (from --first), e.g. bench0, bench1 ...
  --user-prefix bench --password benchpass --first 0
  --scram-cache FILE                  keep SCRAM salted passwords across runs

run options:
  --concurrency 50                    logins/registrations/joins in flight
  --threads 1                         I/O threads (one io_context)
  --duration 10 --warmup 1 --drain 3  seconds
  --max-rate N --max-steps 12         bounds of the --max ramp
  --server-pid PID                    report the server's CPU time (/proc/PID/stat) per
                                      login / delivery and its RSS per idle connection
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace parley::bench;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string scenario = argv[1];
  try {
    Args args(argc, argv, 2);
    Runner runner(args);
    auto check_unused = [&] {
      for (const auto& k : args.unused()) std::cerr << "warning: unknown option --" << k << "\n";
    };
    if (scenario == "register")
      scenario_register(runner, args);
    else if (scenario == "login")
      scenario_login(runner, args);
    else if (scenario == "idle")
      scenario_idle(runner, args);
    else if (scenario == "chat")
      scenario_chat(runner, args);
    else if (scenario == "muc")
      scenario_muc(runner, args);
    else if (scenario == "roster")
      scenario_roster(runner, args);
    else if (scenario == "mam")
      scenario_mam(runner, args);
    else
      throw std::invalid_argument("unknown scenario '" + scenario + "' (see --help)");
    check_unused();
    runner.save_cache();
  } catch (const std::exception& e) {
    std::cerr << "parley-loadgen " << scenario << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}

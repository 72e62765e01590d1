#include "scenarios.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <unordered_set>

#include "xmpp/namespaces.hpp"

namespace parley::bench {

namespace {

constexpr std::string_view kMucNs = "http://jabber.org/protocol/muc";
constexpr std::string_view kMucUserNs = "http://jabber.org/protocol/muc#user";
constexpr std::string_view kMucOwnerNs = "http://jabber.org/protocol/muc#owner";

// ---------------------------------------------------------------------------
// Timed message traffic (chat and muc)

// What receivers record. A body is "B <step> <seq> <send-time-ns>".
struct Traffic {
  std::atomic<uint32_t> step{0};
  std::atomic<uint64_t> received{0}, stale{0};
  std::atomic<int64_t> last_receive_ns{0};
  std::mutex mutex;
  std::vector<int64_t> latencies;          // send to parsed by the generator
  std::vector<int64_t> arrival_latencies;  // send to arrived at the recipient's socket
};

std::string make_body(uint32_t step, uint64_t seq) {
  std::string b = "B ";
  b += std::to_string(step);
  b += ' ';
  b += std::to_string(seq);
  b += ' ';
  b += std::to_string(now_ns());
  return b;
}

// `arrival_ns`: when the stanza's bytes reached the recipient's socket
// (Connection::arrival_ns()).
void record_message(Traffic& t, const xml::Element& el, std::string_view type, int64_t arrival_ns) {
  if (el.name() != "message" || el.attr_or("type") != type) return;
  const xml::Element* body = el.child("body");
  if (!body) return;
  const std::string text = body->text();
  if (text.size() < 2 || text[0] != 'B' || text[1] != ' ') return;
  const int64_t now = now_ns();
  const char* p = text.data() + 2;
  const char* end = text.data() + text.size();
  uint32_t step = 0;
  uint64_t seq = 0;
  int64_t sent = 0;
  auto r1 = std::from_chars(p, end, step);
  if (r1.ec != std::errc() || r1.ptr == end) return;
  auto r2 = std::from_chars(r1.ptr + 1, end, seq);
  if (r2.ec != std::errc() || r2.ptr == end) return;
  auto r3 = std::from_chars(r2.ptr + 1, end, sent);
  if (r3.ec != std::errc()) return;
  if (step != t.step.load()) {
    ++t.stale;
    return;
  }
  {
    std::lock_guard lock(t.mutex);
    t.latencies.push_back(now - sent);
    t.arrival_latencies.push_back(std::max<int64_t>(0, arrival_ns - sent));
  }
  ++t.received;
  t.last_receive_ns = now;
}

struct StepResult {
  double target_rate = 0;  // sends per second asked for
  double duration_s = 0;
  uint64_t sent = 0, expected = 0, received = 0, lost = 0, stale = 0;
  double send_rate = 0;      // sends per second achieved by the generator
  double delivery_rate = 0;  // deliveries per second
  double loadgen_cpu = 0;    // generator CPU seconds per wall second
  double server_cpu_s = 0;   // server CPU seconds in the step (--server-pid)
  double server_cpu = 0;     // server CPU seconds per wall second
  size_t dead_connections = 0;
  Percentiles latency;
  Percentiles arrival_latency;
};

using SendFn = std::function<void(uint64_t seq, uint32_t step)>;

asio::awaitable<StepResult> run_step(Runner& r, Traffic& t, uint32_t step_id, double rate,
                                     double duration_s, double drain_s, uint64_t per_send,
                                     const SendFn& send_one,
                                     const std::vector<std::shared_ptr<Connection>>& conns) {
  StepResult res;
  res.target_rate = rate;
  res.duration_s = duration_s;
  {
    std::lock_guard lock(t.mutex);
    t.latencies.clear();
    t.arrival_latencies.clear();
  }
  t.received = 0;
  t.stale = 0;
  t.step = step_id;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const double cpu0 = process_cpu_seconds();
  const double server_cpu0 = r.server().cpu_seconds();
  const int64_t t0 = now_ns();
  const int64_t t_end = t0 + static_cast<int64_t>(duration_s * 1e9);
  uint64_t sent = 0;
  for (;;) {
    const int64_t now = now_ns();
    if (now >= t_end) break;
    // The first message goes at t0, so a step of D seconds sends D * rate.
    const auto due = static_cast<uint64_t>(static_cast<double>(now - t0) / 1e9 * rate) + 1;
    // Bounded bursts: a generator that falls behind shows as a low send_rate.
    for (uint64_t n = 0; sent < due && n < 2000; ++n) send_one(sent++, step_id);
    timer.expires_after(std::chrono::microseconds(500));
    co_await timer.async_wait(asio::use_awaitable);
  }
  // What the last timer tick left (a step sends D * rate), but not the backlog
  // of a generator that fell behind: that shows as a low send_rate.
  const auto total = static_cast<uint64_t>(std::llround(duration_s * rate));
  if (sent < total && static_cast<double>(total - sent) <= std::max(2.0, rate * 0.002))
    while (sent < total) send_one(sent++, step_id);
  const int64_t send_end = now_ns();
  res.sent = sent;
  res.expected = sent * per_send;
  res.send_rate = static_cast<double>(sent) / duration_s;
  // Drain: until everything arrived or nothing arrived for drain_s.
  uint64_t last = t.received;
  int64_t last_progress = now_ns();
  while (t.received < res.expected) {
    co_await r.sleep(std::chrono::milliseconds(5));
    const uint64_t now_received = t.received;
    if (now_received != last) {
      last = now_received;
      last_progress = now_ns();
    } else if (now_ns() - last_progress > static_cast<int64_t>(drain_s * 1e9)) {
      break;
    }
  }
  const int64_t t_done = std::max(t.last_receive_ns.load(), send_end);
  const double wall = static_cast<double>(now_ns() - t0) / 1e9;
  res.loadgen_cpu = (process_cpu_seconds() - cpu0) / wall;
  res.server_cpu_s = r.server().cpu_seconds() - server_cpu0;
  res.server_cpu = res.server_cpu_s / wall;
  t.step = 0;  // anything later is stale
  res.received = t.received;
  res.stale = t.stale;
  res.lost = res.expected > res.received ? res.expected - res.received : 0;
  res.delivery_rate = static_cast<double>(res.received) / (static_cast<double>(t_done - t0) / 1e9);
  {
    std::lock_guard lock(t.mutex);
    res.latency = percentiles(t.latencies);
    res.arrival_latency = percentiles(t.arrival_latencies);
  }
  for (const auto& c : conns)
    if (c && !c->alive()) ++res.dead_connections;
  co_return res;
}

void step_json(Json& j, const StepResult& s, std::string_view rate_name) {
  j.num("target_rate", s.target_rate);
  j.num("duration_s", s.duration_s);
  j.num("sent", static_cast<double>(s.sent));
  j.num("expected", static_cast<double>(s.expected));
  j.num("received", static_cast<double>(s.received));
  j.num("lost", static_cast<double>(s.lost));
  j.num("send_rate", std::round(s.send_rate));
  j.num(rate_name, std::round(s.delivery_rate));
  j.latency("latency", s.latency);
  j.latency("arrival_latency", s.arrival_latency);
  j.num("loadgen_cpu", Json::round3(s.loadgen_cpu));
  if (s.server_cpu_s > 0 || s.received > 0) {
    j.num("server_cpu_s", Json::round3(s.server_cpu_s));
    j.num("server_cpu", Json::round3(s.server_cpu));
    j.num(
        "server_cpu_us_per_delivery",
        Json::round3(s.server_cpu_s * 1e6 / std::max<double>(1, static_cast<double>(s.received))));
  }
  j.num("dead_connections", static_cast<double>(s.dead_connections));
}

bool step_passed(const StepResult& s, double p99_limit_ms) {
  return s.lost == 0 && s.dead_connections == 0 && s.latency.p99 < p99_limit_ms &&
         s.send_rate >= 0.95 * s.target_rate;
}

// Runs one step at --rate, or with --max the ramp: doubling while a step
// passes (no loss, p99 under the limit, the generator kept the rate), then
// bisecting between the last good and the first bad rate.
asio::awaitable<void> traffic(Runner& r, const Args& args, Traffic& t, Json& j, uint64_t per_send,
                              const SendFn& send_one,
                              const std::vector<std::shared_ptr<Connection>>& conns,
                              std::string_view rate_name) {
  const double rate = args.number("rate", 1000);
  const double duration = args.number("duration", 10);
  const double drain = args.number("drain", 3);
  uint32_t step_id = 1;
  // Warm-up: routes, caches, TCP windows.
  const double warmup = args.number("warmup", 1);
  if (warmup > 0)
    co_await run_step(r, t, step_id++, std::min(rate, std::max(1.0, 2000.0 / per_send)), warmup,
                      drain, per_send, send_one, conns);
  if (!args.flag("max")) {
    StepResult s =
        co_await run_step(r, t, step_id++, rate, duration, drain, per_send, send_one, conns);
    step_json(j, s, rate_name);
    co_return;
  }
  const double p99_limit = args.number("p99-limit-ms", 100);
  const double ceiling = args.number("max-rate", 1e7);
  const int max_steps = static_cast<int>(args.integer("max-steps", 12));
  double current = rate, good = 0, bad = 0;
  StepResult best;
  bool have_best = false;
  std::string steps = "[";
  for (int i = 0; i < max_steps; ++i) {
    StepResult s =
        co_await run_step(r, t, step_id++, current, duration, drain, per_send, send_one, conns);
    const bool pass = step_passed(s, p99_limit);
    Json sj;
    sj.num("rate", current)
        .num("send_rate", std::round(s.send_rate))
        .num(rate_name, std::round(s.delivery_rate))
        .num("lost", static_cast<double>(s.lost))
        .num("p99_ms", Json::round3(s.latency.p99))
        .num("loadgen_cpu", Json::round3(s.loadgen_cpu))
        .num("server_cpu", Json::round3(s.server_cpu))
        .boolean("pass", pass);
    steps += (steps.size() > 1 ? "," : "") + sj.done();
    if (s.dead_connections > 0) break;
    if (pass) {
      good = current;
      best = s;
      have_best = true;
      current = bad > 0 ? (good + bad) / 2 : current * 2;
      if (current > ceiling) current = ceiling;
      if (good >= ceiling) break;
    } else {
      bad = current;
      current = good > 0 ? (good + bad) / 2 : current / 2;
    }
    if (good > 0 && bad > 0 && (bad - good) / good < 0.08) break;
    if (current < 1) break;
    co_await r.sleep(std::chrono::milliseconds(500));
  }
  steps += "]";
  j.num("max_rate", good);
  if (have_best) {
    // The generator is the limit when it could not keep the next rate while
    // using (nearly) a whole core.
    step_json(j, best, rate_name);
  }
  j.raw("steps", steps);
}

// Runs fn(i) for i in [0, count) with at most `concurrency` in flight.
struct ForEach {
  std::atomic<size_t> next{0}, left{0}, failed{0};
  std::mutex mutex;
  std::string first_error;
};

asio::awaitable<void> for_each_worker(std::shared_ptr<ForEach> st, size_t count,
                                      std::function<asio::awaitable<void>(size_t)> fn) {
  for (;;) {
    const size_t i = st->next++;
    if (i >= count) break;
    try {
      co_await fn(i);
    } catch (const std::exception& e) {
      ++st->failed;
      std::lock_guard lock(st->mutex);
      if (st->first_error.empty()) st->first_error = e.what();
    }
  }
  --st->left;
}

asio::awaitable<std::shared_ptr<ForEach>> for_each(
    Runner& r, size_t count, std::function<asio::awaitable<void>(size_t)> fn) {
  auto st = std::make_shared<ForEach>();
  const size_t workers = std::min(r.concurrency(), std::max<size_t>(count, 1));
  st->left = workers;
  for (size_t w = 0; w < workers; ++w)
    asio::co_spawn(asio::make_strand(r.ioc()), for_each_worker(st, count, fn), asio::detached);
  while (st->left > 0) co_await r.sleep(std::chrono::milliseconds(2));
  co_return st;
}

void pool_json(Json& j, PoolResult& p, std::string_view what) {
  std::string w(what);
  j.num(w + "_ok", static_cast<double>(p.ok));
  j.num(w + "_failed", static_cast<double>(p.failed));
  j.num(w + "_elapsed_s", Json::round3(p.elapsed_s));
  j.num(w + "_per_s", std::round(static_cast<double>(p.ok) / std::max(p.elapsed_s, 1e-9)));
  j.latency(w, percentiles(p.latencies));
  j.num(w + "_server_cpu_s", Json::round3(p.server_cpu_s));
  j.num(w + "_server_cpu_ms_each",
        Json::round3(p.server_cpu_s * 1e3 / std::max<double>(1, static_cast<double>(p.ok))));
  if (!p.first_error.empty()) j.str(w + "_first_error", p.first_error);
}

void require_logins(const PoolResult& p) {
  if (p.failed > 0) throw std::runtime_error("login failed: " + p.first_error);
}

// ---------------------------------------------------------------------------
// MUC helpers

bool has_status(const xml::Element& presence, std::string_view code) {
  const xml::Element* x = presence.child("x", kMucUserNs);
  if (!x) return false;
  for (const auto* s : x->children("status"))
    if (s->attr_or("code") == code) return true;
  return false;
}

asio::awaitable<void> join_room(std::shared_ptr<Connection> c, std::string room, std::string nick,
                                std::chrono::milliseconds timeout) {
  c->arm_deadline(timeout);
  const std::string occupant = room + "/" + nick;
  xml::Element p("presence", std::string(ns::client));
  p.set_attr("to", occupant);
  p.add_child("x", std::string(kMucNs))
      .add_child("history", std::string(kMucNs))
      .set_attr("maxstanzas", "0");
  c->send(p);
  xml::Element self = co_await c->wait_for([&occupant](const xml::Element& el) {
    return el.name() == "presence" && el.attr_or("from") == occupant &&
           (el.attr_or("type") == "error" || has_status(el, "110") ||
            el.child("x", kMucUserNs) != nullptr);
  });
  if (self.attr_or("type") == "error") throw std::runtime_error("MUC join refused");
  if (has_status(self, "201")) {
    // A new, locked room: accept the default configuration (instant room).
    xml::Element iq("iq", std::string(ns::client));
    iq.set_attr("type", "set");
    iq.set_attr("to", room);
    iq.set_attr("id", "cfg1");
    iq.add_child("query", std::string(kMucOwnerNs))
        .add_child("x", std::string(ns::data_forms))
        .set_attr("type", "submit");
    xml::Element reply = co_await c->request(std::move(iq));
    if (reply.attr_or("type") != "result") throw std::runtime_error("instant room refused");
  }
  c->disarm_deadline();
}

}  // namespace

void print_line(const std::string& json) {
  std::fwrite(json.data(), 1, json.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------

void scenario_register(Runner& r, const Args& args) {
  const auto count = static_cast<size_t>(args.integer("count", 100));
  r.run([&]() -> asio::awaitable<void> {
    PoolResult p = co_await r.register_many(0, count);
    Json j;
    j.str("scenario", "register");
    r.describe(j);
    j.num("count", static_cast<double>(count));
    j.num("concurrency", static_cast<double>(r.concurrency()));
    j.num("existed", static_cast<double>(p.existed));
    pool_json(j, p, "register");
    print_line(j.done());
  });
}

void scenario_login(Runner& r, const Args& args) {
  const auto count = static_cast<size_t>(args.integer("count", 100));
  const bool keep = args.flag("keep");
  r.run([&]() -> asio::awaitable<void> {
    if (r.resume()) {
      // Every account logs in once, unmeasured, to get a TLS session to resume.
      PoolResult warm = co_await r.login_many(0, count, false, true);
      if (warm.failed) std::cerr << "login: " << warm.failed << " warm-up logins failed\n";
      co_await r.close_all(warm.conns);
      // The server's work for those logouts (last activity, presence) must
      // not be counted in the measured logins.
      co_await r.sleep(std::chrono::seconds(3));
    }
    const auto& sessions = r.ctx().tls_sessions;
    const uint64_t full0 = sessions.full(), resumed0 = sessions.resumed();
    const double cpu0 = process_cpu_seconds();
    PoolResult p = co_await r.login_many(0, count, keep, true);
    const double cpu = process_cpu_seconds() - cpu0;
    Json j;
    j.str("scenario", "login");
    r.describe(j);
    j.num("count", static_cast<double>(count));
    j.num("concurrency", static_cast<double>(r.concurrency()));
    pool_json(j, p, "login");
    j.num("loadgen_cpu", Json::round3(cpu / std::max(p.elapsed_s, 1e-9)));
    j.num("scram_cache_hits", static_cast<double>(r.ctx().scram_cache.hits()));
    j.num("tls_full_handshakes", static_cast<double>(sessions.full() - full0));
    j.num("tls_resumed_handshakes", static_cast<double>(sessions.resumed() - resumed0));
    print_line(j.done());
    co_await r.close_all(p.conns);
  });
}

void scenario_idle(Runner& r, const Args& args) {
  const auto count = static_cast<size_t>(args.integer("count", 100));
  const double hold = args.number("duration", 10);
  const std::string ready_file = args.str("ready-file", "");
  r.run([&]() -> asio::awaitable<void> {
    const double rss0 = r.server().rss_bytes();
    PoolResult p = co_await r.login_many(0, count, true, true);
    for (auto& c : p.conns)
      if (c) asio::post(c->executor(), [c] { c->start_reader({}); });
    if (!ready_file.empty()) std::ofstream(ready_file) << p.ok << "\n";
    std::cerr << "idle: " << p.ok << " connections held\n";
    co_await r.sleep(std::chrono::nanoseconds(static_cast<int64_t>(hold * 1e9)));
    size_t alive = 0;
    for (auto& c : p.conns)
      if (c && c->alive()) ++alive;
    const double rss1 = r.server().rss_bytes();
    Json j;
    j.str("scenario", "idle");
    r.describe(j);
    j.num("count", static_cast<double>(count));
    j.num("held_s", hold);
    j.num("alive_at_end", static_cast<double>(alive));
    if (r.server().enabled()) {
      j.num("server_rss_before", rss0);
      j.num("server_rss_after", rss1);
      j.num("server_bytes_per_connection",
            std::round((rss1 - rss0) / std::max<double>(1, static_cast<double>(alive))));
    }
    pool_json(j, p, "login");
    print_line(j.done());
    co_await r.close_all(p.conns);
  });
}

void scenario_chat(Runner& r, const Args& args) {
  const auto pairs = static_cast<size_t>(args.integer("pairs", 10));
  r.run([&]() -> asio::awaitable<void> {
    PoolResult p = co_await r.login_many(0, 2 * pairs, true, true);
    require_logins(p);
    auto traffic_state = std::make_shared<Traffic>();
    for (size_t i = pairs; i < 2 * pairs; ++i) {
      auto c = p.conns[i];
      asio::post(c->executor(), [c, traffic_state] {
        c->start_reader([traffic_state](Connection& c, xml::Element& el) {
          record_message(*traffic_state, el, "chat", c.arrival_ns());
        });
      });
    }
    for (size_t i = 0; i < pairs; ++i) {
      auto c = p.conns[i];
      asio::post(c->executor(), [c] { c->start_reader({}); });
    }
    std::vector<std::string> targets;
    for (size_t i = 0; i < pairs; ++i) targets.push_back(p.conns[pairs + i]->bare_jid());
    const auto& conns = p.conns;
    SendFn send_one = [&conns, &targets, pairs](uint64_t seq, uint32_t step) {
      const size_t i = seq % pairs;
      auto c = conns[i];
      const std::string& to = targets[i];
      asio::post(c->executor(), [c, &to, seq, step] {
        xml::Element m("message", std::string(ns::client));
        m.set_attr("to", to);
        m.set_attr("type", "chat");
        m.set_attr("id", make_id("m", seq));
        m.add_child("body", std::string(ns::client)).add_text(make_body(step, seq));
        c->send(m);
      });
    };
    Json j;
    j.str("scenario", "chat");
    r.describe(j);
    j.num("pairs", static_cast<double>(pairs));
    co_await traffic(r, args, *traffic_state, j, 1, send_one, p.conns, "msgs_per_s");
    j.num("logins_ok", static_cast<double>(p.ok));
    print_line(j.done());
    co_await r.close_all(p.conns);
  });
}

void scenario_muc(Runner& r, const Args& args) {
  const auto occupants = static_cast<size_t>(args.integer("occupants", 100));
  const auto senders = static_cast<size_t>(args.integer("senders", 10));
  if (senders == 0 || senders > occupants)
    throw std::invalid_argument("--senders must be between 1 and --occupants");
  const std::string service = args.str("muc-service", "conference." + r.ctx().options.domain);
  const std::string room =
      args.str("room", "bench" + std::to_string(now_ns() % 1000000)) + "@" + service;
  r.run([&]() -> asio::awaitable<void> {
    PoolResult p = co_await r.login_many(0, occupants, true, true);
    require_logins(p);
    auto traffic_state = std::make_shared<Traffic>();
    Connection::Handler on_message = [traffic_state](Connection& c, xml::Element& el) {
      record_message(*traffic_state, el, "groupchat", c.arrival_ns());
    };
    const auto timeout = r.ctx().options.timeout;
    const int64_t j0 = now_ns();
    // The owner creates the room, then the others join.
    auto owner = p.conns[0];
    co_await asio::co_spawn(owner->executor(), join_room(owner, room, "u0", timeout),
                            asio::use_awaitable);
    asio::post(owner->executor(), [owner, on_message] { owner->start_reader(on_message); });
    auto& conns = p.conns;
    auto joined = co_await for_each(r, occupants - 1, [&](size_t k) -> asio::awaitable<void> {
      auto c = conns[k + 1];
      return asio::co_spawn(
          c->executor(),
          [](std::shared_ptr<Connection> c, std::string room, std::string nick,
             std::chrono::milliseconds timeout, Connection::Handler h) -> asio::awaitable<void> {
            co_await join_room(c, room, nick, timeout);
            c->start_reader(std::move(h));
          }(c, room, "u" + std::to_string(k + 1), timeout, on_message),
          asio::use_awaitable);
    });
    if (joined->failed > 0) throw std::runtime_error("MUC join failed: " + joined->first_error);
    const double join_s = static_cast<double>(now_ns() - j0) / 1e9;
    SendFn send_one = [&conns, &room, senders](uint64_t seq, uint32_t step) {
      auto c = conns[seq % senders];
      asio::post(c->executor(), [c, &room, seq, step] {
        xml::Element m("message", std::string(ns::client));
        m.set_attr("to", room);
        m.set_attr("type", "groupchat");
        m.set_attr("id", make_id("g", seq));
        m.add_child("body", std::string(ns::client)).add_text(make_body(step, seq));
        c->send(m);
      });
    };
    Json j;
    j.str("scenario", "muc");
    r.describe(j);
    j.str("room", room);
    j.num("occupants", static_cast<double>(occupants));
    j.num("senders", static_cast<double>(senders));
    j.num("join_s", Json::round3(join_s));
    co_await traffic(r, args, *traffic_state, j, occupants, send_one, p.conns, "deliveries_per_s");
    print_line(j.done());
    co_await r.close_all(p.conns);
  });
}

namespace {

constexpr std::string_view kRosterNs = "jabber:iq:roster";

// The account index of a JID "PREFIX<index>@domain[/resource]", or npos.
size_t index_of(const Runner& r, const std::string& jid) {
  const std::string prefix = r.user(0).substr(0, r.user(0).size() - 1);  // "bench"
  if (jid.rfind(prefix, 0) != 0) return std::string::npos;
  size_t value = 0;
  auto res = std::from_chars(jid.data() + prefix.size(), jid.data() + jid.size(), value);
  if (res.ec != std::errc() || res.ptr == jid.data() + prefix.size() || *res.ptr != '@')
    return std::string::npos;
  return value;
}

// Contacts of account i among n: the k/2 accounts after it and the k/2 before
// it on a ring (n = k + 1 makes a full mesh).
bool is_forward(size_t i, size_t j, size_t n, size_t k) {
  const size_t d = (j + n - i) % n;
  return d >= 1 && d <= k / 2;
}

struct RosterState {
  size_t n = 0, k = 0, first = 0;
  std::vector<std::unordered_set<size_t>> seen;  // per account, touched on its strand only
  std::atomic<size_t> converged{0};
  std::atomic<uint64_t> presences{0}, subscribed{0};
  std::atomic<int64_t> last_converged_ns{0};
};

void presence_stanza(Connection& c, const std::string& to, const char* type) {
  xml::Element p("presence", std::string(ns::client));
  p.set_attr("to", to);
  p.set_attr("type", type);
  c.send(p);
}

asio::awaitable<size_t> roster_check(std::shared_ptr<Connection> c, std::string user,
                                     std::string password) {
  co_await c->login(std::move(user), std::move(password), false);
  xml::Element iq("iq", std::string(ns::client));
  iq.set_attr("type", "get");
  iq.set_attr("id", "roster1");
  iq.add_child("query", std::string(kRosterNs));
  xml::Element reply = co_await c->request(std::move(iq));
  size_t both = 0;
  if (const auto* q = reply.child("query", kRosterNs))
    for (const auto* item : q->children("item"))
      if (item->attr_or("subscription") == "both") ++both;
  c->close();
  co_return both;
}

}  // namespace

// Setup (--setup): every account subscribes to its k contacts, both ways, by
// the protocol (subscribe / subscribed, approved by the generator). Then the
// measured part: all n accounts log in at once (--concurrency) and each waits
// for the available presence of all its k contacts (probes and broadcasts).
void scenario_roster(Runner& r, const Args& args) {
  auto st = std::make_shared<RosterState>();
  st->n = static_cast<size_t>(args.integer("count", 201));
  st->k = static_cast<size_t>(args.integer("contacts", 200));
  if (st->k % 2 != 0 || st->k == 0 || st->k >= st->n)
    throw std::invalid_argument("--contacts must be even, positive and below --count");
  const bool setup = args.flag("setup");
  const double rate = args.number("rate", 2000);
  const double settle = args.number("settle", 30);
  r.run([&]() -> asio::awaitable<void> {
    Json j;
    j.str("scenario", setup ? "roster-setup" : "roster");
    r.describe(j);
    j.num("count", static_cast<double>(st->n));
    j.num("contacts", static_cast<double>(st->k));
    if (setup) {
      Runner* rp = &r;
      Connection::Handler approve = [st, rp](Connection& c, xml::Element& el) {
        if (el.name() != "presence") return;
        const std::string type = el.attr_or("type");
        const std::string from = el.attr_or("from");
        const size_t other = index_of(*rp, from);
        if (other == std::string::npos) return;
        if (type == "subscribed") {
          ++st->subscribed;
        } else if (type == "subscribe") {
          const std::string bare = from.substr(0, from.find('/'));
          presence_stanza(c, bare, "subscribed");
          // A contact that asked first gets asked back.
          if (is_forward(other, c.index(), st->n, st->k)) presence_stanza(c, bare, "subscribe");
        }
      };
      PoolResult p = co_await r.login_many(0, st->n, true, true, approve);
      require_logins(p);
      const int64_t t0 = now_ns();
      asio::steady_timer timer(co_await asio::this_coro::executor);
      size_t sent = 0;
      for (size_t i = 0; i < st->n; ++i) {
        for (size_t d = 1; d <= st->k / 2; ++d) {
          auto c = p.conns[i];
          const std::string to = r.bare((i + d) % st->n);
          asio::post(c->executor(), [c, to] { presence_stanza(*c, to, "subscribe"); });
          if (++sent % 100 == 0) {
            const auto due = t0 + static_cast<int64_t>(static_cast<double>(sent) / rate * 1e9);
            if (due > now_ns()) co_await r.sleep(std::chrono::nanoseconds(due - now_ns()));
          }
        }
      }
      // Each pair ends with a <subscribed/> to both sides.
      const uint64_t expected = st->n * st->k;
      uint64_t last = 0;
      int64_t last_progress = now_ns();
      while (st->subscribed < expected &&
             now_ns() - last_progress < static_cast<int64_t>(settle * 1e9)) {
        co_await r.sleep(std::chrono::milliseconds(50));
        if (st->subscribed != last) {
          last = st->subscribed;
          last_progress = now_ns();
        }
      }
      j.num("subscriptions_requested", static_cast<double>(sent));
      j.num("subscribed_expected", static_cast<double>(expected));
      j.num("subscribed_received", static_cast<double>(st->subscribed.load()));
      j.num("setup_s", Json::round3(static_cast<double>(now_ns() - t0) / 1e9));
      // A second session of account 0 (the first one is busy reading) fetches its roster.
      auto c0 = std::make_shared<Connection>(asio::make_strand(r.ioc()), r.ctx(), 0);
      c0->set_resource("roster-check");
      const size_t both = co_await asio::co_spawn(
          c0->executor(), roster_check(c0, r.user(0), r.password()), asio::use_awaitable);
      j.num("roster0_both", static_cast<double>(both));
      print_line(j.done());
      co_await r.close_all(p.conns);
      co_return;
    }

    st->seen.resize(st->n);
    Runner* rp = &r;
    Connection::Handler watch = [st, rp](Connection& c, xml::Element& el) {
      if (el.name() != "presence" || el.has_attr("type")) return;
      const size_t other = index_of(*rp, el.attr_or("from"));
      if (other == std::string::npos || other == c.index()) return;
      ++st->presences;
      auto& seen = st->seen[c.index()];
      if (seen.insert(other).second && seen.size() == st->k) {
        ++st->converged;
        st->last_converged_ns = now_ns();
      }
    };
    const double cpu0 = r.server().cpu_seconds();
    const int64_t t0 = now_ns();
    PoolResult p = co_await r.login_many(0, st->n, true, true, watch);
    const int64_t t_logged_in = now_ns();
    int64_t last_progress = now_ns();
    size_t last = 0;
    while (st->converged < p.ok && now_ns() - last_progress < static_cast<int64_t>(settle * 1e9)) {
      co_await r.sleep(std::chrono::milliseconds(5));
      if (st->converged != last) {
        last = st->converged;
        last_progress = now_ns();
      }
    }
    const double server_cpu = r.server().cpu_seconds() - cpu0;
    const int64_t t_done = std::max(st->last_converged_ns.load(), t_logged_in);
    const double storm_s = static_cast<double>(t_done - t0) / 1e9;
    j.num("concurrency", static_cast<double>(r.concurrency()));
    pool_json(j, p, "login");
    j.num("converged", static_cast<double>(st->converged.load()));
    j.num("presences_received", static_cast<double>(st->presences.load()));
    j.num("storm_s", Json::round3(storm_s));
    j.num("logins_per_s", std::round(static_cast<double>(p.ok) / storm_s));
    j.num("presences_per_s", std::round(static_cast<double>(st->presences) / storm_s));
    j.num("server_cpu_s", Json::round3(server_cpu));
    j.num("server_cpu_ms_per_login",
          Json::round3(server_cpu * 1e3 / std::max<double>(1, static_cast<double>(p.ok))));
    print_line(j.done());
    co_await r.close_all(p.conns);
  });
}

namespace {

constexpr std::string_view kMamNs = "urn:xmpp:mam:2";
constexpr std::string_view kRsmNs = "http://jabber.org/protocol/rsm";

struct MamState {
  std::mutex mutex;
  std::vector<int64_t> page_latencies;
  std::atomic<uint64_t> pages{0}, messages{0}, failed{0};
  std::string first_error;
};

// Pages through the whole archive of the logged-in account, oldest first.
asio::awaitable<void> page_archive(std::shared_ptr<Connection> c, std::string user,
                                   std::string password, size_t page_size,
                                   std::shared_ptr<MamState> st) {
  try {
    co_await c->login(std::move(user), std::move(password), false);
    std::string after;
    for (uint64_t page = 0;; ++page) {
      const std::string qid = make_id("q", page);
      xml::Element iq("iq", std::string(ns::client));
      iq.set_attr("type", "set");
      iq.set_attr("id", qid);
      auto& q = iq.add_child("query", std::string(kMamNs));
      q.set_attr("queryid", qid);
      auto& set = q.add_child("set", std::string(kRsmNs));
      set.add_child("max", std::string(kRsmNs)).add_text(std::to_string(page_size));
      if (!after.empty()) set.add_child("after", std::string(kRsmNs)).add_text(after);
      const int64_t t0 = now_ns();
      c->send(iq);
      size_t results = 0;
      xml::Element reply;
      for (;;) {
        xml::Element el = co_await c->next_stanza();
        if (el.name() == "message") {
          const xml::Element* r = el.child("result", kMamNs);
          if (r && r->attr_or("queryid") == qid) ++results;
          continue;
        }
        if (el.name() == "iq" && el.attr_or("id") == qid) {
          reply = std::move(el);
          break;
        }
      }
      if (reply.attr_or("type") != "result") throw std::runtime_error("MAM query refused");
      const int64_t dt = now_ns() - t0;
      {
        std::lock_guard lock(st->mutex);
        st->page_latencies.push_back(dt);
      }
      ++st->pages;
      st->messages += results;
      const xml::Element* fin = reply.child("fin", kMamNs);
      if (!fin) throw std::runtime_error("MAM result without <fin/>");
      const xml::Element* rsm = fin->child("set", kRsmNs);
      const std::string last = rsm ? rsm->child_text("last", kRsmNs) : std::string();
      if (fin->attr_or("complete") == "true" || results == 0 || last.empty()) break;
      after = last;
    }
  } catch (const std::exception& e) {
    ++st->failed;
    std::lock_guard lock(st->mutex);
    if (st->first_error.empty()) st->first_error = e.what();
  }
  c->close();
}

}  // namespace

// Setup (--setup): account 0 sends --messages chat messages to account 1 (the
// server archives them for both). Then --clients sessions of account 1 page
// through its whole archive (XEP-0313 urn:xmpp:mam:2 with RSM, --page-size).
void scenario_mam(Runner& r, const Args& args) {
  const bool setup = args.flag("setup");
  const auto messages = static_cast<size_t>(args.integer("messages", 10000));
  const auto clients = static_cast<size_t>(args.integer("clients", 5));
  const auto page_size = static_cast<size_t>(args.integer("page-size", 50));
  const double rate = args.number("rate", 1000);
  r.run([&]() -> asio::awaitable<void> {
    Json j;
    j.str("scenario", setup ? "mam-setup" : "mam");
    r.describe(j);
    if (setup) {
      PoolResult p = co_await r.login_many(0, 2, true, true);
      require_logins(p);
      auto traffic_state = std::make_shared<Traffic>();
      auto receiver = p.conns[1];
      asio::post(receiver->executor(), [receiver, traffic_state] {
        receiver->start_reader([traffic_state](Connection& c, xml::Element& el) {
          record_message(*traffic_state, el, "chat", c.arrival_ns());
        });
      });
      auto sender = p.conns[0];
      asio::post(sender->executor(), [sender] { sender->start_reader({}); });
      const std::string to = receiver->bare_jid();
      SendFn send_one = [sender, to](uint64_t seq, uint32_t step) {
        asio::post(sender->executor(), [sender, to, seq, step] {
          xml::Element m("message", std::string(ns::client));
          m.set_attr("to", to);
          m.set_attr("type", "chat");
          m.set_attr("id", make_id("a", seq));
          m.add_child("body", std::string(ns::client)).add_text(make_body(step, seq));
          sender->send(m);
        });
      };
      StepResult s =
          co_await run_step(r, *traffic_state, 1, rate, static_cast<double>(messages) / rate, 10, 1,
                            send_one, p.conns);
      step_json(j, s, "msgs_per_s");
      print_line(j.done());
      co_await r.close_all(p.conns);
      co_return;
    }
    auto st = std::make_shared<MamState>();
    const double cpu0 = r.server().cpu_seconds();
    const int64_t t0 = now_ns();
    std::vector<std::shared_ptr<Connection>> conns;
    auto done = std::make_shared<std::atomic<size_t>>(0);
    for (size_t i = 0; i < clients; ++i) {
      auto c = std::make_shared<Connection>(asio::make_strand(r.ioc()), r.ctx(), 1);
      c->set_resource("mam" + std::to_string(i));
      conns.push_back(c);
      asio::co_spawn(c->executor(), page_archive(c, r.user(1), r.password(), page_size, st),
                     [done](std::exception_ptr) { ++*done; });
    }
    while (*done < clients) co_await r.sleep(std::chrono::milliseconds(5));
    const double elapsed = static_cast<double>(now_ns() - t0) / 1e9;
    const double server_cpu = r.server().cpu_seconds() - cpu0;
    j.num("clients", static_cast<double>(clients));
    j.num("page_size", static_cast<double>(page_size));
    j.num("failed", static_cast<double>(st->failed.load()));
    if (!st->first_error.empty()) j.str("first_error", st->first_error);
    j.num("pages", static_cast<double>(st->pages.load()));
    j.num("messages", static_cast<double>(st->messages.load()));
    j.num("messages_per_client", static_cast<double>(st->messages.load()) /
                                     static_cast<double>(std::max<size_t>(clients, 1)));
    j.num("elapsed_s", Json::round3(elapsed));
    j.num("pages_per_s", std::round(static_cast<double>(st->pages) / elapsed));
    j.num("messages_per_s", std::round(static_cast<double>(st->messages) / elapsed));
    {
      std::lock_guard lock(st->mutex);
      j.latency("page", percentiles(st->page_latencies));
    }
    j.num("server_cpu_s", Json::round3(server_cpu));
    j.num("server_cpu_us_per_message",
          Json::round3(server_cpu * 1e6 /
                       std::max<double>(1, static_cast<double>(st->messages.load()))));
    print_line(j.done());
  });
}

}  // namespace parley::bench

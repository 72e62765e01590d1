// The parleyctl commands. Each one registers itself below; execute() (admin.cpp)
// finds it, checks needs_server, and turns an exit code 2 into a usage message.
// Commands run on the blocking pool (or inside parleyctl when the server is
// stopped), so they may call the store directly.
#include <expat.h>
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <openssl/crypto.h>
#include <spdlog/version.h>
#include <sqlite3.h>
#include <sys/utsname.h>
#include <toml++/impl/version.h>
#include <unicode/uvernum.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <boost/version.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <optional>
#include <pqxx/version.hxx>
#include <set>
#include <string>
#include <vector>

#include "server/admin.hpp"
#include "server/server.hpp"
#include "server/stats.hpp"
#include "xmpp/config.hpp"
#include "xmpp/events.hpp"
#include "xmpp/host.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/module.hpp"
#include "xmpp/router.hpp"
#include "xmpp/sasl/scram.hpp"
#include "xmpp/stanza.hpp"

namespace parley {

namespace {

namespace json = boost::json;

// ---------------------------------------------------------------------------
// Helpers

CommandResult ok(std::string text, json::value data = nullptr) {
  CommandResult r;
  r.text = std::move(text);
  r.data = std::move(data);
  return r;
}

CommandResult fail(int exit, std::string text) {
  CommandResult r;
  r.exit = exit;
  r.text = std::move(text);
  return r;
}

// Options of one command: positional words, "--opt VALUE" / "--opt=VALUE", and
// flags. "--" ends the options.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  std::string error;  // set on a usage error

  bool has(const std::string& flag) const { return flags.count(flag) > 0; }
  const std::string* value(const std::string& option) const {
    auto it = values.find(option);
    return it == values.end() ? nullptr : &it->second;
  }
};

Args parse_args(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
                const std::set<std::string>& flag_options) {
  Args out;
  bool options_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string name = a, value;
    bool inline_value = false;
    if (auto eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    if (value_options.count(name)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) {
          out.error = "option " + name + " needs a value";
          return out;
        }
        value = argv[++i];
      }
      out.values[name] = value;
    } else if (flag_options.count(name) && !inline_value) {
      out.flags.insert(name);
    } else {
      std::vector<std::string> known(value_options.begin(), value_options.end());
      known.insert(known.end(), flag_options.begin(), flag_options.end());
      out.error = "unknown option '" + a + "'";
      if (std::string near = config::nearest(name, known); !near.empty())
        out.error += " (did you mean '" + near + "'?)";
      return out;
    }
  }
  return out;
}

bool hosted(const config::Config& config, const std::string& domain) {
  for (const auto& h : config.hosts) {
    auto prepped = Jid::prep_domain(h);
    if ((prepped ? *prepped : h) == domain) return true;
  }
  return false;
}

std::string hosts_list(const config::Config& config) {
  std::string out;
  for (const auto& h : config.hosts) out += (out.empty() ? "" : ", ") + h;
  return out;
}

// An account JID (bare, with a localpart, on a hosted domain).
std::optional<Jid> account_jid(const config::Config& config, const std::string& text,
                               std::string& error) {
  auto jid = Jid::parse(text);
  if (!jid) {
    error = "invalid JID '" + text + "'";
    return std::nullopt;
  }
  if (jid->local().empty()) {
    error = "'" + text + "' is not an account JID (expected user@domain)";
    return std::nullopt;
  }
  if (jid->is_full()) {
    error = "'" + text + "' has a resource; an account is a bare JID (user@domain)";
    return std::nullopt;
  }
  if (!hosted(config, jid->domain())) {
    error = "domain '" + jid->domain() +
            "' is not served by this server (hosts: " + hosts_list(config) + ")";
    return std::nullopt;
  }
  return jid;
}

std::optional<std::vector<sasl::ScramCredential>> credentials_for(const config::Config& config,
                                                                  const std::string& password,
                                                                  std::string& error) {
  auto prepped = sasl::prep_password(password);
  if (!prepped || prepped->empty()) {
    error = "the password is empty or contains characters that are not allowed";
    return std::nullopt;
  }
  const auto iterations = static_cast<uint32_t>(std::max<int64_t>(4096, config.scram_iterations));
  return std::vector<sasl::ScramCredential>{
      sasl::make_credential(sasl::Hash::Sha1, *prepped, iterations),
      sasl::make_credential(sasl::Hash::Sha256, *prepped, iterations)};
}

std::string format_duration(int64_t seconds) {
  const int64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60,
                s = seconds % 60;
  std::string out;
  if (d) out += std::to_string(d) + "d ";
  if (d || h) out += std::to_string(h) + "h ";
  if (d || h || m) out += std::to_string(m) + "m ";
  return out + std::to_string(s) + "s";
}

int64_t uptime_seconds(const Server& server) {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                          server.started())
      .count();
}

// "key   value" lines, keys padded to one column.
std::string table(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, k.size());
  std::string out;
  for (const auto& [k, v] : rows) {
    if (!out.empty()) out += '\n';
    out += k + std::string(width - k.size() + 2, ' ') + v;
  }
  return out;
}

// Runs `f` on the server's service thread (where SIGHUP does the same) and waits.
template <class F>
bool run_on_service_thread(Server& server, F f) {
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  boost::asio::post(server.service_executor(), [done, f = std::move(f)]() mutable {
    f();
    done->set_value();
  });
  return future.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
}

// Closes the sessions of `jid` (bare: all resources); returns their full JIDs.
std::vector<std::string> kick(Server& server, const Jid& jid, const std::string& reason) {
  std::vector<std::string> kicked;
  for (const auto& entry : server.router().sessions_of(jid.bare())) {
    if (jid.is_full() && entry.session->jid() != jid) continue;
    kicked.push_back(entry.session->jid().str());
    entry.session->close(StreamErrorCondition::PolicyViolation, reason);
  }
  return kicked;
}

// ---------------------------------------------------------------------------
// Server commands

CommandResult cmd_status(CommandContext& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) return fail(kExitUsage, "status takes no arguments");
  const int64_t up = uptime_seconds(*ctx.server);
  json::object o;
  o["status"] = "running";
  o["pid"] = static_cast<int64_t>(::getpid());
  o["uptime_seconds"] = up;
  o["version"] = PARLEY_VERSION;
  return ok(fmt::format("parleyd {} is running (pid {}, up {})", PARLEY_VERSION, ::getpid(),
                        format_duration(up)),
            std::move(o));
}

CommandResult cmd_ping(CommandContext&, const std::vector<std::string>& args) {
  if (!args.empty()) return fail(kExitUsage, "ping takes no arguments");
  json::object o;
  o["pong"] = true;
  return ok("pong", std::move(o));
}

CommandResult cmd_reload(CommandContext& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) return fail(kExitUsage, "reload takes no arguments");
  Server* server = ctx.server;
  Server::ReloadReport report;
  if (!run_on_service_thread(*server, [server, &report] { report = server->reload(); }))
    return fail(kExitError, "the server did not complete the reload in time");
  auto to_array = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  };
  json::object o;
  o["applied"] = to_array(report.applied);
  o["restart_needed"] = to_array(report.restart_needed);
  o["errors"] = to_array(report.errors);
  std::string text =
      "reloaded: " + (report.applied.empty() ? std::string("nothing")
                                             : fmt::format("{}", fmt::join(report.applied, ", ")));
  if (!report.restart_needed.empty())
    text += fmt::format("\nchanged, effective after a restart: {}",
                        fmt::join(report.restart_needed, ", "));
  for (const auto& e : report.errors) text += "\nerror: " + e;
  if (!report.errors.empty()) {
    CommandResult r = fail(kExitError, text);
    r.data = std::move(o);
    return r;
  }
  return ok(text, std::move(o));
}

CommandResult cmd_stop(CommandContext& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) return fail(kExitUsage, "stop takes no arguments");
  json::object o;
  o["stopping"] = true;
  o["pid"] = static_cast<int64_t>(::getpid());
  ctx.server->stop();
  return ok("parleyd is shutting down", std::move(o));
}

CommandResult cmd_stats(CommandContext& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) return fail(kExitUsage, "stats takes no arguments");
  const Server& server = *ctx.server;
  const ProcessFigures figures = server.process_figures();
  return ok(table(stats_rows(ctx.server->metrics(), figures)),
            stats_json(ctx.server->metrics(), figures));
}

CommandResult cmd_session_list(CommandContext& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) return fail(kExitUsage, "session list takes no arguments");
  auto entries = ctx.server->router().all_sessions();
  std::sort(entries.begin(), entries.end(), [](const RouteEntry& a, const RouteEntry& b) {
    return a.session->jid().str() < b.session->jid().str();
  });
  json::array list;
  std::vector<std::vector<std::string>> rows{{"JID", "ADDRESS", "SECURE", "PRIORITY", "AVAILABLE"}};
  for (const auto& e : entries) {
    const auto& s = *e.session;
    json::object o;
    o["jid"] = s.jid().str();
    o["address"] = s.remote_address();
    o["secure"] = s.secure();
    o["priority"] = e.priority;
    o["available"] = e.available;
    list.push_back(std::move(o));
    rows.push_back({s.jid().str(), s.remote_address(), s.secure() ? "yes" : "no",
                    std::to_string(e.priority), e.available ? "yes" : "no"});
  }
  json::object data;
  data["sessions"] = std::move(list);
  if (entries.empty()) return ok("no sessions", std::move(data));
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string text;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i)
      line += r[i] + (i + 1 < r.size() ? std::string(width[i] - r[i].size() + 2, ' ') : "");
    text += (text.empty() ? "" : "\n") + line;
  }
  return ok(text, std::move(data));
}

// ---------------------------------------------------------------------------
// Account commands (also offline, directly on the store)

CommandResult cmd_user_add(CommandContext& ctx, const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {"--password"}, {"--admin"});
  if (!a.error.empty()) return fail(kExitUsage, a.error);
  if (a.positional.size() != 1) return fail(kExitUsage, "expected one JID");
  const std::string* password = a.value("--password");
  if (!password)
    return fail(kExitUsage, "a password is required: --password P, or --password-stdin to read it");
  std::string error;
  auto jid = account_jid(ctx.config, a.positional[0], error);
  if (!jid) return fail(kExitError, error);
  auto creds = credentials_for(ctx.config, *password, error);
  if (!creds) return fail(kExitError, error);
  storage::Account account;
  account.key = {jid->domain(), jid->local()};
  account.admin = a.has("--admin");
  account.created = storage::Clock::now();
  account.credentials = std::move(*creds);
  if (!ctx.storage.accounts().create(account))
    return fail(kExitError, "user " + jid->bare_str() + " already exists");
  json::object o;
  o["jid"] = jid->bare_str();
  o["admin"] = account.admin;
  return ok("created user " + jid->bare_str() + (account.admin ? " (admin)" : ""), std::move(o));
}

CommandResult cmd_user_passwd(CommandContext& ctx, const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {"--password"}, {});
  if (!a.error.empty()) return fail(kExitUsage, a.error);
  if (a.positional.size() != 1) return fail(kExitUsage, "expected one JID");
  const std::string* password = a.value("--password");
  if (!password)
    return fail(kExitUsage, "a password is required: --password P, or --password-stdin to read it");
  std::string error;
  auto jid = account_jid(ctx.config, a.positional[0], error);
  if (!jid) return fail(kExitError, error);
  auto creds = credentials_for(ctx.config, *password, error);
  if (!creds) return fail(kExitError, error);
  if (!ctx.storage.accounts().set_credentials({jid->domain(), jid->local()}, *creds))
    return fail(kExitError, "no such user: " + jid->bare_str());
  json::object o;
  o["jid"] = jid->bare_str();
  return ok("changed the password of " + jid->bare_str(), std::move(o));
}

CommandResult cmd_user_del(CommandContext& ctx, const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {}, {});
  if (!a.error.empty()) return fail(kExitUsage, a.error);
  if (a.positional.size() != 1) return fail(kExitUsage, "expected one JID");
  std::string error;
  auto jid = account_jid(ctx.config, a.positional[0], error);
  if (!jid) return fail(kExitError, error);
  if (!ctx.storage.accounts().remove({jid->domain(), jid->local()}))
    return fail(kExitError, "no such user: " + jid->bare_str());
  std::vector<std::string> kicked;
  if (Server* server = ctx.server) {
    // As after an in-band removal: modules drop what they keep in memory, on
    // the service thread, then the account's sessions are closed.
    const Jid account = *jid;
    if (Host* host = server->host(account.domain()))
      run_on_service_thread(*server, [host, account] {
        AccountDeleted event{*host, account};
        host->hooks().run(event);
      });
    kicked = kick(*server, account, "account deleted");
  }
  json::object o;
  o["jid"] = jid->bare_str();
  o["sessions_closed"] = kicked.size();
  std::string text = "deleted user " + jid->bare_str();
  if (!kicked.empty()) text += fmt::format(" and closed {} session(s)", kicked.size());
  return ok(text, std::move(o));
}

CommandResult cmd_user_list(CommandContext& ctx, const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {}, {});
  if (!a.error.empty()) return fail(kExitUsage, a.error);
  if (a.positional.size() > 1) return fail(kExitUsage, "expected at most one domain");
  std::vector<std::string> domains;
  if (a.positional.empty()) {
    for (const auto& h : ctx.config.hosts) {
      auto d = Jid::prep_domain(h);
      domains.push_back(d ? *d : h);
    }
  } else {
    auto d = Jid::prep_domain(a.positional[0]);
    if (!d) return fail(kExitError, "invalid domain '" + a.positional[0] + "'");
    domains.push_back(*d);
  }
  std::vector<std::string> jids;
  for (const auto& d : domains) {
    auto users = ctx.storage.accounts().list(d);
    std::sort(users.begin(), users.end());
    for (const auto& u : users) jids.push_back(u + "@" + d);
  }
  json::array list;
  std::string text;
  for (const auto& j : jids) {
    list.emplace_back(j);
    text += (text.empty() ? "" : "\n") + j;
  }
  json::object o;
  o["users"] = std::move(list);
  return ok(jids.empty() ? "no users" : text, std::move(o));
}

CommandResult cmd_user_kick(CommandContext& ctx, const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {}, {});
  if (!a.error.empty()) return fail(kExitUsage, a.error);
  if (a.positional.size() != 1) return fail(kExitUsage, "expected one JID (bare or full)");
  auto jid = Jid::parse(a.positional[0]);
  if (!jid || jid->local().empty())
    return fail(kExitError, "invalid account JID '" + a.positional[0] + "'");
  auto kicked = kick(*ctx.server, *jid, "kicked by an administrator");
  if (kicked.empty()) return fail(kExitError, jid->str() + " has no session");
  json::object o;
  json::array list;
  std::string text;
  for (const auto& k : kicked) {
    list.emplace_back(k);
    text += (text.empty() ? "" : "\n") + std::string("kicked ") + k;
  }
  o["kicked"] = std::move(list);
  return ok(text, std::move(o));
}

// ---------------------------------------------------------------------------
// Abuse reports (XEP-0377, filed with blocks; also offline, on the store)

CommandResult cmd_reports_list(CommandContext& ctx, const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {"--limit"}, {});
  if (!a.error.empty()) return fail(kExitUsage, a.error);
  if (a.positional.size() > 1) return fail(kExitUsage, "expected at most one domain");
  size_t limit = 100;
  if (const std::string* l = a.value("--limit")) {
    size_t n = 0;
    auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
    if (ec != std::errc() || end != l->data() + l->size())
      return fail(kExitUsage, "--limit needs a number (0 = all)");
    limit = n;
  }
  std::string domain;
  if (!a.positional.empty()) {
    auto d = Jid::prep_domain(a.positional[0]);
    if (!d) return fail(kExitError, "invalid domain '" + a.positional[0] + "'");
    domain = *d;
  }
  json::array list;
  std::string text;
  for (const auto& r : ctx.storage.blocklist().reports(domain, limit)) {
    const std::string reporter = r.reporter.user + "@" + r.reporter.domain;
    const std::string when = xep0082_format(r.created);
    json::object o;
    o["id"] = r.id;
    o["time"] = when;
    o["reporter"] = reporter;
    o["reported"] = r.reported;
    o["reason"] = r.reason;
    o["text"] = r.text;
    list.push_back(std::move(o));
    text += (text.empty() ? "" : "\n") +
            fmt::format("#{} {} {} reported {} ({})", r.id, when, reporter, r.reported, r.reason);
    if (!r.text.empty()) text += "\n    " + r.text;
  }
  json::object o;
  const bool none = list.empty();
  o["reports"] = std::move(list);
  return ok(none ? "no reports" : text, std::move(o));
}

// ---------------------------------------------------------------------------
// Archive retention (XEP-0313), per account; the server's default is
// modules.mam.retention_days. Works with the server stopped too.

CommandResult cmd_archive_retention(CommandContext& ctx, const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {}, {});
  if (!a.error.empty()) return fail(kExitUsage, a.error);
  if (a.positional.empty() || a.positional.size() > 2)
    return fail(kExitUsage, "expected a JID and optionally DAYS or 'default'");
  std::string error;
  auto jid = account_jid(ctx.config, a.positional[0], error);
  if (!jid) return fail(kExitError, error);
  const storage::AccountKey account{jid->domain(), jid->local()};
  if (!ctx.storage.accounts().exists(account))
    return fail(kExitError, "no such user: " + jid->bare_str());
  if (a.positional.size() == 2) {
    const std::string& v = a.positional[1];
    if (v == "default") {
      ctx.storage.archive().set_retention_days(account, std::nullopt);
    } else {
      int days = -1;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), days);
      if (ec != std::errc() || end != v.data() + v.size() || days < 0 || days > 36500)
        return fail(kExitUsage, "DAYS must be 0 (keep forever) to 36500, or 'default'");
      ctx.storage.archive().set_retention_days(account, days);
    }
  }
  const std::optional<int> days = ctx.storage.archive().retention_days(account);
  json::object o;
  o["jid"] = jid->bare_str();
  if (days)
    o["days"] = *days;
  else
    o["days"] = nullptr;
  const std::string what = !days        ? "the server's default (modules.mam.retention_days)"
                           : *days == 0 ? "forever"
                                        : std::to_string(*days) + " day(s)";
  return ok(jid->bare_str() + ": archive kept " + what, std::move(o));
}

// ---------------------------------------------------------------------------
// Information

CommandResult cmd_check_config(CommandContext& ctx, const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {}, {});
  if (!a.error.empty()) return fail(kExitUsage, a.error);
  if (a.positional.size() > 1) return fail(kExitUsage, "expected at most one file");
  const std::string path = a.positional.empty() ? ctx.config.path : a.positional[0];
  if (path.empty()) return fail(kExitUsage, "no configuration file to check");
  auto& modules = ModuleRegistry::instance();
  auto loaded = config::load_file(path, modules.schemas(), modules.enabled_by_default());
  json::object o;
  o["file"] = path;
  o["ok"] = loaded.config.has_value();
  json::array errors;
  for (const auto& e : loaded.errors) errors.emplace_back(e);
  o["errors"] = std::move(errors);
  if (loaded.config) return ok(path + ": ok", std::move(o));
  std::string text;
  for (const auto& e : loaded.errors) text += (text.empty() ? "" : "\n") + e;
  if (text.empty()) text = path + ": invalid";
  CommandResult r = fail(kExitError, text);
  r.data = std::move(o);
  return r;
}

std::string version3(long v, long major_div, long minor_div) {
  return fmt::format("{}.{}.{}", v / major_div, v / minor_div % (major_div / minor_div),
                     v % minor_div);
}

CommandResult cmd_about(CommandContext& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) return fail(kExitUsage, "about takes no arguments");
  const auto& cfg = ctx.config;
  std::vector<std::pair<std::string, std::string>> rows;
  json::object versions;
  auto version = [&](const std::string& name, const std::string& v) {
    rows.emplace_back(name, v);
    versions[name] = v;
  };
  version("parley", PARLEY_VERSION);
  version("OpenSSL", OpenSSL_version(OPENSSL_VERSION));
  version("expat", XML_ExpatVersion());
  version("SQLite", sqlite3_libversion());
  version("libpqxx", PQXX_VERSION);
  version("Boost", version3(BOOST_VERSION, 100000, 100));
  version("toml++", fmt::format("{}.{}.{}", TOML_LIB_MAJOR, TOML_LIB_MINOR, TOML_LIB_PATCH));
  version("spdlog", fmt::format("{}.{}.{}", SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH));
  version("fmt", version3(FMT_VERSION, 10000, 100));
  version("ICU", U_ICU_VERSION);
#if defined(__clang__)
  version("compiler", std::string("clang ") + __clang_version__);
#elif defined(__GNUC__)
  version("compiler", std::string("GCC ") + __VERSION__);
#endif
  json::object o;
  o["versions"] = std::move(versions);
  if (utsname u{}; ::uname(&u) == 0) {
    std::string system = std::string(u.sysname) + " " + u.release + " " + u.machine;
    rows.emplace_back("system", system);
    o["system"] = system;
  }

  std::string config_path = cfg.path;
  if (!config_path.empty()) {
    std::error_code ec;
    auto absolute = std::filesystem::absolute(config_path, ec);
    if (!ec) config_path = absolute.lexically_normal().string();
  }
  rows.emplace_back("config", config_path.empty() ? "(none)" : config_path);
  rows.emplace_back("data dir", cfg.data_dir);
  rows.emplace_back("admin socket", cfg.admin_socket);
  o["config"] = config_path;
  o["data_dir"] = cfg.data_dir;
  o["admin_socket"] = cfg.admin_socket;

  json::object storage;
  storage["backend"] = cfg.storage.backend;
  std::string storage_text = cfg.storage.backend;
  if (cfg.storage.backend == "sqlite") {
    storage["path"] = cfg.storage.sqlite_path;
    storage_text += " " + cfg.storage.sqlite_path;
  }  // never the PostgreSQL URI: it may hold a password
  try {
    const int schema = ctx.storage.schema_version();
    storage["schema_version"] = schema;
    storage_text += ", schema " + std::to_string(schema);
  } catch (const std::exception& e) {
    storage["error"] = e.what();
    storage_text += std::string(" (unavailable: ") + e.what() + ")";
  }
  rows.emplace_back("storage", storage_text);
  o["storage"] = std::move(storage);

  if (ctx.server) {
    const int64_t up = uptime_seconds(*ctx.server);
    rows.emplace_back("server",
                      fmt::format("running, pid {}, up {}", ::getpid(), format_duration(up)));
    json::object s;
    s["running"] = true;
    s["pid"] = static_cast<int64_t>(::getpid());
    s["uptime_seconds"] = up;
    o["server"] = std::move(s);
  } else {
    rows.emplace_back("server", "not running");
    json::object s;
    s["running"] = false;
    o["server"] = std::move(s);
  }

  // Modules: what runs when the server is up, else what the config enables.
  json::object hosts;
  for (const auto& host : cfg.hosts) {
    std::vector<std::string> modules;
    if (ctx.server) {
      modules = ctx.server->enabled_modules(host);
    } else {
      for (const auto& [name, mc] : cfg.modules)
        if (mc.enabled) modules.push_back(name);
    }
    std::sort(modules.begin(), modules.end());
    std::string line;
    json::array list;
    for (const auto& m : modules) {
      line += (line.empty() ? "" : ", ") + m;
      list.emplace_back(m);
    }
    rows.emplace_back("host " + host, (line.empty() ? std::string("(no modules)") : line) +
                                          (ctx.server ? "" : " (configured)"));
    hosts[host] = std::move(list);
  }
  o["modules"] = std::move(hosts);
  return ok(table(rows), std::move(o));
}

// ---------------------------------------------------------------------------
// help

const std::map<std::string, std::string>& details() {
  static const std::map<std::string, std::string> d{
      {"status", "Shows whether parleyd answers on the admin socket, its pid, version and uptime."},
      {"ping", "Answers 'pong' when parleyd is running and its admin socket responds."},
      {"reload",
       "Reads the configuration file again, as SIGHUP does: applies the log level and the TLS "
       "certificates (re-read from disk), and names the changed settings that need a restart. A "
       "configuration with errors changes nothing but the certificates; the errors are printed "
       "and the exit code is 1."},
      {"stop",
       "Shuts parleyd down gracefully: clients get <system-shutdown/>, storage is flushed."},
      {"stats",
       "The figures of GET /metrics: sessions, authenticated connections by listener, uptime, "
       "resident memory, stanzas in/out by kind, authentication results by mechanism, accepted "
       "connections and those refused by the per-address limits, routing and storage latency "
       "(count, mean, p50 and p99 bucket bounds), HTTP requests and refusals."},
      {"session list",
       "Every bound client session: full JID, remote address, TLS, presence "
       "priority and availability."},
      {"user add",
       "Creates an account with SCRAM-SHA-1 and SCRAM-SHA-256 credentials (the password itself is "
       "never stored). --admin marks the account as an administrator. --password-stdin reads the "
       "password from the first line of standard input, so it does not show up in the process "
       "list or shell history."},
      {"user passwd", "Replaces the credentials of an account. Existing sessions stay connected."},
      {"user del",
       "Deletes an account and everything stored for it (roster, offline messages, vCard, ...). "
       "When parleyd runs, the account's sessions are closed with <policy-violation/>."},
      {"user list", "Lists the accounts of one domain, or of every configured host."},
      {"user kick",
       "Closes the sessions of an account (bare JID) or one session (full JID) with "
       "<policy-violation/>. The account can log in again."},
      {"reports list",
       "Abuse reports users filed when blocking a JID (XEP-0377), newest first: time, reporter, "
       "reported JID, reason and the user's text. --limit N shows at most N (default 100, 0 = "
       "all); a DOMAIN shows only reports by its users."},
      {"archive retention",
       "Shows or sets how long an account's message archive is kept: DAYS (0 = forever), or "
       "'default' for the server's modules.mam.retention_days. The server deletes older messages "
       "itself, at modules.mam.expiry_interval_seconds."},
      {"check config",
       "Validates a configuration file (default: the one parleyctl was given) and prints every "
       "problem with its line."},
      {"about", "Versions, paths, storage and modules: what to paste into a bug report."},
      {"help", "Lists the commands, or explains one."},
  };
  return d;
}

json::object describe(const Command& c) {
  json::object o;
  o["name"] = c.name;
  o["usage"] = "parleyctl " + c.usage;
  o["summary"] = c.summary;
  o["needs_server"] = c.needs_server;
  return o;
}

CommandResult cmd_help(CommandContext&, const std::vector<std::string>& args) {
  const auto& all = CommandRegistry::instance().all();
  if (args.empty()) {
    // Usages up to `width` share their line with the summary; longer ones get
    // the summary on the next line.
    constexpr size_t kMaxWidth = 30;
    size_t width = 0;
    for (const auto& [name, c] : all)
      if (c.usage.size() <= kMaxWidth) width = std::max(width, c.usage.size());
    std::string text =
        "usage: parleyctl [--config FILE] [--socket PATH] [--json] COMMAND [ARGS...]\n\n"
        "Commands (* needs a running parleyd; the others also work with it stopped):\n";
    json::array list;
    for (const auto& [name, c] : all) {
      text += std::string(c.needs_server ? "* " : "  ") + c.usage;
      if (c.usage.size() > width) text += "\n" + std::string(width + 2, ' ');
      text += std::string(width - std::min(width, c.usage.size()) + 2, ' ') + c.summary + "\n";
      list.push_back(describe(c));
    }
    text +=
        "\nExit codes: 0 ok, 1 error, 2 usage, 3 parleyd is not running.\n"
        "Run 'parleyctl help COMMAND' for details.";
    json::object o;
    o["commands"] = std::move(list);
    return ok(text, std::move(o));
  }
  std::string topic;
  for (const auto& w : args) topic += (topic.empty() ? "" : " ") + w;
  if (auto it = all.find(topic); it != all.end()) {
    const Command& c = it->second;
    std::string summary = c.summary;
    if (!summary.empty())
      summary[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(summary[0])));
    std::string text = "usage: parleyctl " + c.usage + "\n\n" + summary + ".";
    if (auto d = details().find(c.name); d != details().end()) text += "\n" + d->second;
    text += c.needs_server ? "\nNeeds a running parleyd (exit code 3 otherwise)."
                           : "\nWorks with parleyd stopped, directly on the store.";
    return ok(text, describe(c));
  }
  // A group: "help user".
  std::string text;
  json::array list;
  for (const auto& [name, c] : all) {
    if (name.rfind(topic + " ", 0) != 0) continue;
    text += (text.empty() ? "" : "\n") + std::string(c.needs_server ? "* " : "  ") + "parleyctl " +
            c.usage + "\n      " + c.summary;
    list.push_back(describe(c));
  }
  if (!list.empty()) {
    json::object o;
    o["commands"] = std::move(list);
    return ok(text, std::move(o));
  }
  std::vector<std::string> names;
  for (const auto& [name, c] : all) names.push_back(name);
  std::string msg = "no such command: '" + topic + "'";
  if (std::string near = config::nearest(topic, names); !near.empty())
    msg += " (did you mean '" + near + "'?)";
  return fail(kExitUsage, msg);
}

// ---------------------------------------------------------------------------
// Registration

[[maybe_unused]] const bool registered = [] {
  auto& r = CommandRegistry::instance();
  r.add({"status", "show whether parleyd runs, its pid, version and uptime", "status", true,
         cmd_status});
  r.add({"ping", "check that parleyd answers", "ping", true, cmd_ping});
  r.add({"reload", "reload the configuration and certificates (like SIGHUP)", "reload", true,
         cmd_reload});
  r.add({"stop", "shut parleyd down gracefully", "stop", true, cmd_stop});
  r.add({"stats", "sessions, memory, stanza, authentication, latency and HTTP figures", "stats",
         true, cmd_stats});
  r.add({"session list", "list the connected client sessions", "session list", true,
         cmd_session_list});
  r.add({"user add", "create an account",
         "user add JID (--password P | --password-stdin) [--admin]", false, cmd_user_add});
  r.add({"user passwd", "change the password of an account",
         "user passwd JID (--password P | --password-stdin)", false, cmd_user_passwd});
  r.add({"user del", "delete an account and its data", "user del JID", false, cmd_user_del});
  r.add({"user list", "list the accounts", "user list [DOMAIN]", false, cmd_user_list});
  r.add({"user kick", "disconnect an account's sessions (bare JID) or one session (full JID)",
         "user kick JID", true, cmd_user_kick});
  r.add({"reports list", "list the abuse reports filed with blocks",
         "reports list [DOMAIN] [--limit N]", false, cmd_reports_list});
  r.add({"archive retention", "show or set an account's archive retention",
         "archive retention JID [DAYS|default]", false, cmd_archive_retention});
  r.add({"check config", "validate a configuration file", "check config [FILE]", false,
         cmd_check_config});
  r.add({"about", "versions, paths and modules, for bug reports", "about", false, cmd_about});
  r.add({"help", "list the commands or explain one", "help [COMMAND]", false, cmd_help});
  return true;
}();

}  // namespace

}  // namespace parley

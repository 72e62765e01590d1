#include "xmpp/config.hpp"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "xmpp/jid.hpp"

namespace parley::config {

// ---------------------------------------------------------------------------
// OptionSchema / OptionValues

namespace {

void check_new_name(const std::vector<OptionSpec>& options, const std::string& name) {
  if (name.empty()) throw std::logic_error("config option with an empty name");
  for (const auto& o : options)
    if (o.name == name) throw std::logic_error("config option '" + name + "' declared twice");
}

}  // namespace

OptionSchema& OptionSchema::add_bool(std::string name, bool def, std::string doc) {
  check_new_name(options_, name);
  OptionSpec spec;
  spec.name = std::move(name);
  spec.type = OptionSpec::Type::Bool;
  spec.default_value = def;
  spec.doc = std::move(doc);
  options_.push_back(std::move(spec));
  return *this;
}

OptionSchema& OptionSchema::add_int(std::string name, int64_t def, int64_t min, int64_t max,
                                    std::string doc) {
  check_new_name(options_, name);
  if (min > max) throw std::logic_error("config option '" + name + "': min > max");
  if (def < min || def > max)
    throw std::logic_error("config option '" + name + "': default outside [min, max]");
  OptionSpec spec;
  spec.name = std::move(name);
  spec.type = OptionSpec::Type::Int;
  spec.default_value = def;
  spec.min = min;
  spec.max = max;
  spec.doc = std::move(doc);
  options_.push_back(std::move(spec));
  return *this;
}

OptionSchema& OptionSchema::add_string(std::string name, std::string def, std::string doc,
                                       std::vector<std::string> choices) {
  check_new_name(options_, name);
  // An empty default with choices means "no default" (the loader may require the key).
  if (!def.empty() && !choices.empty() &&
      std::find(choices.begin(), choices.end(), def) == choices.end())
    throw std::logic_error("config option '" + name + "': default not among the choices");
  OptionSpec spec;
  spec.name = std::move(name);
  spec.type = OptionSpec::Type::String;
  spec.default_value = std::move(def);
  spec.choices = std::move(choices);
  spec.doc = std::move(doc);
  options_.push_back(std::move(spec));
  return *this;
}

OptionSchema& OptionSchema::add_string_list(std::string name, std::vector<std::string> def,
                                            std::string doc) {
  check_new_name(options_, name);
  OptionSpec spec;
  spec.name = std::move(name);
  spec.type = OptionSpec::Type::StringList;
  spec.default_value = std::move(def);
  spec.doc = std::move(doc);
  options_.push_back(std::move(spec));
  return *this;
}

const OptionSpec* OptionSchema::find(const std::string& name) const {
  for (const auto& o : options_)
    if (o.name == name) return &o;
  return nullptr;
}

namespace {

template <typename T>
const T& get_typed(const std::map<std::string, Value>& values, const std::string& name,
                   const char* type_name) {
  auto it = values.find(name);
  if (it == values.end()) throw std::logic_error("config option '" + name + "' is not declared");
  const T* v = std::get_if<T>(&it->second);
  if (!v) throw std::logic_error("config option '" + name + "' is not " + type_name);
  return *v;
}

}  // namespace

bool OptionValues::get_bool(const std::string& name) const {
  return get_typed<bool>(values_, name, "a boolean");
}

int64_t OptionValues::get_int(const std::string& name) const {
  return get_typed<int64_t>(values_, name, "an integer");
}

const std::string& OptionValues::get_string(const std::string& name) const {
  return get_typed<std::string>(values_, name, "a string");
}

const std::vector<std::string>& OptionValues::get_list(const std::string& name) const {
  return get_typed<std::vector<std::string>>(values_, name, "a string list");
}

// ---------------------------------------------------------------------------
// nearest()

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  size_t best = limit + 1;
  const std::string* best_word = nullptr;
  std::vector<size_t> prev, cur;
  for (const auto& c : candidates) {
    // Cheap bound: the distance is at least the length difference.
    size_t diff = c.size() > word.size() ? c.size() - word.size() : word.size() - c.size();
    if (diff >= best) continue;
    prev.resize(c.size() + 1);
    cur.resize(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= word.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= c.size(); ++j) {
        size_t sub = prev[j - 1] + (word[i - 1] == c[j - 1] ? 0 : 1);
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      }
      std::swap(prev, cur);
    }
    if (prev[c.size()] < best) {  // strict: ties keep the earlier candidate
      best = prev[c.size()];
      best_word = &c;
    }
  }
  return best_word ? *best_word : std::string();
}

// ---------------------------------------------------------------------------
// Core schemas and documentation

namespace {

constexpr int64_t KiB = 1024;
constexpr int64_t MiB = 1024 * KiB;
constexpr int64_t GiB = 1024 * MiB;

struct LimitField {
  const char* name;
  int64_t Limits::*member;
  int64_t min, max;
  const char* doc;
};

const std::array<LimitField, 20>& limit_fields() {
  static const std::array<LimitField, 20> fields{{
      {"max_stanza_bytes", &Limits::max_stanza_bytes, 1 * KiB, 64 * MiB,
       "Largest stanza (any top-level element, tags included) in bytes accepted after "
       "authentication; a larger one is a `<policy-violation/>` stream error with "
       "`<stanza-too-big/>` (XEP-0478, advertised in the stream features)."},
      {"preauth_max_stanza_bytes", &Limits::preauth_max_stanza_bytes, 512, 1 * MiB,
       "The same limit before authentication (STARTTLS, SASL). Must not exceed "
       "max_stanza_bytes."},
      {"preauth_max_stanza_elements", &Limits::preauth_max_stanza_elements, 1, 10000,
       "Most XML elements in one top-level element before authentication."},
      {"max_depth", &Limits::max_depth, 1, 1000, "Deepest element nesting inside a stanza."},
      {"max_attributes", &Limits::max_attributes, 1, 10000, "Most attributes on one element."},
      {"max_resources_per_account", &Limits::max_resources_per_account, 1, 10000,
       "Most simultaneously bound resources (sessions) per account."},
      {"max_auth_failures_per_stream", &Limits::max_auth_failures_per_stream, 1, 100,
       "Failed SASL attempts after which the stream is closed."},
      {"auth_failures_per_address_per_minute", &Limits::auth_failures_per_address_per_minute, 1,
       1000000,
       "Failed SASL attempts per client IP address and minute before further attempts "
       "from that address are refused."},
      {"unauthenticated_timeout_seconds", &Limits::unauthenticated_timeout_seconds, 1, 3600,
       "Seconds a connection may stay unauthenticated before it is closed."},
      {"tls_handshake_timeout_seconds", &Limits::tls_handshake_timeout_seconds, 1, 3600,
       "Seconds a TLS handshake (STARTTLS or direct TLS) may take."},
      {"send_buffer_bytes", &Limits::send_buffer_bytes, 4 * KiB, 1 * GiB,
       "Most bytes queued for a slow client; beyond this the session is closed."},
      {"sm_resume_timeout_seconds", &Limits::sm_resume_timeout_seconds, 0, 7 * 24 * 3600,
       "How long a session whose connection dropped waits for XEP-0198 resumption "
       "(the client may ask for less). Meanwhile its messages go to other resources "
       "or offline storage. 0 disables resumption."},
      {"sm_max_unacked_stanzas", &Limits::sm_max_unacked_stanzas, 10, 1000000,
       "Most stanzas sent to a client and not yet acknowledged (XEP-0198); beyond "
       "this the stream is closed (or a hibernated session ends) and the unacknowledged "
       "messages go to other resources or offline storage."},
      {"client_bytes_per_second", &Limits::client_bytes_per_second, 1024, 1 * GiB,
       "Sustained rate at which one client connection is read; a faster client is not cut "
       "off, the server reads more slowly (TCP pushes back)."},
      {"client_burst_bytes", &Limits::client_burst_bytes, 8 * KiB, 1 * GiB,
       "Bytes a client may send at once before client_bytes_per_second applies."},
      {"client_idle_seconds", &Limits::client_idle_seconds, 5, 86400,
       "Seconds an authenticated client may stay silent before the server probes the "
       "connection (an XEP-0198 <r/>, else an XEP-0199 ping); advertised as XEP-0478 "
       "idle-seconds."},
      {"idle_ping_timeout_seconds", &Limits::idle_ping_timeout_seconds, 1, 3600,
       "Seconds to wait for any byte after that probe before the connection counts as dead "
       "(a resumable XEP-0198 session then waits for resumption, as after any drop)."},
      {"max_connections_per_address", &Limits::max_connections_per_address, 1, 1000000,
       "Most open client connections from one IP address; more are closed right after "
       "accept, before TLS (XEP-0205). Raise it for large NATs or load tests."},
      {"new_connections_per_address_per_second", &Limits::new_connections_per_address_per_second, 1,
       1000000,
       "Sustained rate of new connections accepted from one IP address; faster ones are "
       "closed right after accept."},
      {"new_connections_per_address_burst", &Limits::new_connections_per_address_burst, 1, 1000000,
       "New connections one IP address may open at once before the rate applies."},
  }};
  return fields;
}

const std::vector<std::string> kListenerKinds{"c2s", "c2s_direct_tls"};
const std::vector<std::string> kBackends{"sqlite", "postgresql"};
const std::vector<std::string> kLogLevels{"trace", "debug",    "info", "warn",
                                          "error", "critical", "off"};
const std::vector<std::string> kLogFormats{"text", "json"};

std::vector<std::pair<std::string, OptionSchema>> build_core_schemas() {
  std::vector<std::pair<std::string, OptionSchema>> out;

  OptionSchema server;
  server
      .add_string_list("hosts", {"localhost"},
                       "Domains this server hosts. At least one; each must be a valid domain "
                       "name (stored in prepared form, e.g. lower case); no duplicates.")
      .add_string("data_dir", "data",
                  "Directory for the SQLite database, the generated certificate, the admin "
                  "socket and the `ports` file. Relative to the config file's directory.")
      .add_int("threads", 0, 0, 1024, "I/O threads; 0 = one per CPU core.")
      .add_string("admin_socket", "",
                  "Unix socket for parleyctl. Empty = `DATA_DIR/parleyctl.sock`. Relative to "
                  "the config file's directory.")
      .add_int("scram_iterations", 4096, 4096, 10000000,
               "PBKDF2 iteration count for newly stored SCRAM credentials (RFC 7677 requires "
               "at least 4096). Existing credentials keep their count.")
      .add_string_list(
          "sasl_mechanisms",
          {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"},
          "SASL mechanisms offered to clients, from this set. PLAIN is only ever "
          "offered over TLS, the -PLUS variants only where channel binding is "
          "available.");
  out.emplace_back("server", std::move(server));

  OptionSchema listener;
  listener
      .add_string("kind", "",
                  "Required. `c2s`: client connections with STARTTLS (RFC 6120); "
                  "`c2s_direct_tls`: client connections with TLS from the first byte "
                  "(XEP-0368).",
                  kListenerKinds)
      .add_string("bind", "127.0.0.1",
                  "IPv4 or IPv6 address to listen on; `0.0.0.0` or `::` for all interfaces.")
      .add_int("port", 5222, 0, 65535,
               "TCP port. Default 5222 for `c2s`, 5223 for `c2s_direct_tls`. 0 = an ephemeral "
               "port (the bound port is logged and written to `DATA_DIR/ports`).");
  out.emplace_back("listeners", std::move(listener));

  OptionSchema tls;
  tls.add_string("certificate", "",
                 "PEM certificate chain used for every domain without its own entry in "
                 "[tls.domains]. Empty = a self-signed certificate is generated in data_dir on "
                 "first start. Requires `key`.")
      .add_string("key", "", "PEM private key of `certificate`. Requires `certificate`.")
      .add_bool("require_starttls", true,
                "On `c2s` listeners, refuse authentication and stanzas before STARTTLS.");
  out.emplace_back("tls", std::move(tls));

  OptionSchema tls_domain;
  tls_domain.add_string("certificate", "", "Required. PEM certificate chain for this domain.")
      .add_string("key", "", "Required. PEM private key of this certificate.");
  out.emplace_back("tls.domains.<domain>", std::move(tls_domain));

  OptionSchema storage;
  storage.add_string("backend", "sqlite", "Database backend.", kBackends)
      .add_string("sqlite_path", "parley.db",
                  "SQLite database file. Relative to data_dir. Must not be empty.")
      .add_string("postgresql_uri", "",
                  "libpq connection string or URI, e.g. "
                  "`postgresql://parley@localhost/parley`. Required when backend = "
                  "\"postgresql\".")
      .add_int("pool_size", 4, 1, 256, "PostgreSQL connections kept open.");
  out.emplace_back("storage", std::move(storage));

  OptionSchema limits;
  const Limits defaults;
  for (const auto& f : limit_fields())
    limits.add_int(f.name, defaults.*f.member, f.min, f.max, f.doc);
  out.emplace_back("limits", std::move(limits));

  OptionSchema http;
  const HttpConfig http_defaults;
  http.add_bool("enabled", http_defaults.enabled,
                "Open the built-in HTTP listener (metrics; later file upload, WebSocket and BOSH).")
      .add_string("bind", http_defaults.bind,
                  "IPv4 or IPv6 address to listen on. The default keeps it on the loopback "
                  "interface; `0.0.0.0` or `::` for all interfaces.")
      .add_int("port", http_defaults.port, 0, 65535,
               "TCP port. 0 = an ephemeral port (the bound port is logged and written to "
               "`DATA_DIR/ports` as `http`).")
      .add_int("max_connections", http_defaults.max_connections, 1, 1000000,
               "Most HTTP connections open at once; further ones are closed right after accept.")
      .add_int("max_header_bytes", http_defaults.max_header_bytes, 1 * KiB, 1 * MiB,
               "Largest request line and headers together; a larger request gets 431.")
      .add_int("max_body_bytes", http_defaults.max_body_bytes, 0, 1 * GiB,
               "Largest request body; a larger one gets 413.")
      .add_int("request_timeout_seconds", http_defaults.request_timeout_seconds, 1, 3600,
               "Seconds a client has to send a whole request, once it has sent its first byte; "
               "then the connection is closed (slow senders cannot hold it).")
      .add_int("idle_timeout_seconds", http_defaults.idle_timeout_seconds, 1, 86400,
               "Seconds a connection may wait for its next request (keep-alive) before it is "
               "closed.")
      .add_bool("metrics", http_defaults.metrics,
                "Serve the server's figures in the OpenMetrics text format at `GET /metrics`.")
      .add_string_list("metrics_allow", http_defaults.metrics_allow,
                       "Client addresses (IPv4 or IPv6 literals) allowed to read /metrics; "
                       "others get 403. IPv4-mapped IPv6 addresses count as their IPv4 "
                       "address.");
  out.emplace_back("http", std::move(http));

  OptionSchema log;
  log.add_string("level", "info", "Lowest severity written.", kLogLevels)
      .add_string("format", "text",
                  "`text`: one human-readable line per event; `json`: one JSON object per "
                  "line.",
                  kLogFormats)
      .add_string("file", "",
                  "Log file (appended to). Empty = standard error. Relative to the config "
                  "file's directory.");
  out.emplace_back("log", std::move(log));
  return out;
}

const OptionSchema& core_schema(const std::string& name) {
  for (const auto& [n, s] : core_schemas())
    if (n == name) return s;
  throw std::logic_error("no core schema " + name);
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string quote_list(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += quote(v[i]);
  }
  return out;
}

std::string format_value(const Value& v) {
  if (auto b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto s = std::get_if<std::string>(&v)) return quote(*s);
  return "[" + quote_list(std::get<std::vector<std::string>>(v), ", ") + "]";
}

const char* type_name(OptionSpec::Type t) {
  switch (t) {
    case OptionSpec::Type::Bool:
      return "boolean";
    case OptionSpec::Type::Int:
      return "integer";
    case OptionSpec::Type::String:
      return "string";
    case OptionSpec::Type::StringList:
      return "array of strings";
  }
  return "?";
}

std::string int_range(const OptionSpec& spec) {
  const bool lo = spec.min != INT64_MIN, hi = spec.max != INT64_MAX;
  if (lo && hi) return std::to_string(spec.min) + " to " + std::to_string(spec.max);
  if (lo) return ">= " + std::to_string(spec.min);
  if (hi) return "<= " + std::to_string(spec.max);
  return "";
}

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

}  // namespace

const std::vector<std::pair<std::string, OptionSchema>>& core_schemas() {
  static const std::vector<std::pair<std::string, OptionSchema>> schemas = build_core_schemas();
  return schemas;
}

std::string to_markdown(const OptionSchema& schema) {
  std::string out =
      "| Key | Type | Default | Allowed | Meaning |\n"
      "|-----|------|---------|---------|---------|\n";
  for (const auto& o : schema.options()) {
    std::string allowed;
    if (o.type == OptionSpec::Type::Int) allowed = int_range(o);
    if (o.type == OptionSpec::Type::String && !o.choices.empty())
      allowed = "`" + quote_list(o.choices, "`, `") + "`";
    if (!allowed.empty() && allowed[0] != '`') allowed = md_escape(allowed);
    out += "| `" + o.name + "` | " + type_name(o.type) + " | `" +
           md_escape(format_value(o.default_value)) + "` | " + allowed + " | " + md_escape(o.doc) +
           " |\n";
  }
  return out;
}

// ---------------------------------------------------------------------------
// Loading

namespace {

namespace fs = std::filesystem;

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void at(uint32_t line, std::string message) { items_.push_back({line, std::move(message)}); }
  void at(const toml::node* node, std::string message) {
    at(node ? node->source().begin.line : 0, std::move(message));
  }
  bool empty() const { return items_.empty(); }

  // Sorted by line (messages without a line last), then in the order found.
  std::vector<std::string> take() {
    std::stable_sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) {
      auto key = [](uint32_t l) { return l == 0 ? UINT32_MAX : l; };
      return key(a.line) < key(b.line);
    });
    std::vector<std::string> out;
    for (auto& i : items_)
      out.push_back(i.line ? file_ + ":" + std::to_string(i.line) + ": " + i.message
                           : file_ + ": " + i.message);
    return out;
  }

 private:
  struct Item {
    uint32_t line;
    std::string message;
  };
  std::string file_;
  std::vector<Item> items_;
};

uint32_t line_of(const toml::key& k, const toml::node& v) {
  return k.source().begin.line ? k.source().begin.line : v.source().begin.line;
}

bool is_bare_key(std::string_view k) {
  if (k.empty()) return false;
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

// Dotted path as written in TOML: tls.domains."example.com".key
std::string join(const std::string& prefix, std::string_view key) {
  std::string k = is_bare_key(key) ? std::string(key) : quote(std::string(key));
  return prefix.empty() ? k : prefix + "." + k;
}

std::string describe(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: {
      std::string s = n.as_string()->get();
      if (s.size() > 60) s = s.substr(0, 57) + "...";
      return "a string (" + quote(s) + ")";
    }
    case toml::node_type::integer:
      return "an integer (" + std::to_string(n.as_integer()->get()) + ")";
    case toml::node_type::floating_point: {
      std::ostringstream os;
      os << n.as_floating_point()->get();
      return "a float (" + os.str() + ")";
    }
    case toml::node_type::boolean:
      return std::string("a boolean (") + (n.as_boolean()->get() ? "true" : "false") + ")";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

std::string suggestion(const std::string& prefix, const std::string& word,
                       const std::vector<std::string>& candidates) {
  std::string near = nearest(word, candidates);
  return near.empty() ? std::string() : " (did you mean '" + join(prefix, near) + "'?)";
}

// For a key unknown in `section` (a core table, or "" for the top level) that
// is a key of another core table: " (did you mean 'storage.backend'?)".
std::string misplaced(const std::string& section, const std::string& name) {
  static const std::vector<std::string> tables{"server", "tls", "storage", "limits", "log"};
  if (!section.empty() && std::find(tables.begin(), tables.end(), section) == tables.end())
    return {};
  for (const auto& t : tables)
    if (t != section && core_schema(t).find(name))
      return " (did you mean '" + join(t, name) + "'?)";
  return {};
}

std::string int_requirement(const OptionSpec& spec) {
  const bool lo = spec.min != INT64_MIN, hi = spec.max != INT64_MAX;
  if (lo && hi)
    return "must be an integer between " + std::to_string(spec.min) + " and " +
           std::to_string(spec.max);
  if (lo) return "must be an integer >= " + std::to_string(spec.min);
  if (hi) return "must be an integer <= " + std::to_string(spec.max);
  return "must be an integer";
}

// Checks one value against its spec; nullopt (and an error) if it does not fit.
std::optional<Value> check_value(const toml::node& n, const OptionSpec& spec,
                                 const std::string& path, Diagnostics& d) {
  const std::string key = "key '" + path + "' ";
  switch (spec.type) {
    case OptionSpec::Type::Bool:
      if (auto b = n.as_boolean()) return Value(b->get());
      d.at(&n, key + "must be a boolean (true or false), got " + describe(n));
      return std::nullopt;
    case OptionSpec::Type::Int: {
      auto i = n.as_integer();
      if (!i) {
        d.at(&n, key + int_requirement(spec) + ", got " + describe(n));
        return std::nullopt;
      }
      int64_t v = i->get();
      if (v < spec.min || v > spec.max) {
        d.at(&n, key + int_requirement(spec) + ", got " + std::to_string(v));
        return std::nullopt;
      }
      return Value(v);
    }
    case OptionSpec::Type::String: {
      auto s = n.as_string();
      if (!s) {
        d.at(&n, key + "must be a string, got " + describe(n));
        return std::nullopt;
      }
      const std::string& v = s->get();
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), v) == spec.choices.end()) {
        std::string near = nearest(v, spec.choices);
        d.at(&n, key + "must be one of " + quote_list(spec.choices, ", ") + ", got " + quote(v) +
                     (near.empty() ? "" : " (did you mean " + quote(near) + "?)"));
        return std::nullopt;
      }
      return Value(v);
    }
    case OptionSpec::Type::StringList: {
      auto a = n.as_array();
      if (!a) {
        d.at(&n, key + "must be an array of strings, got " + describe(n));
        return std::nullopt;
      }
      std::vector<std::string> out;
      bool ok = true;
      for (size_t i = 0; i < a->size(); ++i) {
        const toml::node& e = *a->get(i);
        if (auto s = e.as_string()) {
          out.push_back(s->get());
        } else {
          d.at(&e, "key '" + path + "[" + std::to_string(i) + "]' must be a string, got " +
                       describe(e));
          ok = false;
        }
      }
      if (!ok) return std::nullopt;
      return Value(std::move(out));
    }
  }
  return std::nullopt;
}

// Validates every key of `t` against `schema`. Keys listed in `extra` are
// skipped (the caller handles them). Returns all options: defaults, overridden
// by the valid values found.
OptionValues check_table(const toml::table& t, const OptionSchema& schema,
                         const std::string& prefix, Diagnostics& d,
                         const std::vector<std::string>& extra = {}) {
  OptionValues values;
  for (const auto& o : schema.options()) values.set(o.name, o.default_value);
  for (auto&& [k, v] : t) {
    const std::string name(k.str());
    if (std::find(extra.begin(), extra.end(), name) != extra.end()) continue;
    const OptionSpec* spec = schema.find(name);
    if (!spec) {
      std::vector<std::string> candidates;
      for (const auto& o : schema.options()) candidates.push_back(o.name);
      candidates.insert(candidates.end(), extra.begin(), extra.end());
      std::string hint = suggestion(prefix, name, candidates);
      if (hint.empty()) hint = misplaced(prefix, name);
      d.at(line_of(k, v), "key '" + join(prefix, name) + "' is unknown" + hint);
      continue;
    }
    if (auto value = check_value(v, *spec, join(prefix, name), d))
      values.set(name, std::move(*value));
  }
  return values;
}

// The table at `root[name]`, or an empty one. Reports a non-table.
const toml::table* section(const toml::table& root, const char* name, Diagnostics& d) {
  static const toml::table empty;
  const toml::node* n = root.get(name);
  if (!n) return &empty;
  if (auto t = n->as_table()) return t;
  d.at(n, std::string("key '") + name + "' must be a table, got " + describe(*n));
  return nullptr;
}

std::string normalize(const fs::path& p) {
  fs::path n = p.lexically_normal();
  if (!n.has_filename() && n.has_relative_path()) n = n.parent_path();  // drop trailing '/'
  return n.string();
}

std::string resolve(const fs::path& base, const std::string& p) {
  if (p.empty()) return p;
  fs::path path(p);
  return normalize(path.is_absolute() ? path : base / path);
}

// Canonical bytes of an IP literal, or nullopt.
std::optional<std::string> ip_bytes(const std::string& s) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return std::string(reinterpret_cast<char*>(buf), 4);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1)
    return std::string(reinterpret_cast<char*>(buf), 16);
  return std::nullopt;
}

struct Loader {
  Diagnostics& d;
  const fs::path& base;  // absolute directory relative paths are resolved against
  Config& cfg;

  void server(const toml::table& t) {
    const OptionValues v = check_table(t, core_schema("server"), "server", d);
    cfg.threads = static_cast<int>(v.get_int("threads"));
    cfg.scram_iterations = v.get_int("scram_iterations");
    cfg.sasl_mechanisms = v.get_list("sasl_mechanisms");
    static const std::vector<std::string> known_mechanisms{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
                                                           "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"};
    for (const auto& m : cfg.sasl_mechanisms)
      if (std::find(known_mechanisms.begin(), known_mechanisms.end(), m) == known_mechanisms.end())
        d.at(t.get("sasl_mechanisms"), "key 'server.sasl_mechanisms' has an unknown mechanism " +
                                           quote(m) + " (did you mean " +
                                           quote(nearest(m, known_mechanisms)) + "?)");

    if (const toml::node* n = t.get("hosts"); n && n->is_array()) {
      const toml::array& a = *n->as_array();
      if (a.empty()) d.at(n, "key 'server.hosts' must list at least one domain");
      std::vector<std::string> hosts;
      for (size_t i = 0; i < a.size(); ++i) {
        auto s = a.get(i)->as_string();
        if (!s) continue;  // reported by check_table
        const std::string path = "server.hosts[" + std::to_string(i) + "]";
        auto prepped = Jid::prep_domain(s->get());
        if (!prepped) {
          d.at(a.get(i), "key '" + path + "' is not a valid domain name: " + quote(s->get()));
        } else if (std::find(hosts.begin(), hosts.end(), *prepped) != hosts.end()) {
          d.at(a.get(i), "key '" + path + "' duplicates host " + quote(*prepped));
        } else {
          hosts.push_back(*prepped);
        }
      }
      cfg.hosts = std::move(hosts);
    } else if (!n) {
      cfg.hosts = v.get_list("hosts");
    }

    const std::string& data_dir = v.get_string("data_dir");
    if (data_dir.empty()) d.at(t.get("data_dir"), "key 'server.data_dir' must not be empty");
    cfg.data_dir = resolve(base, data_dir.empty() ? "data" : data_dir);

    const std::string& sock = v.get_string("admin_socket");
    cfg.admin_socket =
        sock.empty() ? normalize(fs::path(cfg.data_dir) / "parleyctl.sock") : resolve(base, sock);
    // sockaddr_un::sun_path holds 108 bytes including the terminating NUL.
    if (cfg.admin_socket.size() > 107)
      d.at(t.get("admin_socket") ? t.get("admin_socket") : t.get("data_dir"),
           "key 'server.admin_socket' resolves to " + quote(cfg.admin_socket) +
               ", longer than the 107 bytes a Unix socket path may have");
  }

  void listeners(const toml::table& root) {
    const toml::node* n = root.get("listeners");
    if (!n) {
      cfg.listeners = {{"c2s", "127.0.0.1", 5222}, {"c2s_direct_tls", "127.0.0.1", 5223}};
      return;
    }
    const toml::array* a = n->as_array();
    if (!a) {
      d.at(n, "key 'listeners' must be an array of tables ([[listeners]]), got " + describe(*n));
      return;
    }
    if (a->empty()) d.at(n, "key 'listeners' must contain at least one listener");
    struct Seen {
      std::string addr;
      int64_t port;
      uint32_t line;
    };
    std::vector<Seen> seen;
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      const std::string prefix = "listeners[" + std::to_string(i) + "]";
      const toml::table* t = e.as_table();
      if (!t) {
        d.at(&e, "key '" + prefix + "' must be a table, got " + describe(e));
        continue;
      }
      const OptionValues v = check_table(*t, core_schema("listeners"), prefix, d);
      ListenerConfig l;
      l.kind = v.get_string("kind");
      l.bind = v.get_string("bind");
      int64_t port = v.get_int("port");
      if (!t->get("kind"))
        d.at(t, "key '" + prefix + ".kind' is required (one of " +
                    quote_list(kListenerKinds, ", ") + ")");
      if (!t->get("port") && l.kind == "c2s_direct_tls") port = 5223;
      l.port = static_cast<uint16_t>(port);
      const toml::node* b = t->get("bind");
      auto bytes = ip_bytes(l.bind);
      if (b && b->is_string() && !bytes)
        d.at(b, "key '" + prefix + ".bind' must be an IPv4 or IPv6 address, got " + quote(l.bind));
      // Compare addresses only when kind, bind and port are as written: an invalid
      // value was reported and replaced by its default, which must not collide.
      auto as_written = [&](const char* key, const Value& used) {
        const toml::node* n = t->get(key);
        if (!n) return std::string(key) != "kind";
        if (auto s = n->as_string()) return Value(s->get()) == used;
        if (auto i = n->as_integer()) return Value(i->get()) == used;
        return false;
      };
      const bool comparable = as_written("kind", Value(l.kind)) &&
                              as_written("bind", Value(l.bind)) &&
                              as_written("port", Value(port)) && !l.kind.empty();
      if (bytes && comparable && port != 0) {
        auto dup = std::find_if(seen.begin(), seen.end(),
                                [&](const Seen& s) { return s.addr == *bytes && s.port == port; });
        if (dup != seen.end())
          d.at(t, "listener '" + prefix + "' (" + l.bind + " port " + std::to_string(port) +
                      ") duplicates the listener on line " + std::to_string(dup->line));
        else
          seen.push_back({*bytes, port, t->source().begin.line});
      }
      cfg.listeners.push_back(std::move(l));
    }
  }

  void tls(const toml::table& t) {
    const OptionValues v = check_table(t, core_schema("tls"), "tls", d, {"domains"});
    cfg.tls.require_starttls = v.get_bool("require_starttls");
    const std::string& cert = v.get_string("certificate");
    const std::string& key = v.get_string("key");
    if (!cert.empty() && key.empty())
      d.at(t.get("certificate"), "key 'tls.certificate' is set but 'tls.key' is not");
    if (cert.empty() && !key.empty())
      d.at(t.get("key"), "key 'tls.key' is set but 'tls.certificate' is not");
    cfg.tls.certificate = resolve(base, cert);
    cfg.tls.key = resolve(base, key);

    const toml::node* dn = t.get("domains");
    if (!dn) return;
    const toml::table* domains = dn->as_table();
    if (!domains) {
      d.at(dn, "key 'tls.domains' must be a table, got " + describe(*dn));
      return;
    }
    for (auto&& [k, node] : *domains) {
      const std::string domain(k.str());
      const std::string prefix = join("tls.domains", domain);
      auto prepped = Jid::prep_domain(domain);
      if (!prepped) {
        d.at(line_of(k, node), "key '" + prefix + "' is not a valid domain name");
        continue;
      }
      const toml::table* dt = node.as_table();
      if (!dt) {
        d.at(&node, "key '" + prefix + "' must be a table, got " + describe(node));
        continue;
      }
      const OptionValues dv = check_table(*dt, core_schema("tls.domains.<domain>"), prefix, d);
      bool ok = true;
      for (const char* required : {"certificate", "key"}) {
        const toml::node* r = dt->get(required);
        if (!r) {
          d.at(dt, "key '" + prefix + "." + required + "' is required");
          ok = false;
        } else if (r->is_string() && r->as_string()->get().empty()) {
          d.at(r, "key '" + prefix + "." + required + "' must not be empty");
          ok = false;
        }
      }
      if (cfg.tls.domains.count(*prepped)) {
        d.at(line_of(k, node), "key '" + prefix + "' duplicates domain " + quote(*prepped));
        continue;
      }
      if (ok)
        cfg.tls.domains[*prepped] = {resolve(base, dv.get_string("certificate")),
                                     resolve(base, dv.get_string("key"))};
    }
  }

  void storage(const toml::table& t) {
    const OptionValues v = check_table(t, core_schema("storage"), "storage", d);
    cfg.storage.backend = v.get_string("backend");
    cfg.storage.postgresql_uri = v.get_string("postgresql_uri");
    cfg.storage.pool_size = static_cast<int>(v.get_int("pool_size"));
    if (cfg.storage.backend == "postgresql" && cfg.storage.postgresql_uri.empty()) {
      const toml::node* at = t.get("postgresql_uri");
      d.at(at ? at : t.get("backend"),
           "key 'storage.postgresql_uri' is required when storage.backend = \"postgresql\"");
    }
    const std::string& sqlite = v.get_string("sqlite_path");
    if (sqlite.empty()) d.at(t.get("sqlite_path"), "key 'storage.sqlite_path' must not be empty");
    cfg.storage.sqlite_path =
        resolve(fs::path(cfg.data_dir), sqlite.empty() ? "parley.db" : sqlite);
  }

  void limits(const toml::table& t) {
    const OptionValues v = check_table(t, core_schema("limits"), "limits", d);
    for (const auto& f : limit_fields()) cfg.limits.*f.member = v.get_int(f.name);
    if (cfg.limits.preauth_max_stanza_bytes > cfg.limits.max_stanza_bytes) {
      const toml::node* at = t.get("preauth_max_stanza_bytes");
      d.at(at ? at : t.get("max_stanza_bytes"),
           "key 'limits.preauth_max_stanza_bytes' (" +
               std::to_string(cfg.limits.preauth_max_stanza_bytes) +
               ") must not exceed 'limits.max_stanza_bytes' (" +
               std::to_string(cfg.limits.max_stanza_bytes) + ")");
    }
  }

  void http(const toml::table& t) {
    const OptionValues v = check_table(t, core_schema("http"), "http", d);
    HttpConfig& h = cfg.http;
    h.enabled = v.get_bool("enabled");
    h.bind = v.get_string("bind");
    h.port = static_cast<uint16_t>(v.get_int("port"));
    h.max_connections = v.get_int("max_connections");
    h.max_header_bytes = v.get_int("max_header_bytes");
    h.max_body_bytes = v.get_int("max_body_bytes");
    h.request_timeout_seconds = v.get_int("request_timeout_seconds");
    h.idle_timeout_seconds = v.get_int("idle_timeout_seconds");
    h.metrics = v.get_bool("metrics");
    h.metrics_allow = v.get_list("metrics_allow");
    const toml::node* b = t.get("bind");
    const auto bytes = ip_bytes(h.bind);
    if (b && b->is_string() && !bytes)
      d.at(b, "key 'http.bind' must be an IPv4 or IPv6 address, got " + quote(h.bind));
    for (size_t i = 0; i < h.metrics_allow.size(); ++i)
      if (!ip_bytes(h.metrics_allow[i]))
        d.at(t.get("metrics_allow"), "key 'http.metrics_allow[" + std::to_string(i) +
                                         "]' must be an IPv4 or IPv6 address, got " +
                                         quote(h.metrics_allow[i]));
    // The same address and port as a client listener cannot both be bound.
    if (h.enabled && bytes && h.port != 0)
      for (const auto& l : cfg.listeners)
        if (ip_bytes(l.bind) == bytes && l.port == h.port)
          d.at(t.get("port") ? t.get("port") : t.get("bind"),
               "key 'http.port' (" + h.bind + " port " + std::to_string(h.port) +
                   ") is the address of the '" + l.kind + "' listener");
  }

  void log(const toml::table& t) {
    const OptionValues v = check_table(t, core_schema("log"), "log", d);
    cfg.log.level = v.get_string("level");
    cfg.log.format = v.get_string("format");
    cfg.log.file = resolve(base, v.get_string("file"));
  }

  void modules(const toml::table* t, const std::map<std::string, OptionSchema>& schemas,
               const std::vector<std::string>& default_enabled) {
    for (const auto& [name, schema] : schemas) {
      ModuleConfig m;
      m.enabled =
          std::find(default_enabled.begin(), default_enabled.end(), name) != default_enabled.end();
      for (const auto& o : schema.options()) m.options.set(o.name, o.default_value);
      cfg.modules[name] = std::move(m);
    }
    if (!t) return;
    std::vector<std::string> names;
    for (const auto& [name, schema] : schemas) names.push_back(name);
    for (auto&& [k, node] : *t) {
      const std::string name(k.str());
      const std::string prefix = join("modules", name);
      auto it = schemas.find(name);
      if (it == schemas.end()) {
        std::string near = nearest(name, names);
        std::string hint;
        if (!near.empty()) {
          hint = " (did you mean '" + near + "'?)";
        } else if (!names.empty()) {
          hint = " (known modules: ";
          for (size_t i = 0; i < names.size(); ++i) hint += (i ? ", " : "") + names[i];
          hint += ")";
        }
        d.at(line_of(k, node), "module '" + name + "' is unknown" + hint);
        continue;
      }
      const toml::table* mt = node.as_table();
      if (!mt) {
        d.at(&node, "key '" + prefix + "' must be a table, got " + describe(node));
        continue;
      }
      const OptionSchema& schema = it->second;
      ModuleConfig& m = cfg.modules[name];
      // A module may declare `enabled` itself (e.g. to document it); it must be a boolean.
      const OptionSpec* declared = schema.find("enabled");
      const bool own_enabled = declared && declared->type == OptionSpec::Type::Bool;
      m.options = check_table(
          *mt, schema, prefix, d,
          own_enabled ? std::vector<std::string>{} : std::vector<std::string>{"enabled"});
      m.enabled = true;
      if (own_enabled) {
        m.enabled = m.options.get_bool("enabled");
      } else if (const toml::node* e = mt->get("enabled")) {
        if (auto b = e->as_boolean())
          m.enabled = b->get();
        else
          d.at(e, "key '" + prefix + ".enabled' must be a boolean (true or false), got " +
                      describe(*e));
      }
    }
  }
};

const std::vector<std::string> kTopLevel{"server", "listeners", "tls", "storage",
                                         "limits", "http",      "log", "modules"};

LoadResult load(const std::string& text, const std::string& source_name, const fs::path& base,
                const std::map<std::string, OptionSchema>& module_schemas,
                const std::vector<std::string>& default_enabled) {
  LoadResult result;
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    std::string desc(e.description());
    if (!desc.empty())
      desc[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(desc[0])));
    result.errors.push_back(source_name + ":" + std::to_string(e.source().begin.line) + ":" +
                            std::to_string(e.source().begin.column) + ": invalid TOML: " + desc);
    return result;
  }

  Diagnostics d(source_name);
  for (auto&& [k, v] : root) {
    const std::string name(k.str());
    if (std::find(kTopLevel.begin(), kTopLevel.end(), name) != kTopLevel.end()) continue;
    std::string hint = suggestion("", name, kTopLevel);
    if (hint.empty() && !v.is_table()) hint = misplaced("", name);
    d.at(line_of(k, v), std::string(v.is_table() ? "table" : "key") + " '" + join("", name) +
                            "' is unknown" + hint);
  }

  Config cfg;
  cfg.path = source_name;
  Loader l{d, base, cfg};
  if (auto t = section(root, "server", d)) l.server(*t);
  l.listeners(root);
  if (auto t = section(root, "tls", d)) l.tls(*t);
  if (auto t = section(root, "storage", d)) l.storage(*t);
  if (auto t = section(root, "limits", d)) l.limits(*t);
  if (auto t = section(root, "http", d)) l.http(*t);
  if (auto t = section(root, "log", d)) l.log(*t);
  const toml::node* mods = root.get("modules");
  if (mods && !mods->is_table()) {
    d.at(mods, "key 'modules' must be a table, got " + describe(*mods));
    mods = nullptr;
  }
  l.modules(mods ? mods->as_table() : nullptr, module_schemas, default_enabled);

  if (d.empty())
    result.config = std::move(cfg);
  else
    result.errors = d.take();
  return result;
}

}  // namespace

LoadResult load_file(const std::string& path,
                     const std::map<std::string, OptionSchema>& module_schemas,
                     const std::vector<std::string>& default_enabled) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back(path + ": cannot open: " + std::strerror(errno));
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    LoadResult r;
    r.errors.push_back(path + ": cannot read: " + std::strerror(errno));
    return r;
  }
  std::error_code ec;
  fs::path abs = fs::absolute(fs::path(path), ec);
  fs::path base = ec ? fs::current_path() : abs.parent_path();
  return load(text.str(), path, base, module_schemas, default_enabled);
}

LoadResult load_string(const std::string& toml_text, const std::string& source_name,
                       const std::map<std::string, OptionSchema>& module_schemas,
                       const std::vector<std::string>& default_enabled) {
  std::error_code ec;
  fs::path base = fs::current_path(ec);
  if (ec) base = "/";
  return load(toml_text, source_name, base, module_schemas, default_enabled);
}

}  // namespace parley::config

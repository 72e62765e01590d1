#pragma once
// Typed, validated configuration (TOML). The whole file is validated before
// any listener binds: an unknown key or a bad value is an error naming the key,
// its line and the nearest valid key. Modules declare their options
// (type, range, default, doc) in an OptionSchema; the docs are generated from
// the same declarations.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "storage/store.hpp"

namespace parley::config {

using Value = std::variant<bool, int64_t, std::string, std::vector<std::string>>;

struct OptionSpec {
  enum class Type { Bool, Int, String, StringList };
  std::string name;
  Type type = Type::String;
  Value default_value;
  int64_t min = INT64_MIN, max = INT64_MAX;  // Int only
  std::vector<std::string> choices;          // String only; empty = any
  std::string doc;
};

// What a module (or a core section) accepts.
class OptionSchema {
 public:
  OptionSchema& add_bool(std::string name, bool def, std::string doc);
  OptionSchema& add_int(std::string name, int64_t def, int64_t min, int64_t max, std::string doc);
  OptionSchema& add_string(std::string name, std::string def, std::string doc,
                           std::vector<std::string> choices = {});
  OptionSchema& add_string_list(std::string name, std::vector<std::string> def, std::string doc);
  const std::vector<OptionSpec>& options() const { return options_; }
  const OptionSpec* find(const std::string& name) const;

 private:
  std::vector<OptionSpec> options_;
};

// Validated values of one schema: every declared option present (defaults filled).
class OptionValues {
 public:
  bool get_bool(const std::string& name) const;
  int64_t get_int(const std::string& name) const;
  const std::string& get_string(const std::string& name) const;
  const std::vector<std::string>& get_list(const std::string& name) const;
  void set(const std::string& name, Value v) { values_[name] = std::move(v); }
  const std::map<std::string, Value>& all() const { return values_; }
  friend bool operator==(const OptionValues&, const OptionValues&) = default;

 private:
  std::map<std::string, Value> values_;
};

struct ListenerConfig {
  std::string kind;  // "c2s" (STARTTLS), "c2s_direct_tls" (XEP-0368)
  std::string bind = "127.0.0.1";
  uint16_t port =
      0;  // 0 = ephemeral (tests); the bound port is logged and written to data_dir/ports
  friend bool operator==(const ListenerConfig&, const ListenerConfig&) = default;
};

struct TlsConfig {
  std::string certificate;  // PEM chain; empty = generate self-signed in data_dir
  std::string key;
  bool require_starttls = true;
  // Per-domain certificates: domain -> (certificate, key)
  std::map<std::string, std::pair<std::string, std::string>> domains;
  friend bool operator==(const TlsConfig&, const TlsConfig&) = default;
};

struct Limits {
  int64_t max_stanza_bytes = 256 * 1024;
  int64_t preauth_max_stanza_bytes = 8192;
  int64_t preauth_max_stanza_elements = 32;
  int64_t max_depth = 64;
  int64_t max_attributes = 64;
  int64_t max_resources_per_account = 10;
  int64_t max_auth_failures_per_stream = 3;
  int64_t auth_failures_per_address_per_minute = 10;
  int64_t unauthenticated_timeout_seconds = 60;
  int64_t tls_handshake_timeout_seconds = 30;
  int64_t send_buffer_bytes = 4 * 1024 * 1024;
  int64_t sm_resume_timeout_seconds = 24 * 3600;
  int64_t sm_max_unacked_stanzas = 5000;
  int64_t client_bytes_per_second = 128 * 1024;
  int64_t client_burst_bytes = 1024 * 1024;
  int64_t client_idle_seconds = 300;
  int64_t idle_ping_timeout_seconds = 60;
  int64_t max_connections_per_address = 100;
  int64_t new_connections_per_address_per_second = 20;
  int64_t new_connections_per_address_burst = 50;
  friend bool operator==(const Limits&, const Limits&) = default;
};

// The built-in HTTP listener ([http]): /metrics now; upload, WebSocket and BOSH later.
struct HttpConfig {
  bool enabled = true;
  std::string bind = "127.0.0.1";
  uint16_t port = 5280;  // 0 = ephemeral (tests); written to data_dir/ports as "http"
  int64_t max_connections = 256;
  int64_t max_header_bytes = 8 * 1024;
  int64_t max_body_bytes = 1024 * 1024;
  int64_t request_timeout_seconds = 10;
  int64_t idle_timeout_seconds = 30;
  bool metrics = true;
  std::vector<std::string> metrics_allow{"127.0.0.1", "::1"};
  friend bool operator==(const HttpConfig&, const HttpConfig&) = default;
};

struct LogConfig {
  std::string level = "info";   // trace, debug, info, warn, error, critical, off
  std::string format = "text";  // text | json
  std::string file;             // empty = stderr
  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

struct ModuleConfig {
  bool enabled = true;
  OptionValues options;
  friend bool operator==(const ModuleConfig&, const ModuleConfig&) = default;
};

struct Config {
  std::string path;  // where it was loaded from
  std::vector<std::string> hosts{"localhost"};
  std::string data_dir = "data";
  int threads = 0;           // 0 = one per core
  std::string admin_socket;  // empty = data_dir/parleyctl.sock
  int64_t scram_iterations = 4096;
  std::vector<std::string> sasl_mechanisms{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
                                           "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"};
  std::vector<ListenerConfig> listeners;
  TlsConfig tls;
  storage::StorageConfig storage;
  Limits limits;
  HttpConfig http;
  LogConfig log;
  std::map<std::string, ModuleConfig> modules;  // every known module, enabled or not
};

struct LoadResult {
  std::optional<Config> config;
  std::vector<std::string>
      errors;  // "parley.toml:12: key 'storage.backnd' is unknown (did you mean 'backend'?)"
};

// `module_schemas`: name -> schema of every module compiled in. A module is
// enabled by the presence of its [modules.NAME] table unless `enabled = false`,
// or by default when `default_enabled` lists it.
LoadResult load_file(const std::string& path,
                     const std::map<std::string, OptionSchema>& module_schemas,
                     const std::vector<std::string>& default_enabled);
LoadResult load_string(const std::string& toml_text, const std::string& source_name,
                       const std::map<std::string, OptionSchema>& module_schemas,
                       const std::vector<std::string>& default_enabled);

// Levenshtein-nearest candidate, or empty if none is close.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

// The scalar keys of the core tables, as schemas, in documentation order:
// "server", "listeners" (one [[listeners]] entry), "tls", "tls.domains.<domain>",
// "storage", "limits", "http", "log". Validation and docs/configuration.md use these.
const std::vector<std::pair<std::string, OptionSchema>>& core_schemas();

// Markdown reference table (key, type, default, allowed values, meaning) of a
// schema; docs/configuration.md embeds it verbatim for each core table.
std::string to_markdown(const OptionSchema& schema);

}  // namespace parley::config

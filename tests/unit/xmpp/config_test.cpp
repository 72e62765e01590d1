#include "xmpp/config.hpp"

#include "xmpp/module.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;
using namespace parley::config;

namespace {

// Modules as the real ones declare them (the options the shipped file uses),
// plus "demo" with one option of every type.
std::map<std::string, OptionSchema> schemas() {
  std::map<std::string, OptionSchema> m;
  m["offline"]
      .add_int("quota", 100, 0, 100000, "Messages kept per user; 0 = unlimited.")
      .add_int("retention_days", 30, 0, 3650, "Days a message is kept; 0 = forever.");
  m["register"].add_string_list("allow_from", {}, "Addresses allowed to register.");
  m["mam"]
      .add_string("default_mode", "always", "Archiving default.", {"always", "roster", "never"})
      .add_int("retention_days", 365, 0, 36500, "Days a message is kept; 0 = forever.");
  m["blocking"].add_int("max_items", 1000, 1, 100000, "JIDs one account may block.");
  m["csi"].add_int("queue_size", 256, 1, 100000, "Stanzas held per inactive session.");
  m["muc"] = parley::ModuleRegistry::instance().schemas().at("muc");
  for (const char* name : {"roster", "presence", "disco", "ping", "version", "time", "vcard",
                           "private", "last", "carbons"})
    m[name];
  m["demo"]
      .add_bool("flag", false, "A flag.")
      .add_int("count", 5, 1, 10, "A count.")
      .add_string("mode", "fast", "A mode.", {"fast", "slow"})
      .add_string("name", "x", "Any string.")
      .add_string_list("items", {"a"}, "A list.");
  return m;
}

const std::vector<std::string> kDefaultEnabled{"roster", "presence", "disco", "ping", "offline"};

LoadResult load(const std::string& text) {
  return load_string(text, "t.toml", schemas(), kDefaultEnabled);
}

// The single error of `text`, or a failure listing all of them.
std::string error_of(const std::string& text) {
  LoadResult r = load(text);
  EXPECT_FALSE(r.config.has_value());
  if (r.errors.size() != 1) {
    std::string all;
    for (const auto& e : r.errors) all += "\n  " + e;
    ADD_FAILURE() << "expected exactly one error, got " << r.errors.size() << ":" << all;
    return {};
  }
  return r.errors[0];
}

Config ok(const std::string& text) {
  LoadResult r = load(text);
  for (const auto& e : r.errors) ADD_FAILURE() << e;
  EXPECT_TRUE(r.config.has_value());
  return r.config ? *r.config : Config{};
}

std::string cwd_path(const std::string& rel) {
  return (fs::current_path() / rel).lexically_normal().string();
}

fs::path source_root() {
  // tests/unit/xmpp/config_test.cpp -> repository root
  return fs::absolute(fs::path(__FILE__)).parent_path().parent_path().parent_path().parent_path();
}

class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("parley_config_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& text) const {
    fs::path p = path_ / name;
    std::ofstream(p) << text;
    return p;
  }

 private:
  fs::path path_;
};

}  // namespace

// ---------------------------------------------------------------------------
// nearest()

TEST(ConfigNearest, FindsCloseCandidate) {
  EXPECT_EQ(nearest("backnd", {"backend", "sqlite_path", "pool_size"}), "backend");
  EXPECT_EQ(nearest("pool_szie", {"backend", "sqlite_path", "pool_size"}), "pool_size");
  EXPECT_EQ(nearest("backend", {"backend"}), "backend");
}

TEST(ConfigNearest, EmptyWhenNothingIsClose) {
  EXPECT_EQ(nearest("zzzzzz", {"backend", "pool_size"}), "");
  EXPECT_EQ(nearest("abc", {}), "");
}

TEST(ConfigNearest, ThresholdIsMaxOfTwoAndAThirdOfTheLength) {
  EXPECT_EQ(nearest("ab", {"abcd"}), "abcd");  // distance 2 <= 2
  EXPECT_EQ(nearest("ab", {"abcde"}), "");     // distance 3 > 2
  // 12 characters: up to 4 edits.
  EXPECT_EQ(nearest("abcdefghijkl", {"abcdefghWXYZ"}), "abcdefghWXYZ");
  EXPECT_EQ(nearest("abcdefghijkl", {"abcdefgVWXYZ"}), "");
}

TEST(ConfigNearest, TiesGoToTheEarlierCandidate) {
  EXPECT_EQ(nearest("cat", {"bat", "hat"}), "bat");
  EXPECT_EQ(nearest("cat", {"hat", "bat"}), "hat");
  EXPECT_EQ(nearest("cat", {"hat", "cats"}), "hat");
  EXPECT_EQ(nearest("cat", {"bbt", "cas"}), "cas");  // a closer later one wins
}

// ---------------------------------------------------------------------------
// OptionSchema / OptionValues

TEST(ConfigOptions, SchemaRecordsDeclarations) {
  OptionSchema s;
  s.add_bool("b", true, "doc b")
      .add_int("i", 3, 1, 5, "doc i")
      .add_string("s", "x", "doc s", {"x", "y"})
      .add_string_list("l", {"p", "q"}, "doc l");
  ASSERT_EQ(s.options().size(), 4u);
  const OptionSpec* i = s.find("i");
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->type, OptionSpec::Type::Int);
  EXPECT_EQ(i->min, 1);
  EXPECT_EQ(i->max, 5);
  EXPECT_EQ(std::get<int64_t>(i->default_value), 3);
  EXPECT_EQ(i->doc, "doc i");
  EXPECT_EQ(s.find("s")->choices, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(s.find("l")->type, OptionSpec::Type::StringList);
  EXPECT_EQ(s.find("nope"), nullptr);
}

TEST(ConfigOptions, BadDeclarationsAreLogicErrors) {
  OptionSchema s;
  s.add_bool("b", true, "");
  EXPECT_THROW(s.add_bool("b", false, ""), std::logic_error);
  EXPECT_THROW(s.add_int("i", 0, 1, 5, ""), std::logic_error);
  EXPECT_THROW(s.add_int("j", 3, 5, 1, ""), std::logic_error);
  EXPECT_THROW(s.add_string("s", "z", "", {"x", "y"}), std::logic_error);
  EXPECT_NO_THROW(s.add_string("t", "", "", {"x", "y"}));  // empty = no default
}

TEST(ConfigOptions, ValuesGettersCheckNameAndType) {
  OptionValues v;
  v.set("b", true);
  v.set("i", int64_t{7});
  v.set("s", std::string("str"));
  v.set("l", std::vector<std::string>{"a", "b"});
  EXPECT_TRUE(v.get_bool("b"));
  EXPECT_EQ(v.get_int("i"), 7);
  EXPECT_EQ(v.get_string("s"), "str");
  EXPECT_EQ(v.get_list("l"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(v.all().size(), 4u);
  EXPECT_THROW(v.get_bool("missing"), std::logic_error);
  EXPECT_THROW(v.get_int("b"), std::logic_error);
  EXPECT_THROW(v.get_string("i"), std::logic_error);
  EXPECT_THROW(v.get_list("s"), std::logic_error);
  EXPECT_THROW(v.get_bool("l"), std::logic_error);
}

// ---------------------------------------------------------------------------
// Defaults and a full valid file

TEST(ConfigLoad, EmptyFileGivesDefaults) {
  Config c = ok("");
  EXPECT_EQ(c.path, "t.toml");
  EXPECT_EQ(c.hosts, (std::vector<std::string>{"localhost"}));
  EXPECT_EQ(c.data_dir, cwd_path("data"));
  EXPECT_EQ(c.threads, 0);
  EXPECT_EQ(c.admin_socket, cwd_path("data/parleyctl.sock"));
  EXPECT_EQ(c.scram_iterations, 4096);

  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].kind, "c2s");
  EXPECT_EQ(c.listeners[0].bind, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].port, 5222);
  EXPECT_EQ(c.listeners[1].kind, "c2s_direct_tls");
  EXPECT_EQ(c.listeners[1].bind, "127.0.0.1");
  EXPECT_EQ(c.listeners[1].port, 5223);

  EXPECT_EQ(c.tls.certificate, "");
  EXPECT_EQ(c.tls.key, "");
  EXPECT_TRUE(c.tls.require_starttls);
  EXPECT_TRUE(c.tls.domains.empty());

  EXPECT_EQ(c.storage.backend, "sqlite");
  EXPECT_EQ(c.storage.sqlite_path, cwd_path("data/parley.db"));
  EXPECT_EQ(c.storage.postgresql_uri, "");
  EXPECT_EQ(c.storage.pool_size, 4);

  const Limits d;
  EXPECT_EQ(c.limits.max_stanza_bytes, d.max_stanza_bytes);
  EXPECT_EQ(c.limits.preauth_max_stanza_bytes, d.preauth_max_stanza_bytes);
  EXPECT_EQ(c.limits.preauth_max_stanza_elements, d.preauth_max_stanza_elements);
  EXPECT_EQ(c.limits.max_depth, d.max_depth);
  EXPECT_EQ(c.limits.max_attributes, d.max_attributes);
  EXPECT_EQ(c.limits.max_resources_per_account, d.max_resources_per_account);
  EXPECT_EQ(c.limits.max_auth_failures_per_stream, d.max_auth_failures_per_stream);
  EXPECT_EQ(c.limits.auth_failures_per_address_per_minute, d.auth_failures_per_address_per_minute);
  EXPECT_EQ(c.limits.unauthenticated_timeout_seconds, d.unauthenticated_timeout_seconds);
  EXPECT_EQ(c.limits.tls_handshake_timeout_seconds, d.tls_handshake_timeout_seconds);
  EXPECT_EQ(c.limits.send_buffer_bytes, d.send_buffer_bytes);

  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_EQ(c.log.file, "");

  // Every known module has an entry; enablement follows the default list.
  EXPECT_EQ(c.modules.size(), schemas().size());
  EXPECT_TRUE(c.modules.at("roster").enabled);
  EXPECT_TRUE(c.modules.at("offline").enabled);
  EXPECT_FALSE(c.modules.at("register").enabled);
  EXPECT_FALSE(c.modules.at("demo").enabled);
  EXPECT_EQ(c.modules.at("offline").options.get_int("quota"), 100);
  EXPECT_EQ(c.modules.at("demo").options.get_list("items"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(c.modules.at("demo").options.get_string("mode"), "fast");
}

TEST(ConfigLoad, EmptyTablesGiveDefaults) {
  Config c = ok("[server]\n[tls]\n[storage]\n[limits]\n[log]\n[modules]\n");
  EXPECT_EQ(c.hosts, (std::vector<std::string>{"localhost"}));
  EXPECT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.storage.backend, "sqlite");
}

TEST(ConfigLoad, FullValidFile) {
  Config c = ok(R"([server]
hosts = ["example.com", "Example.ORG"]
data_dir = "/var/lib/parley"
threads = 4
admin_socket = "/run/parley/ctl.sock"
scram_iterations = 10000

[[listeners]]
kind = "c2s"
bind = "0.0.0.0"
port = 5222

[[listeners]]
kind = "c2s_direct_tls"
bind = "::"
port = 5223

[[listeners]]
kind = "c2s"
bind = "::1"
port = 0

[[listeners]]
kind = "c2s_direct_tls"
bind = "::1"
port = 0

[tls]
certificate = "/etc/parley/cert.pem"
key = "/etc/parley/key.pem"
require_starttls = false

[tls.domains."example.org"]
certificate = "/etc/parley/org.pem"
key = "/etc/parley/org.key"

[storage]
backend = "postgresql"
sqlite_path = "/tmp/x.db"
postgresql_uri = "postgresql://parley@localhost/parley"
pool_size = 16

[limits]
max_stanza_bytes = 100000
preauth_max_stanza_bytes = 4096
preauth_max_stanza_elements = 16
max_depth = 32
max_attributes = 20
max_resources_per_account = 5
max_auth_failures_per_stream = 2
auth_failures_per_address_per_minute = 20
unauthenticated_timeout_seconds = 30
tls_handshake_timeout_seconds = 10
send_buffer_bytes = 1048576

[log]
level = "debug"
format = "json"
file = "/var/log/parley.log"

[modules.register]
allow_from = ["127.0.0.1", "::1"]

[modules.roster]
enabled = false

[modules.demo]
flag = true
count = 10
mode = "slow"
name = "hello"
items = []
)");
  EXPECT_EQ(c.hosts, (std::vector<std::string>{"example.com", "example.org"}));
  EXPECT_EQ(c.data_dir, "/var/lib/parley");
  EXPECT_EQ(c.threads, 4);
  EXPECT_EQ(c.admin_socket, "/run/parley/ctl.sock");
  EXPECT_EQ(c.scram_iterations, 10000);

  ASSERT_EQ(c.listeners.size(), 4u);
  EXPECT_EQ(c.listeners[0].kind, "c2s");
  EXPECT_EQ(c.listeners[0].bind, "0.0.0.0");
  EXPECT_EQ(c.listeners[0].port, 5222);
  EXPECT_EQ(c.listeners[1].kind, "c2s_direct_tls");
  EXPECT_EQ(c.listeners[1].bind, "::");
  EXPECT_EQ(c.listeners[1].port, 5223);
  EXPECT_EQ(c.listeners[2].port, 0);
  EXPECT_EQ(c.listeners[3].port, 0);

  EXPECT_EQ(c.tls.certificate, "/etc/parley/cert.pem");
  EXPECT_EQ(c.tls.key, "/etc/parley/key.pem");
  EXPECT_FALSE(c.tls.require_starttls);
  ASSERT_EQ(c.tls.domains.size(), 1u);
  EXPECT_EQ(c.tls.domains.at("example.org").first, "/etc/parley/org.pem");
  EXPECT_EQ(c.tls.domains.at("example.org").second, "/etc/parley/org.key");

  EXPECT_EQ(c.storage.backend, "postgresql");
  EXPECT_EQ(c.storage.sqlite_path, "/tmp/x.db");
  EXPECT_EQ(c.storage.postgresql_uri, "postgresql://parley@localhost/parley");
  EXPECT_EQ(c.storage.pool_size, 16);

  EXPECT_EQ(c.limits.max_stanza_bytes, 100000);
  EXPECT_EQ(c.limits.preauth_max_stanza_bytes, 4096);
  EXPECT_EQ(c.limits.preauth_max_stanza_elements, 16);
  EXPECT_EQ(c.limits.max_depth, 32);
  EXPECT_EQ(c.limits.max_attributes, 20);
  EXPECT_EQ(c.limits.max_resources_per_account, 5);
  EXPECT_EQ(c.limits.max_auth_failures_per_stream, 2);
  EXPECT_EQ(c.limits.auth_failures_per_address_per_minute, 20);
  EXPECT_EQ(c.limits.unauthenticated_timeout_seconds, 30);
  EXPECT_EQ(c.limits.tls_handshake_timeout_seconds, 10);
  EXPECT_EQ(c.limits.send_buffer_bytes, 1048576);

  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.log.file, "/var/log/parley.log");

  EXPECT_TRUE(c.modules.at("register").enabled);  // table present
  EXPECT_EQ(c.modules.at("register").options.get_list("allow_from"),
            (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_FALSE(c.modules.at("roster").enabled);  // enabled = false wins over the default
  EXPECT_TRUE(c.modules.at("ping").enabled);     // default
  EXPECT_FALSE(c.modules.at("vcard").enabled);   // neither
  const ModuleConfig& demo = c.modules.at("demo");
  EXPECT_TRUE(demo.enabled);
  EXPECT_TRUE(demo.options.get_bool("flag"));
  EXPECT_EQ(demo.options.get_int("count"), 10);
  EXPECT_EQ(demo.options.get_string("mode"), "slow");
  EXPECT_EQ(demo.options.get_string("name"), "hello");
  EXPECT_TRUE(demo.options.get_list("items").empty());
  EXPECT_EQ(demo.options.all().count("enabled"), 0u);  // not an option of the module
}

TEST(ConfigLoad, InlineTablesAndArraysOfInlineTablesWork) {
  Config c = ok(R"(server = { hosts = ["a.example"] }
listeners = [{ kind = "c2s", port = 6222 }]
modules = { ping = { enabled = false } }
)");
  EXPECT_EQ(c.hosts, (std::vector<std::string>{"a.example"}));
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].port, 6222);
  EXPECT_FALSE(c.modules.at("ping").enabled);
}

// ---------------------------------------------------------------------------
// Errors, one kind at a time

TEST(ConfigErrors, SyntaxErrorHasLineAndColumn) {
  LoadResult r = load("[server]\nthreads = = 2\n");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].rfind("t.toml:2:", 0), 0u) << r.errors[0];
  EXPECT_NE(r.errors[0].find("invalid TOML"), std::string::npos) << r.errors[0];

  r = load("[server]\nthreads = 1\nthreads = 2\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].rfind("t.toml:3:", 0), 0u) << r.errors[0];
}

TEST(ConfigErrors, UnknownKeyWithSuggestion) {
  EXPECT_EQ(error_of("[storage]\nbackend = \"sqlite\"\nbacknd = \"sqlite\"\n"),
            "t.toml:3: key 'storage.backnd' is unknown (did you mean 'storage.backend'?)");
  EXPECT_EQ(error_of("[limits]\n\nmax_dept = 3\n"),
            "t.toml:3: key 'limits.max_dept' is unknown (did you mean 'limits.max_depth'?)");
  EXPECT_EQ(error_of("[[listeners]]\nkind = \"c2s\"\nprot = 1\n"),
            "t.toml:3: key 'listeners[0].prot' is unknown (did you mean 'listeners[0].port'?)");
}

TEST(ConfigErrors, UnknownKeyWithoutSuggestion) {
  EXPECT_EQ(error_of("[log]\ncolour = true\n"), "t.toml:2: key 'log.colour' is unknown");
  EXPECT_EQ(error_of("[modules.demo]\nsize = 1\n"), "t.toml:2: key 'modules.demo.size' is unknown");
}

TEST(ConfigErrors, KeyInTheWrongTable) {
  EXPECT_EQ(error_of("[server]\nbackend = \"sqlite\"\n"),
            "t.toml:2: key 'server.backend' is unknown (did you mean 'storage.backend'?)");
  EXPECT_EQ(error_of("[limits]\nlevel = \"info\"\n"),
            "t.toml:2: key 'limits.level' is unknown (did you mean 'log.level'?)");
  // Only core tables get this hint; module keys stay in their module.
  EXPECT_EQ(error_of("[modules.demo]\nhosts = []\n"),
            "t.toml:2: key 'modules.demo.hosts' is unknown");
}

TEST(ConfigErrors, UnknownTopLevel) {
  EXPECT_EQ(error_of("[servr]\nthreads = 1\n"),
            "t.toml:1: table 'servr' is unknown (did you mean 'server'?)");
  EXPECT_EQ(error_of("\nthreads = 1\n"),
            "t.toml:2: key 'threads' is unknown (did you mean 'server.threads'?)");
  EXPECT_EQ(error_of("color = 1\n"), "t.toml:1: key 'color' is unknown");
  EXPECT_EQ(error_of("[[listener]]\nkind = \"c2s\"\n"),
            "t.toml:1: key 'listener' is unknown (did you mean 'listeners'?)");
}

TEST(ConfigErrors, SectionOfWrongType) {
  EXPECT_EQ(error_of("server = 1\n"), "t.toml:1: key 'server' must be a table, got an integer (1)");
  EXPECT_EQ(error_of("modules = \"x\"\n"),
            "t.toml:1: key 'modules' must be a table, got a string (\"x\")");
  EXPECT_EQ(error_of("[listeners]\nkind = \"c2s\"\n"),
            "t.toml:1: key 'listeners' must be an array of tables ([[listeners]]), got a table");
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(error_of("[server]\nthreads = \"4\"\n"),
            "t.toml:2: key 'server.threads' must be an integer between 0 and 1024, got a string "
            "(\"4\")");
  EXPECT_EQ(error_of("[server]\nthreads = 4.0\n"),
            "t.toml:2: key 'server.threads' must be an integer between 0 and 1024, got a float "
            "(4)");
  EXPECT_EQ(error_of("[server]\nthreads = 2.5\n"),
            "t.toml:2: key 'server.threads' must be an integer between 0 and 1024, got a float "
            "(2.5)");
  EXPECT_EQ(error_of("[tls]\nrequire_starttls = \"yes\"\n"),
            "t.toml:2: key 'tls.require_starttls' must be a boolean (true or false), got a "
            "string (\"yes\")");
  EXPECT_EQ(error_of("[log]\nfile = 1\n"),
            "t.toml:2: key 'log.file' must be a string, got an "
            "integer (1)");
  EXPECT_EQ(error_of("[server]\nhosts = \"example.com\"\n"),
            "t.toml:2: key 'server.hosts' must be an array of strings, got a string "
            "(\"example.com\")");
  EXPECT_EQ(error_of("[server]\nhosts = [\"a.example\",\n  1]\n"),
            "t.toml:3: key 'server.hosts[1]' must be a string, got an integer (1)");
  EXPECT_EQ(error_of("[server]\ndata_dir = 1979-05-27\n"),
            "t.toml:2: key 'server.data_dir' must be a string, got a date");
}

TEST(ConfigErrors, IntegerOutOfRange) {
  EXPECT_EQ(error_of("[limits]\nmax_depth = 0\n"),
            "t.toml:2: key 'limits.max_depth' must be an integer between 1 and 1000, got 0");
  EXPECT_EQ(error_of("[limits]\nmax_depth = 1001\n"),
            "t.toml:2: key 'limits.max_depth' must be an integer between 1 and 1000, got 1001");
  EXPECT_EQ(error_of("[server]\nscram_iterations = 4095\n"),
            "t.toml:2: key 'server.scram_iterations' must be an integer between 4096 and "
            "10000000, got 4095");
  EXPECT_EQ(error_of("[storage]\npool_size = 0\n"),
            "t.toml:2: key 'storage.pool_size' must be an integer between 1 and 256, got 0");
  EXPECT_EQ(error_of("[server]\nthreads = -1\n"),
            "t.toml:2: key 'server.threads' must be an integer between 0 and 1024, got -1");
}

TEST(ConfigErrors, ValueNotInChoices) {
  EXPECT_EQ(error_of("[log]\nlevel = \"verbose\"\n"),
            "t.toml:2: key 'log.level' must be one of \"trace\", \"debug\", \"info\", \"warn\", "
            "\"error\", \"critical\", \"off\", got \"verbose\"");
  EXPECT_EQ(error_of("[log]\nformat = \"jsn\"\n"),
            "t.toml:2: key 'log.format' must be one of \"text\", \"json\", got \"jsn\" (did you "
            "mean \"json\"?)");
  EXPECT_EQ(error_of("[storage]\nbackend = \"postgres\"\npostgresql_uri = \"x\"\n"),
            "t.toml:2: key 'storage.backend' must be one of \"sqlite\", \"postgresql\", got "
            "\"postgres\" (did you mean \"postgresql\"?)");
}

TEST(ConfigErrors, Hosts) {
  EXPECT_EQ(error_of("[server]\nhosts = []\n"),
            "t.toml:2: key 'server.hosts' must list at least one domain");
  EXPECT_EQ(error_of("[server]\nhosts = [\"ok.example\", \"not a domain\"]\n"),
            "t.toml:2: key 'server.hosts[1]' is not a valid domain name: \"not a domain\"");
  EXPECT_EQ(error_of("[server]\nhosts = [\"\"]\n"),
            "t.toml:2: key 'server.hosts[0]' is not a valid domain name: \"\"");
  EXPECT_EQ(error_of("[server]\nhosts = [\n  \"example.com\",\n  \"EXAMPLE.com\",\n]\n"),
            "t.toml:4: key 'server.hosts[1]' duplicates host \"example.com\"");
}

TEST(ConfigErrors, DataDirAndSqlitePathMustNotBeEmpty) {
  EXPECT_EQ(error_of("[server]\ndata_dir = \"\"\n"),
            "t.toml:2: key 'server.data_dir' must not be empty");
  EXPECT_EQ(error_of("[storage]\nsqlite_path = \"\"\n"),
            "t.toml:2: key 'storage.sqlite_path' must not be empty");
}

TEST(ConfigErrors, Listeners) {
  EXPECT_EQ(error_of("[[listeners]]\nkind = \"tcp\"\n"),
            "t.toml:2: key 'listeners[0].kind' must be one of \"c2s\", \"c2s_direct_tls\", got "
            "\"tcp\"");
  EXPECT_EQ(error_of("[[listeners]]\nkind = \"c2s_directtls\"\n"),
            "t.toml:2: key 'listeners[0].kind' must be one of \"c2s\", \"c2s_direct_tls\", got "
            "\"c2s_directtls\" (did you mean \"c2s_direct_tls\"?)");
  EXPECT_EQ(error_of("[[listeners]]\nkind = \"c2s\"\nport = 65536\n"),
            "t.toml:3: key 'listeners[0].port' must be an integer between 0 and 65535, got 65536");
  EXPECT_EQ(error_of("[[listeners]]\nkind = \"c2s\"\nport = -1\n"),
            "t.toml:3: key 'listeners[0].port' must be an integer between 0 and 65535, got -1");
  EXPECT_EQ(error_of("[[listeners]]\nport = 5222\n"),
            "t.toml:1: key 'listeners[0].kind' is required (one of \"c2s\", \"c2s_direct_tls\")");
  EXPECT_EQ(error_of("[[listeners]]\nkind = \"c2s\"\nbind = \"localhost\"\n"),
            "t.toml:3: key 'listeners[0].bind' must be an IPv4 or IPv6 address, got "
            "\"localhost\"");
  EXPECT_EQ(error_of("listeners = []\n"),
            "t.toml:1: key 'listeners' must contain at least one listener");
  EXPECT_EQ(error_of("listeners = [1]\n"),
            "t.toml:1: key 'listeners[0]' must be a table, got an integer (1)");
}

TEST(ConfigErrors, DuplicateListenerAddress) {
  EXPECT_EQ(error_of(R"([[listeners]]
kind = "c2s"
bind = "::1"
port = 5222

[[listeners]]
kind = "c2s_direct_tls"
bind = "0:0:0:0:0:0:0:1"
port = 5222
)"),
            "t.toml:6: listener 'listeners[1]' (0:0:0:0:0:0:0:1 port 5222) duplicates the "
            "listener on line 1");
  // The default bind and the kind's default port count too.
  EXPECT_EQ(error_of(R"([[listeners]]
kind = "c2s_direct_tls"
[[listeners]]
kind = "c2s"
port = 5223
)"),
            "t.toml:3: listener 'listeners[1]' (127.0.0.1 port 5223) duplicates the listener on "
            "line 1");
}

TEST(ConfigErrors, InvalidListenerValuesDoNotCauseDuplicateErrors) {
  // The out-of-range port and the bad kind are not replaced by defaults that
  // then collide with the first listener.
  LoadResult r = load(R"([[listeners]]
kind = "c2s"
[[listeners]]
kind = "c2s"
port = 70000
[[listeners]]
kind = "c2"
)");
  EXPECT_EQ(r.errors, (std::vector<std::string>{
                          "t.toml:5: key 'listeners[1].port' must be an integer between 0 and "
                          "65535, got 70000",
                          "t.toml:7: key 'listeners[2].kind' must be one of \"c2s\", "
                          "\"c2s_direct_tls\", got \"c2\" (did you mean \"c2s\"?)",
                      }));
}

TEST(ConfigLoad, ListenerDefaultsAndEphemeralPorts) {
  Config c = ok(R"([[listeners]]
kind = "c2s"
port = 0
[[listeners]]
kind = "c2s"
port = 0
[[listeners]]
kind = "c2s_direct_tls"
[[listeners]]
kind = "c2s"
bind = "127.0.0.2"
)");
  ASSERT_EQ(c.listeners.size(), 4u);
  EXPECT_EQ(c.listeners[0].port, 0);
  EXPECT_EQ(c.listeners[1].port, 0);
  EXPECT_EQ(c.listeners[2].port, 5223);
  EXPECT_EQ(c.listeners[2].bind, "127.0.0.1");
  EXPECT_EQ(c.listeners[3].port, 5222);
  EXPECT_EQ(c.listeners[3].bind, "127.0.0.2");
}

TEST(ConfigErrors, TlsCertificateAndKeyGoTogether) {
  EXPECT_EQ(error_of("[tls]\ncertificate = \"c.pem\"\n"),
            "t.toml:2: key 'tls.certificate' is set but 'tls.key' is not");
  EXPECT_EQ(error_of("[tls]\n\nkey = \"k.pem\"\n"),
            "t.toml:3: key 'tls.key' is set but 'tls.certificate' is not");
  EXPECT_EQ(error_of("[tls.domains.\"example.com\"]\ncertificate = \"c.pem\"\n"),
            "t.toml:1: key 'tls.domains.\"example.com\".key' is required");
  EXPECT_EQ(error_of("[tls.domains.\"example.com\"]\ncertificate = \"c.pem\"\nkey = \"\"\n"),
            "t.toml:3: key 'tls.domains.\"example.com\".key' must not be empty");
  EXPECT_EQ(
      error_of("[tls.domains.\"example.com\"]\ncertificate = \"c\"\nkey = \"k\"\nchain = 1\n"),
      "t.toml:4: key 'tls.domains.\"example.com\".chain' is unknown");
  EXPECT_EQ(error_of("[tls.domains]\n\"bad domain\" = { certificate = \"c\", key = \"k\" }\n"),
            "t.toml:2: key 'tls.domains.\"bad domain\"' is not a valid domain name");
  EXPECT_EQ(error_of("[tls]\ndomains = 3\n"),
            "t.toml:2: key 'tls.domains' must be a table, got an integer (3)");
  EXPECT_EQ(error_of("[tls]\ndomain = {}\n"),
            "t.toml:2: key 'tls.domain' is unknown (did you mean 'tls.domains'?)");
}

TEST(ConfigErrors, PostgresqlNeedsUri) {
  EXPECT_EQ(error_of("[storage]\nbackend = \"postgresql\"\n"),
            "t.toml:2: key 'storage.postgresql_uri' is required when storage.backend = "
            "\"postgresql\"");
  EXPECT_EQ(error_of("[storage]\nbackend = \"postgresql\"\npostgresql_uri = \"\"\n"),
            "t.toml:3: key 'storage.postgresql_uri' is required when storage.backend = "
            "\"postgresql\"");
}

TEST(ConfigErrors, PreauthLimitMustNotExceedStanzaLimit) {
  EXPECT_EQ(error_of("[limits]\nmax_stanza_bytes = 4096\npreauth_max_stanza_bytes = 8192\n"),
            "t.toml:3: key 'limits.preauth_max_stanza_bytes' (8192) must not exceed "
            "'limits.max_stanza_bytes' (4096)");
}

TEST(ConfigErrors, AllErrorsAreCollectedInLineOrder) {
  LoadResult r = load(R"([server]
threads = "x"
hots = ["a"]

[storage]
backnd = "sqlite"
pool_size = 1000

[limits]
max_depth = 0

[log]
level = "loud"

[modules.offlin]
quota = 1

[modules.demo]
count = 11
)");
  EXPECT_FALSE(r.config);
  const std::vector<std::string> expected{
      "t.toml:2: key 'server.threads' must be an integer between 0 and 1024, got a string "
      "(\"x\")",
      "t.toml:3: key 'server.hots' is unknown (did you mean 'server.hosts'?)",
      "t.toml:6: key 'storage.backnd' is unknown (did you mean 'storage.backend'?)",
      "t.toml:7: key 'storage.pool_size' must be an integer between 1 and 256, got 1000",
      "t.toml:10: key 'limits.max_depth' must be an integer between 1 and 1000, got 0",
      "t.toml:13: key 'log.level' must be one of \"trace\", \"debug\", \"info\", \"warn\", "
      "\"error\", \"critical\", \"off\", got \"loud\"",
      "t.toml:15: module 'offlin' is unknown (did you mean 'offline'?)",
      "t.toml:19: key 'modules.demo.count' must be an integer between 1 and 10, got 11",
  };
  EXPECT_EQ(r.errors, expected);
}

// ---------------------------------------------------------------------------
// Modules

TEST(ConfigModules, UnknownModule) {
  EXPECT_EQ(error_of("[modules.rostr]\n"),
            "t.toml:1: module 'rostr' is unknown (did you mean 'roster'?)");
  EXPECT_EQ(error_of("[modules]\npingg = {}\n"),
            "t.toml:2: module 'pingg' is unknown (did you mean 'ping'?)");
  std::string e = error_of("[modules.websocket]\n");
  EXPECT_EQ(e.rfind("t.toml:1: module 'websocket' is unknown (known modules: blocking, carbons, "
                    "csi, demo, ",
                    0),
            0u)
      << e;
}

TEST(ConfigModules, OptionValidation) {
  EXPECT_EQ(error_of("[modules.demo]\ncount = 0\n"),
            "t.toml:2: key 'modules.demo.count' must be an integer between 1 and 10, got 0");
  EXPECT_EQ(error_of("[modules.demo]\ncount = \"3\"\n"),
            "t.toml:2: key 'modules.demo.count' must be an integer between 1 and 10, got a "
            "string (\"3\")");
  EXPECT_EQ(error_of("[modules.demo]\nmode = \"slw\"\n"),
            "t.toml:2: key 'modules.demo.mode' must be one of \"fast\", \"slow\", got \"slw\" "
            "(did you mean \"slow\"?)");
  EXPECT_EQ(error_of("[modules.demo]\nitems = \"a\"\n"),
            "t.toml:2: key 'modules.demo.items' must be an array of strings, got a string "
            "(\"a\")");
  EXPECT_EQ(error_of("[modules.demo]\nitems = [\"a\", true]\n"),
            "t.toml:2: key 'modules.demo.items[1]' must be a string, got a boolean (true)");
  EXPECT_EQ(error_of("[modules.demo]\nflag = 1\n"),
            "t.toml:2: key 'modules.demo.flag' must be a boolean (true or false), got an "
            "integer (1)");
  EXPECT_EQ(error_of("[modules.demo]\nname = []\n"),
            "t.toml:2: key 'modules.demo.name' must be a string, got an array");
  EXPECT_EQ(error_of("[modules.offline]\nquta = 5\n"),
            "t.toml:2: key 'modules.offline.quta' is unknown (did you mean "
            "'modules.offline.quota'?)");
  EXPECT_EQ(error_of("[modules.offline]\nenabed = false\n"),
            "t.toml:2: key 'modules.offline.enabed' is unknown (did you mean "
            "'modules.offline.enabled'?)");
  EXPECT_EQ(error_of("[modules.offline]\nenabled = \"no\"\n"),
            "t.toml:2: key 'modules.offline.enabled' must be a boolean (true or false), got a "
            "string (\"no\")");
  EXPECT_EQ(error_of("[modules]\noffline = 3\n"),
            "t.toml:2: key 'modules.offline' must be a table, got an integer (3)");
}

TEST(ConfigModules, Enablement) {
  Config c = ok(R"([modules.offline]
enabled = false
[modules.vcard]
[modules.demo]
enabled = true
count = 2
)");
  EXPECT_FALSE(c.modules.at("offline").enabled);  // default-enabled, switched off
  EXPECT_EQ(c.modules.at("offline").options.get_int("quota"), 100);
  EXPECT_TRUE(c.modules.at("vcard").enabled);  // an empty table enables
  EXPECT_TRUE(c.modules.at("demo").enabled);
  EXPECT_EQ(c.modules.at("demo").options.get_int("count"), 2);
  EXPECT_EQ(c.modules.at("demo").options.get_string("mode"), "fast");  // default kept
  EXPECT_TRUE(c.modules.at("disco").enabled);
  EXPECT_FALSE(c.modules.at("time").enabled);
}

TEST(ConfigModules, NoSchemasMeansNoModules) {
  LoadResult r = load_string("", "t.toml", {}, {"roster"});
  ASSERT_TRUE(r.config);
  EXPECT_TRUE(r.config->modules.empty());
  r = load_string("[modules.roster]\n", "t.toml", {}, {});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "t.toml:1: module 'roster' is unknown");
}

// ---------------------------------------------------------------------------
// Files and paths

TEST(ConfigPaths, RelativePathsResolveAgainstTheConfigDirectory) {
  TempDir dir;
  fs::create_directories(dir.path() / "etc");
  fs::path file = dir.write("etc/parley.toml", R"([server]
data_dir = "../var/parley/"
admin_socket = "run/ctl.sock"
[tls]
certificate = "certs/cert.pem"
key = "/abs/key.pem"
[tls.domains."example.com"]
certificate = "ex.pem"
key = "./ex.key"
[storage]
sqlite_path = "db/parley.sqlite"
[log]
file = "parley.log"
)");
  LoadResult r = load_file(file.string(), schemas(), kDefaultEnabled);
  for (const auto& e : r.errors) ADD_FAILURE() << e;
  ASSERT_TRUE(r.config);
  const Config& c = *r.config;
  const std::string root = dir.path().string();
  EXPECT_EQ(c.path, file.string());
  EXPECT_EQ(c.data_dir, root + "/var/parley");
  EXPECT_EQ(c.admin_socket, root + "/etc/run/ctl.sock");
  EXPECT_EQ(c.tls.certificate, root + "/etc/certs/cert.pem");
  EXPECT_EQ(c.tls.key, "/abs/key.pem");
  EXPECT_EQ(c.tls.domains.at("example.com").first, root + "/etc/ex.pem");
  EXPECT_EQ(c.tls.domains.at("example.com").second, root + "/etc/ex.key");
  EXPECT_EQ(c.storage.sqlite_path, root + "/var/parley/db/parley.sqlite");
  EXPECT_EQ(c.log.file, root + "/etc/parley.log");
}

TEST(ConfigPaths, DefaultsResolveAgainstTheConfigDirectory) {
  TempDir dir;
  fs::path file = dir.write("parley.toml", "");
  LoadResult r = load_file(file.string(), schemas(), kDefaultEnabled);
  ASSERT_TRUE(r.config);
  const std::string root = dir.path().string();
  EXPECT_EQ(r.config->data_dir, root + "/data");
  EXPECT_EQ(r.config->admin_socket, root + "/data/parleyctl.sock");
  EXPECT_EQ(r.config->storage.sqlite_path, root + "/data/parley.db");
  EXPECT_EQ(r.config->log.file, "");
  EXPECT_EQ(r.config->tls.certificate, "");
}

TEST(ConfigPaths, LoadStringResolvesAgainstTheCurrentDirectory) {
  Config c = ok("[server]\ndata_dir = \"rel/dir\"\n[log]\nfile = \"x.log\"\n");
  EXPECT_EQ(c.data_dir, cwd_path("rel/dir"));
  EXPECT_EQ(c.storage.sqlite_path, cwd_path("rel/dir/parley.db"));
  EXPECT_EQ(c.log.file, cwd_path("x.log"));
}

TEST(ConfigPaths, ErrorsNameTheFileAsGiven) {
  TempDir dir;
  fs::path file = dir.write("bad.toml", "[log]\n\nlevel = 3\n");
  LoadResult r = load_file(file.string(), schemas(), kDefaultEnabled);
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0],
            file.string() + ":3: key 'log.level' must be a string, got an integer (3)");
}

TEST(ConfigPaths, MissingFile) {
  TempDir dir;
  const std::string missing = (dir.path() / "nope.toml").string();
  LoadResult r = load_file(missing, schemas(), kDefaultEnabled);
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].rfind(missing + ": cannot open", 0), 0u) << r.errors[0];
}

TEST(ConfigPaths, AdminSocketPathMustFitSunPath) {
  std::string e = error_of("[server]\nadmin_socket = \"/" + std::string(120, 'x') + "\"\n");
  EXPECT_EQ(e.rfind("t.toml:2: key 'server.admin_socket' resolves to ", 0), 0u) << e;
}

// ---------------------------------------------------------------------------
// Shipped files

TEST(ConfigShipped, DefaultConfigLoadsWithoutErrors) {
  std::map<std::string, OptionSchema> m = schemas();
  m.erase("demo");
  const fs::path file = source_root() / "conf" / "parley.toml";
  ASSERT_TRUE(fs::exists(file)) << file;
  LoadResult r = load_file(file.string(), m, kDefaultEnabled);
  for (const auto& e : r.errors) ADD_FAILURE() << e;
  ASSERT_TRUE(r.config);
  const Config& c = *r.config;
  EXPECT_EQ(c.hosts, (std::vector<std::string>{"localhost"}));
  EXPECT_EQ(c.data_dir, (source_root() / "data").lexically_normal().string());
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].kind, "c2s");
  EXPECT_EQ(c.listeners[0].port, 5222);
  EXPECT_EQ(c.listeners[1].kind, "c2s_direct_tls");
  EXPECT_EQ(c.listeners[1].port, 5223);
  EXPECT_EQ(c.storage.backend, "sqlite");
  EXPECT_TRUE(c.modules.at("register").enabled);
  EXPECT_EQ(c.modules.at("register").options.get_list("allow_from"),
            (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_TRUE(c.modules.at("offline").enabled);
  EXPECT_TRUE(c.modules.at("carbons").enabled);
  EXPECT_TRUE(c.modules.at("blocking").enabled);
  EXPECT_EQ(c.modules.at("blocking").options.get_int("max_items"), 1000);
  EXPECT_TRUE(c.modules.at("csi").enabled);
  EXPECT_EQ(c.modules.at("csi").options.get_int("queue_size"), 256);
  EXPECT_EQ(c.modules.at("offline").options.get_int("quota"), 1000);
  EXPECT_EQ(c.modules.at("offline").options.get_int("retention_days"), 30);
  EXPECT_TRUE(c.modules.at("mam").enabled);
  EXPECT_EQ(c.modules.at("mam").options.get_string("default_mode"), "always");
  EXPECT_EQ(c.modules.at("mam").options.get_int("retention_days"), 365);
  EXPECT_TRUE(c.modules.at("muc").enabled);
  EXPECT_EQ(c.modules.at("muc").options.get_int("max_users"), 256);
  EXPECT_TRUE(c.modules.at("muc").options.get_bool("default_members_only"));
  EXPECT_EQ(c.modules.at("muc").options.get_string("default_whois"), "anyone");
}

TEST(ConfigShipped, DocsEmbedTheReferenceTableOfEveryCoreSchema) {
  const fs::path file = source_root() / "docs" / "configuration.md";
  std::ifstream in(file);
  ASSERT_TRUE(in) << file;
  std::stringstream text;
  text << in.rdbuf();
  const std::string docs = text.str();
  for (const auto& [name, schema] : core_schemas()) {
    EXPECT_NE(docs.find(to_markdown(schema)), std::string::npos)
        << "docs/configuration.md lacks the current table of [" << name << "]:\n"
        << to_markdown(schema);
  }
}

TEST(ConfigShipped, DocsEmbedTheReferenceTableOfTheMucModule) {
  std::ifstream in(source_root() / "docs" / "configuration.md");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  const auto schemas = parley::ModuleRegistry::instance().schemas();
  ASSERT_TRUE(schemas.count("muc"));
  EXPECT_NE(text.str().find(to_markdown(schemas.at("muc"))), std::string::npos)
      << "docs/configuration.md lacks the current table of [modules.muc]:\n"
      << to_markdown(schemas.at("muc"));
}

TEST(ConfigShipped, CoreSchemasMatchTheStructDefaults) {
  // The schema defaults are what an empty file yields.
  Config c = ok("");
  auto get = [](const char* section, const char* key) -> const Value& {
    for (const auto& [n, s] : core_schemas())
      if (n == section) return s.find(key)->default_value;
    throw std::logic_error("no such section");
  };
  EXPECT_EQ(std::get<int64_t>(get("limits", "max_depth")), Limits{}.max_depth);
  EXPECT_EQ(std::get<int64_t>(get("limits", "send_buffer_bytes")), Limits{}.send_buffer_bytes);
  EXPECT_EQ(std::get<int64_t>(get("storage", "pool_size")), c.storage.pool_size);
  EXPECT_EQ(std::get<std::string>(get("log", "level")), c.log.level);
  EXPECT_EQ(std::get<int64_t>(get("server", "scram_iterations")), c.scram_iterations);
  EXPECT_EQ(std::get<std::vector<std::string>>(get("server", "hosts")), c.hosts);
}

TEST(ConfigHttp, DefaultsAndValues) {
  Config c = ok("");
  EXPECT_TRUE(c.http.enabled);
  EXPECT_EQ(c.http.bind, "127.0.0.1");
  EXPECT_EQ(c.http.port, 5280);
  EXPECT_TRUE(c.http.metrics);
  EXPECT_EQ(c.http.metrics_allow, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(c.http, HttpConfig{});

  c = ok(R"([http]
enabled = true
bind = "::"
port = 0
max_connections = 10
max_header_bytes = 2048
max_body_bytes = 0
request_timeout_seconds = 3
idle_timeout_seconds = 4
metrics = false
metrics_allow = ["10.0.0.1", "::ffff:192.0.2.1"]
)");
  EXPECT_EQ(c.http.bind, "::");
  EXPECT_EQ(c.http.port, 0);
  EXPECT_EQ(c.http.max_connections, 10);
  EXPECT_EQ(c.http.max_header_bytes, 2048);
  EXPECT_EQ(c.http.max_body_bytes, 0);
  EXPECT_EQ(c.http.request_timeout_seconds, 3);
  EXPECT_EQ(c.http.idle_timeout_seconds, 4);
  EXPECT_FALSE(c.http.metrics);
  EXPECT_EQ(c.http.metrics_allow.size(), 2u);
}

TEST(ConfigHttp, Errors) {
  EXPECT_EQ(error_of("[http]\nbind = \"localhost\"\n"),
            "t.toml:2: key 'http.bind' must be an IPv4 or IPv6 address, got \"localhost\"");
  EXPECT_EQ(error_of("[http]\nmetrics_allow = [\"127.0.0.1\", \"10.0.0.0/8\"]\n"),
            "t.toml:2: key 'http.metrics_allow[1]' must be an IPv4 or IPv6 address, got "
            "\"10.0.0.0/8\"");
  EXPECT_EQ(error_of("[http]\nmax_header_bytes = 10\n"),
            "t.toml:2: key 'http.max_header_bytes' must be an integer between 1024 and 1048576, "
            "got 10");
  EXPECT_EQ(error_of("[http]\nprot = 80\n"),
            "t.toml:2: key 'http.prot' is unknown (did you mean 'http.port'?)");
  EXPECT_EQ(error_of("[http]\nport = 5222\n"),
            "t.toml:2: key 'http.port' (127.0.0.1 port 5222) is the address of the 'c2s' "
            "listener");
  // Disabled, or on another address: no clash.
  ok("[http]\nenabled = false\nport = 5222\n");
  ok("[http]\nbind = \"127.0.0.2\"\nport = 5222\n");
}

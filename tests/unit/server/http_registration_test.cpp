// A module's HTTP routes are registrations like its hooks and IQ handlers:
// ModuleContext::on_http() adds them to the server's registry and the
// context's end removes them, so a module needs no teardown code.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

#include "server/server.hpp"
#include "xmpp/module.hpp"

namespace parley {
namespace {

namespace fs = std::filesystem;

boost::asio::awaitable<HttpResponse> hello(const HttpRequest&) {
  co_return HttpResponse::text(200, "hello\n");
}

TEST(HttpRegistration, ModuleRoutesAreReleasedWithTheirContext) {
  std::string tmpl = (fs::temp_directory_path() / "parley_http_XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  {
    config::Config c;
    c.hosts = {"localhost"};
    c.data_dir = tmpl;
    c.storage.backend = "sqlite";
    c.storage.sqlite_path = tmpl + "/parley.db";
    c.threads = 1;
    Server server(std::move(c));
    Host* host = server.host("localhost");
    ASSERT_NE(host, nullptr);
    const config::OptionValues options;
    auto& routes = server.http_routes();
    {
      ModuleContext ctx(*host, "upload_test", options, server.storage(), server.archive_writer());
      ctx.on_http("/upload/", {"PUT", "GET"}, hello, true);
      ctx.on_http("/hello", {"GET"}, hello);
      EXPECT_EQ(routes.find("/upload/a/b.png", "PUT").outcome, HttpRoutes::Outcome::Found);
      EXPECT_EQ(routes.find("/hello", "GET").outcome, HttpRoutes::Outcome::Found);
      // Another module cannot take the same path: a start-up error.
      ModuleContext other(*host, "other_test", options, server.storage(), server.archive_writer());
      EXPECT_THROW(other.on_http("/hello", {"POST"}, hello), std::logic_error);
    }
    EXPECT_EQ(routes.find("/upload/a/b.png", "PUT").outcome, HttpRoutes::Outcome::NotFound);
    EXPECT_EQ(routes.find("/hello", "GET").outcome, HttpRoutes::Outcome::NotFound);
    EXPECT_EQ(routes.size(), 0u);
  }
  std::error_code ec;
  fs::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace parley

#include "xmpp/http_routes.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>

namespace parley {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

// "." or ".." as a segment, a backslash or a NUL: never a route of ours.
bool suspicious(std::string_view path) {
  if (path.find('\\') != std::string_view::npos || path.find('\0') != std::string_view::npos)
    return true;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

HttpResponse HttpResponse::text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpRoutes::RouteId HttpRoutes::add(Route route) {
  if (route.path.empty() || route.path.front() != '/')
    throw std::logic_error("HTTP route '" + route.path + "' must start with '/'");
  if (route.prefix && route.path.back() != '/')
    throw std::logic_error("HTTP prefix route '" + route.path + "' must end with '/'");
  if (suspicious(route.path))
    throw std::logic_error("HTTP route '" + route.path + "' has a dot segment");
  if (route.methods.empty())
    throw std::logic_error("HTTP route '" + route.path + "' answers no method");
  if (!route.handler) throw std::logic_error("HTTP route '" + route.path + "' has no handler");
  std::unique_lock lock(mutex_);
  for (const auto& [id, r] : routes_)
    if (r->path == route.path && r->prefix == route.prefix)
      throw std::logic_error("HTTP route '" + route.path + "' is registered twice");
  const RouteId id = next_id_++;
  routes_.emplace(id, std::make_shared<const Route>(std::move(route)));
  return id;
}

void HttpRoutes::remove(RouteId id) {
  std::unique_lock lock(mutex_);
  routes_.erase(id);
}

size_t HttpRoutes::size() const {
  std::shared_lock lock(mutex_);
  return routes_.size();
}

HttpRoutes::Match HttpRoutes::find(std::string_view path, std::string_view method) const {
  Match m;
  if (path.empty() || path.front() != '/' || suspicious(path)) return m;
  std::shared_ptr<const Route> best;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [id, r] : routes_) {
      if (!r->prefix) {
        if (r->path == path) {
          best = r;
          break;
        }
      } else if (path.starts_with(r->path) && (!best || r->path.size() > best->path.size())) {
        best = r;
      }
    }
  }
  if (!best) return m;
  m.route = best;
  const bool allowed =
      std::any_of(best->methods.begin(), best->methods.end(), [&](const std::string& allowed) {
        return allowed == method || (method == "HEAD" && allowed == "GET");
      });
  m.outcome = allowed ? Outcome::Found : Outcome::MethodNotAllowed;
  return m;
}

}  // namespace parley

#include "xmpp/module.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace parley {

ModuleRegistry& ModuleRegistry::instance() {
  static ModuleRegistry registry;
  return registry;
}

bool ModuleRegistry::add(ModuleFactory factory) {
  const std::string name = factory.info.name;
  if (!factories_.emplace(name, std::move(factory)).second)
    throw std::logic_error("module registered twice: " + name);
  return true;
}

std::map<std::string, config::OptionSchema> ModuleRegistry::schemas() const {
  std::map<std::string, config::OptionSchema> out;
  for (const auto& [name, f] : factories_) f.declare_options(out[name]);
  return out;
}

std::vector<std::string> ModuleRegistry::enabled_by_default() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : factories_)
    if (f.info.enabled_by_default) out.push_back(name);
  return out;
}

ModuleContext::ModuleContext(Host& host, std::string name, const config::OptionValues& options,
                             storage::Storage& storage, ArchiveWriter& archive_writer)
    : host_(host),
      name_(std::move(name)),
      options_(options),
      storage_(storage),
      archive_writer_(archive_writer) {
  logger_ = make_logger("mod_" + name_ + "@" + host.domain());
}

std::shared_ptr<spdlog::logger> ModuleContext::make_logger(const std::string& name) {
  auto logger = spdlog::default_logger()->clone(name);
  // Registered, so that a reload's spdlog::set_level() reaches it; a module
  // started again (tests start several servers in one process) replaces it.
  spdlog::drop(name);
  spdlog::register_logger(logger);
  return logger;
}

ModuleContext::~ModuleContext() {
  for (HookId id : hooks_) host_.hooks().remove(id);
  for (const auto& k : iqs_) host_.iq().remove(k.type, k.scopes, k.element, k.xmlns);
  for (const auto& f : features_) host_.disco().remove_feature(f);
  for (const auto& i : identities_) host_.disco().remove_identity(i);
  for (const auto& d : services_) host_.core().router().release_service(d);
  for (auto id : http_routes_) host_.core().http_routes().remove(id);
}

void ModuleContext::on_http(std::string path, std::vector<std::string> methods, HttpHandler handler,
                            bool prefix) {
  http_routes_.push_back(host_.core().http_routes().add(
      {std::move(path), prefix, std::move(methods), std::move(handler)}));
}

void ModuleContext::claim_service(const std::string& domain, Router::ServiceHandler handler) {
  if (!host_.core().router().claim_service(domain, std::move(handler)))
    throw std::logic_error("service domain " + domain + " is a host or already claimed");
  services_.push_back(domain);
}

void ModuleContext::on_iq(IqType type, IqScope scopes, std::string element, std::string xmlns,
                          IqHandler handler) {
  host_.iq().add(type, scopes, element, xmlns, std::move(handler));
  iqs_.push_back(IqKey{type, scopes, std::move(element), std::move(xmlns)});
}

void ModuleContext::add_feature(std::string var) {
  host_.disco().add_feature(var);
  features_.push_back(std::move(var));
}

void ModuleContext::add_identity(DiscoIdentity identity) {
  host_.disco().add_identity(identity);
  identities_.push_back(std::move(identity));
}

}  // namespace parley

#pragma once
// A virtual host: one domain with its own hook bus, IQ handlers and disco items.
#include <string>

#include "xmpp/disco.hpp"
#include "xmpp/hooks.hpp"
#include "xmpp/iq.hpp"
#include "xmpp/jid.hpp"

namespace parley {

class ServerCore;

class Host {
 public:
  Host(std::string domain, ServerCore& core)
      : domain_(std::move(domain)), jid_(*Jid::make("", domain_)), core_(core) {}
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const std::string& domain() const { return domain_; }
  const Jid& jid() const { return jid_; }
  HookBus& hooks() { return hooks_; }
  IqDispatcher& iq() { return iq_; }
  DiscoRegistry& disco() { return disco_; }
  ServerCore& core() { return core_; }

 private:
  std::string domain_;
  Jid jid_;
  ServerCore& core_;
  HookBus hooks_;
  IqDispatcher iq_;
  DiscoRegistry disco_;
};

}  // namespace parley

#include "xmpp/iq.hpp"

#include <stdexcept>

namespace parley {

std::string IqDispatcher::key(IqType type, IqScope scope, const std::string& element,
                              const std::string& xmlns) {
  std::string k;
  k.reserve(element.size() + xmlns.size() + 4);
  k += type == IqType::Get ? 'g' : 's';
  k += static_cast<char>('0' + static_cast<unsigned>(scope));
  k += xmlns;
  k += ' ';
  k += element;
  return k;
}

void IqDispatcher::add(IqType type, IqScope scopes, const std::string& element,
                       const std::string& xmlns, IqHandler handler) {
  for (IqScope s : {IqScope::Host, IqScope::Self, IqScope::Bare}) {
    if (!has_scope(scopes, s)) continue;
    auto [it, inserted] = handlers_.emplace(key(type, s, element, xmlns), handler);
    if (!inserted)
      throw std::logic_error("duplicate IQ handler for {" + xmlns + "}" + element);
  }
}

void IqDispatcher::remove(IqType type, IqScope scopes, const std::string& element,
                          const std::string& xmlns) {
  for (IqScope s : {IqScope::Host, IqScope::Self, IqScope::Bare})
    if (has_scope(scopes, s)) handlers_.erase(key(type, s, element, xmlns));
}

const IqHandler* IqDispatcher::find(IqType type, IqScope scope, const std::string& element,
                                    const std::string& xmlns) const {
  auto it = handlers_.find(key(type, scope, element, xmlns));
  return it == handlers_.end() ? nullptr : &it->second;
}

}  // namespace parley

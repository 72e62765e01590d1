#pragma once
// IQ dispatch (RFC 6120 §8.2.3). Handlers are keyed by (type, scope, element,
// namespace); a duplicate key is a start-up error. A handler returns its result
// or a stanza error, so it cannot forget to answer: the core sends exactly one
// reply. An unhandled get/set gets service-unavailable from one place.
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "xmpp/jid.hpp"
#include "xmpp/session.hpp"
#include "xmpp/stanza.hpp"
#include "xmpp/xml/element.hpp"

namespace parley {

enum class IqType { Get, Set };

// Who the IQ is addressed to, as seen from the server.
enum class IqScope : unsigned {
  Host = 1,  // to the server's domain
  Self = 2,  // to the sender's own bare JID, or no 'to' at all
  Bare = 4,  // to another local account's bare JID (server answers on its behalf)
};
constexpr IqScope operator|(IqScope a, IqScope b) {
  return static_cast<IqScope>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr bool has_scope(IqScope set, IqScope s) {
  return (static_cast<unsigned>(set) & static_cast<unsigned>(s)) != 0;
}

struct IqRequest {
  xml::Element stanza;  // the whole IQ, `from` stamped, `to` possibly absent
  Jid from;
  Jid to;  // effective target (own bare JID when 'to' was absent)
  IqScope scope = IqScope::Host;
  SessionPtr origin;  // the sending local session, or null
  const xml::Element& payload() const { return *stanza.element_children().front(); }
};

struct IqResult {
  std::optional<xml::Element> payload;
  std::optional<StanzaError> error;
  static IqResult ok() { return {}; }
  static IqResult ok(xml::Element el) { return {std::move(el), std::nullopt}; }
  static IqResult fail(StanzaError e) { return {std::nullopt, std::move(e)}; }
};

using IqHandler = std::function<boost::asio::awaitable<IqResult>(IqRequest)>;

class IqDispatcher {
 public:
  // Throws std::logic_error on a duplicate key.
  void add(IqType type, IqScope scopes, const std::string& element, const std::string& xmlns,
           IqHandler handler);
  void remove(IqType type, IqScope scopes, const std::string& element, const std::string& xmlns);
  const IqHandler* find(IqType type, IqScope scope, const std::string& element,
                        const std::string& xmlns) const;

 private:
  static std::string key(IqType type, IqScope scope, const std::string& element,
                         const std::string& xmlns);
  std::unordered_map<std::string, IqHandler> handlers_;
};

}  // namespace parley

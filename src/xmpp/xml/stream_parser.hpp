#pragma once
// Incremental XMPP stream parser on expat with limits. Emits the stream header,
// each depth-1 element as a complete Element (a stanza or a nonza), and the
// stream close. DTDs, entity declarations, processing instructions, comments
// and unparsed entities are refused (restricted-xml, RFC 6120 §11.1).
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "xmpp/xml/element.hpp"

namespace parley::xml {

struct ParserLimits {
  size_t max_stanza_bytes = 256 * 1024;  // bytes of one depth-1 element, tags included
  size_t max_stanza_elements = 0;        // elements in one stanza, 0 = unlimited
  size_t max_depth = 64;                 // nesting inside a stanza
  size_t max_attributes = 64;            // per element
};

// Why parsing stopped with an error; maps 1:1 to an RFC 6120 stream error.
enum class ParseError {
  None,
  NotWellFormed,     // <not-well-formed/>
  RestrictedXml,     // <restricted-xml/>  (DTD, PI, comment, entity)
  PolicyViolation,   // <policy-violation/> a limit was exceeded
  StanzaTooBig,      // <policy-violation/> + <stanza-too-big/> (XEP-0478): max_stanza_bytes
  InvalidNamespace,  // <invalid-namespace/> stream element not in the streams namespace
  BadFormat,         // <bad-format/>
};

struct StreamHeader {
  std::string name;        // "stream"
  std::string xmlns;       // namespace of the stream element
  std::string default_ns;  // the declared default namespace (jabber:client / jabber:server)
  Element attributes;  // attributes copied to an element for convenient access (to, from, version,
                       // id, xml:lang)
};

class StreamParser {
 public:
  struct Handler {
    std::function<void(const StreamHeader&)> on_stream_open;
    std::function<void(Element&&)> on_element;  // depth-1 child of <stream:stream>
    std::function<void()> on_stream_close;
  };

  struct FeedResult {
    size_t consumed = 0;  // bytes of the input used; less than the input if stopped
    ParseError error = ParseError::None;
    bool stopped = false;  // stop() was called from a handler
  };

  StreamParser(ParserLimits limits, Handler handler);
  ~StreamParser();
  StreamParser(const StreamParser&) = delete;
  StreamParser& operator=(const StreamParser&) = delete;

  // Feeds bytes. Handlers are called synchronously. Once an error is returned
  // the parser is dead. A handler may call stop(): parsing ends right after the
  // current element and `consumed` says where, so the caller can discard or
  // re-feed the rest to a new parser (stream restart after STARTTLS/SASL) without
  // ever resetting expat from inside a callback.
  FeedResult feed(std::string_view data);
  void stop();

  // Frees the expat instance when the stream sits between stanzas with no
  // partial input (an idle connection then keeps a few hundred bytes instead
  // of expat's buffers, pools and tables); the next feed() re-creates it,
  // primed with the stream root's namespace declarations. Returns whether it
  // was freed; elsewhere it does nothing. Never from a handler.
  bool release();
  bool released() const;

  void set_limits(ParserLimits limits);  // e.g. raise the stanza size after authentication
  const ParserLimits& limits() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::xml

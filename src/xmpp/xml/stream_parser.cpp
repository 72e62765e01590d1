// Expat's header declares the billion-laughs protection API only when XML_DTD is
// defined by the includer; Debian's libexpat is built with DTD support, so
// exposing the declarations is safe (and required to harden the parser).
#ifndef XML_DTD
#define XML_DTD 1
#endif
#include "xmpp/xml/stream_parser.hpp"

#include <expat.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

#include "xmpp/xml/serializer.hpp"

namespace parley::xml {

namespace {

// Separates namespace URI and local name in the names expat reports. 0x01 is not
// a legal XML 1.0 character, so it can never occur in a namespace URI (expat
// rejects it, CVE-2022-25236); the namespace-declaration handler checks anyway.
constexpr char kSep = '\x01';
constexpr std::string_view kXmlNs = "http://www.w3.org/XML/1998/namespace";
constexpr std::string_view kStreamsNs = "http://etherx.jabber.org/streams";
constexpr std::string_view kXmlnsNs = "http://www.w3.org/2000/xmlns/";

// Expat hardening knobs that only exist in some versions. Each call is resolved
// by argument-dependent lookup on XML_Parser (a pointer to a global struct) at
// instantiation time, so a missing declaration silently selects the no-op.
template <class P>
auto disable_reparse_deferral(P p, int) -> decltype(XML_SetReparseDeferralEnabled(p, XML_FALSE)) {
  // Expat >= 2.6 defers reparsing of big unfinished tokens until "enough" new
  // input arrived, which delays interactive input. We bound the reparse cost
  // ourselves (see TokenScanner) and want every complete token delivered now.
  return XML_SetReparseDeferralEnabled(p, XML_FALSE);
}
template <class P>
void disable_reparse_deferral(P, long) {}

template <class P>
auto limit_amplification(P p, int)
    -> decltype(XML_SetBillionLaughsAttackProtectionMaximumAmplification(p, 1.0f), void()) {
  // DTDs are refused before anything can be expanded; this is defence in depth.
  XML_SetBillionLaughsAttackProtectionMaximumAmplification(p, 10.0f);
  XML_SetBillionLaughsAttackProtectionActivationThreshold(p, 1024 * 1024);
}
template <class P>
void limit_amplification(P, long) {}

template <class P>
auto limit_allocations(P p, int)
    -> decltype(XML_SetAllocTrackerMaximumAmplification(p, 1.0f), void()) {
  // Expat >= 2.7.
  XML_SetAllocTrackerMaximumAmplification(p, 100.0f);
  XML_SetAllocTrackerActivationThreshold(p, 16ull * 1024 * 1024);
}
template <class P>
void limit_allocations(P, long) {}

// Expat instances of released and destroyed parsers, reset and kept per
// thread for the next parser: an active stream releases its instance after
// every read burst (so an idle one keeps none), and a fresh instance costs a
// dozen allocations and a getrandom() for its hash salt where a reset costs
// almost nothing. Bounded, so idle streams still give their memory back.
class EnginePool {
 public:
  EnginePool() = default;
  EnginePool(const EnginePool&) = delete;
  EnginePool& operator=(const EnginePool&) = delete;
  ~EnginePool() {
    for (XML_Parser p : free_) XML_ParserFree(p);
  }

  XML_Parser take() {
    XML_Parser p = nullptr;
    if (!free_.empty()) {
      p = free_.back();
      free_.pop_back();
    } else {
      p = XML_ParserCreateNS("UTF-8", kSep);
    }
    // A secret salt per thread keeps hash flooding out as well as a fresh
    // one per instance does, without a system call per instance.
    if (p) XML_SetHashSalt(p, salt_);
    return p;
  }

  // `small`: the instance never held a big stanza. A reset keeps the input
  // buffer and string pools at their largest, so only small ones are kept.
  void give(XML_Parser p, bool small) {
    if (small && free_.size() < kKept && XML_ParserReset(p, "UTF-8") == XML_TRUE)
      free_.push_back(p);
    else
      XML_ParserFree(p);
  }

 private:
  static constexpr size_t kKept = 16;
  static unsigned long random_salt() {
    std::random_device device;
    unsigned long salt = 0;
    while (salt == 0)  // 0 asks expat for a salt of its own
      salt = (static_cast<unsigned long>(device()) << 32) ^ device();
    return salt;
  }
  std::vector<XML_Parser> free_;
  unsigned long salt_ = random_salt();
};

EnginePool& engines() {
  static thread_local EnginePool pool;
  return pool;
}

bool is_xml_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Splits an expat name "uri<sep>local" (or "local").
void split_name(const XML_Char* name, std::string_view& ns, std::string_view& local) {
  const char* sep = std::strchr(name, kSep);
  if (sep) {
    ns = std::string_view(name, static_cast<size_t>(sep - name));
    local = std::string_view(sep + 1);
  } else {
    ns = {};
    local = std::string_view(name);
  }
}

std::string attribute_name(const XML_Char* name) {
  std::string_view ns, local;
  split_name(name, ns, local);
  if (ns.empty()) return std::string(local);
  std::string out;
  if (ns == kXmlNs) {
    out.reserve(4 + local.size());
    out.append("xml:");
  } else {
    out.reserve(ns.size() + local.size() + 2);
    out.push_back('{');
    out.append(ns);
    out.push_back('}');
  }
  out.append(local);
  return out;
}

ParseError map_expat_error(XML_Error code) {
  switch (code) {
    case XML_ERROR_UNDEFINED_ENTITY:  // &foo; — only predefined entities are allowed
    case XML_ERROR_MISPLACED_XML_PI:  // <?xml ...?> anywhere but the very start
    case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
    case XML_ERROR_ENTITY_DECLARED_IN_PE:
    case XML_ERROR_AMPLIFICATION_LIMIT_BREACH:
      return ParseError::RestrictedXml;
    case XML_ERROR_NO_MEMORY:
      return ParseError::PolicyViolation;
    default:
      return ParseError::NotWellFormed;
  }
}

// Expat (before 2.6, and with deferral disabled after) rescans an unfinished
// token from its first byte on every XML_Parse call: a 200 KB start tag sent one
// byte at a time costs ~20 s of CPU (CVE-2023-52425). The scanner follows the
// pending token and tells whether new bytes could possibly finish it; while they
// cannot, input is buffered instead of handed to expat, so an event is never
// delayed but the rescanning stays linear overall.
class TokenScanner {
 public:
  void reset(uint64_t at) {
    pos_ = at;
    kind_ = Kind::Lead;
    quote_ = 0;
    prev1_ = prev2_ = 0;
  }

  // Bytes [abs_begin, abs_begin + bytes.size()) of the input; parts already seen
  // are skipped.
  void scan(uint64_t abs_begin, std::string_view bytes) {
    const uint64_t abs_end = abs_begin + bytes.size();
    if (!deferrable()) {
      pos_ = std::max(pos_, abs_end);
      return;
    }
    if (abs_begin > pos_) {  // a gap: we cannot know the state
      kind_ = Kind::Unknown;
      return;
    }
    for (size_t i = static_cast<size_t>(pos_ - abs_begin); i < bytes.size(); ++i) {
      step(bytes[i]);
      if (!deferrable()) break;
    }
    pos_ = std::max(pos_, abs_end);
  }

  // False once the token may be complete (or when in doubt).
  bool deferrable() const { return kind_ != Kind::Done && kind_ != Kind::Unknown; }

 private:
  enum class Kind : uint8_t {
    Lead,      // whitespace (or a BOM) before the token
    Lt,        // "<"
    StartTag,  // "<name ..." until '>' outside quoted attribute values
    EndTag,    // "</name" until '>'
    Bang,      // "<!"
    BangDash,  // "<!-"
    Comment,   // "<!--" until "-->"
    Decl,      // "<!DOCTYPE" and other declarations: until '>' or '['
    Pi,        // "<?" until "?>"
    Ref,       // "&" until ';'
    Done,      // the token may be complete
    Unknown,   // not a token we follow
  };

  void step(char c) {
    switch (kind_) {
      case Kind::Lead:
        if (c == '<')
          kind_ = Kind::Lt;
        else if (c == '&')
          kind_ = Kind::Ref;
        else if (!is_xml_space(c) && c != '\xEF' && c != '\xBB' && c != '\xBF')
          kind_ = Kind::Unknown;
        break;
      case Kind::Lt:
        if (c == '/')
          kind_ = Kind::EndTag;
        else if (c == '!')
          kind_ = Kind::Bang;
        else if (c == '?')
          kind_ = Kind::Pi;
        else {
          kind_ = Kind::StartTag;
          step(c);
        }
        break;
      case Kind::StartTag:
        if (quote_) {
          if (c == quote_) quote_ = 0;
        } else if (c == '\'' || c == '"') {
          quote_ = c;
        } else if (c == '>') {
          kind_ = Kind::Done;
        }
        break;
      case Kind::EndTag:
        if (c == '>') kind_ = Kind::Done;
        break;
      case Kind::Bang:
        kind_ = c == '-' ? Kind::BangDash : c == '[' ? Kind::Unknown : Kind::Decl;
        break;
      case Kind::BangDash:
        kind_ = c == '-' ? Kind::Comment : Kind::Unknown;
        break;
      case Kind::Comment:
        if (c == '>' && prev1_ == '-' && prev2_ == '-') kind_ = Kind::Done;
        break;
      case Kind::Decl:
        if (c == '>' || c == '[') kind_ = Kind::Done;
        break;
      case Kind::Pi:
        if (c == '>' && prev1_ == '?') kind_ = Kind::Done;
        break;
      case Kind::Ref:
        if (c == ';') kind_ = Kind::Done;
        break;
      case Kind::Done:
      case Kind::Unknown:
        break;
    }
    prev2_ = prev1_;
    prev1_ = c;
  }

  uint64_t pos_ = 0;  // absolute offset scanned up to
  Kind kind_ = Kind::Lead;
  char quote_ = 0;
  char prev1_ = 0, prev2_ = 0;
};

// Unfinished tokens shorter than this are simply re-fed to expat.
constexpr uint64_t kDeferThreshold = 256;
// XML_Parse takes an int length.
constexpr size_t kMaxParseChunk = size_t{1} << 30;

}  // namespace

struct StreamParser::Impl {
  ParserLimits limits;
  Handler handler;
  XML_Parser xp = nullptr;

  // Terminal states.
  ParseError error = ParseError::None;
  bool stopped = false;   // stop() was called (or a handler threw)
  bool finished = false;  // the stream was closed; later input is ignored
  std::exception_ptr exception;

  // Parse state.
  bool in_parse = false;
  bool root_started = false;
  size_t depth = 0;  // open elements, the stream root included
  std::string default_ns;
  Element stanza;
  std::vector<Element*> stack;  // open elements of the current stanza
  size_t stanza_elements = 0;
  size_t pending_ns_decls = 0;  // declared on the element whose start tag is being reported

  // Byte accounting, absolute offsets in the input stream.
  uint64_t accepted = 0;        // bytes taken from the caller
  uint64_t parsed = 0;          // bytes handed to expat
  uint64_t stanza_start = 0;    // first byte of the current depth-1 element
  uint64_t unit_start = 0;      // start of the unit in progress (header, stanza, gap)
  uint64_t largest_stanza = 0;  // of the current expat instance
  uint64_t last_event_end = 0;  // end of the last token expat reported
  uint64_t events = 0;          // number of reported tokens
  uint64_t stop_end = 0;        // end of the token during which stop() was called

  // Deferred input, see TokenScanner.
  TokenScanner scanner;
  uint64_t scanner_events = 0;
  std::string deferred;

  // release(): the expat instance is freed between stanzas and re-created on
  // the next input, primed with an equivalent stream root (its namespace
  // declarations, in scope for every stanza). `base` maps the instance's byte
  // offsets to absolute ones (it wraps below zero while priming).
  std::vector<std::pair<std::string, std::string>> root_decls;  // prefix ("" default), URI
  uint64_t base = 0;
  bool priming = false;

  Impl(ParserLimits l, Handler h) : limits(l), handler(std::move(h)) { create_engine(); }

  void create_engine() {
    xp = engines().take();
    if (!xp) throw std::bad_alloc();
    largest_stanza = 0;
    XML_SetUserData(xp, this);
    XML_SetParamEntityParsing(xp, XML_PARAM_ENTITY_PARSING_NEVER);
    disable_reparse_deferral(xp, 0);
    limit_amplification(xp, 0);
    limit_allocations(xp, 0);

    XML_SetElementHandler(xp, &Impl::on_start, &Impl::on_end);
    XML_SetCharacterDataHandler(xp, &Impl::on_chars);
    XML_SetStartNamespaceDeclHandler(xp, &Impl::on_ns_decl);
    XML_SetXmlDeclHandler(xp, &Impl::on_xml_decl);
    XML_SetCdataSectionHandler(xp, &Impl::on_cdata_boundary, &Impl::on_cdata_boundary);
    // Restricted XML (RFC 6120 §11.1): refuse at the first sign, before any
    // declaration can be used.
    XML_SetStartDoctypeDeclHandler(xp, &Impl::on_doctype);
    XML_SetEntityDeclHandler(xp, &Impl::on_entity_decl);
    XML_SetUnparsedEntityDeclHandler(xp, &Impl::on_unparsed_entity_decl);
    XML_SetNotationDeclHandler(xp, &Impl::on_notation_decl);
    XML_SetProcessingInstructionHandler(xp, &Impl::on_pi);
    XML_SetCommentHandler(xp, &Impl::on_comment);
    XML_SetSkippedEntityHandler(xp, &Impl::on_skipped_entity);
    XML_SetExternalEntityRefHandler(xp, &Impl::on_external_entity);
  }

  ~Impl() {
    if (xp) engines().give(xp, small_engine());
  }

  // Whether the expat instance only ever held small stanzas (see EnginePool).
  bool small_engine() const {
    constexpr uint64_t kSmallStanzaBytes = 8 * 1024;
    return error == ParseError::None && largest_stanza <= kSmallStanzaBytes &&
           accepted - unit_start <= kSmallStanzaBytes;
  }

  bool release() {
    // Only at a clean boundary: inside the stream, no stanza open, every byte
    // taken handed to expat and every byte handed reported.
    if (!xp || in_parse || halted() || !root_started || depth != 1 || !deferred.empty() ||
        parsed != accepted || last_event_end != parsed)
      return false;
    engines().give(xp, small_engine());
    xp = nullptr;
    return true;
  }

  std::string synthesized_root() const {
    std::string prefix;
    for (const auto& [p, uri] : root_decls)
      if (!p.empty() && uri == kStreamsNs) {
        prefix = p;
        break;
      }
    const bool declare = prefix.empty();
    if (declare) {
      // The first of "s", "ss", ... that no declaration of the root uses.
      size_t n = 1;
      while (std::any_of(root_decls.begin(), root_decls.end(), [n](const auto& d) {
        return d.first.size() == n && d.first.find_first_not_of('s') == std::string::npos;
      }))
        ++n;
      prefix.assign(n, 's');
    }
    std::string out = "<" + prefix + ":stream";
    if (declare) out += " xmlns:" + prefix + "='" + std::string(kStreamsNs) + "'";
    for (const auto& [p, uri] : root_decls) {
      out += p.empty() ? " xmlns='" : " xmlns:" + p + "='";
      escape_to(out, uri);
      out += "'";
    }
    out += ">";
    return out;
  }

  void reprime() {
    create_engine();
    const std::string root = synthesized_root();
    base = parsed - root.size();
    priming = true;
    in_parse = true;
    const bool ok =
        XML_Parse(xp, root.data(), static_cast<int>(root.size()), XML_FALSE) == XML_STATUS_OK;
    in_parse = false;
    priming = false;
    if (!ok && error == ParseError::None) error = ParseError::NotWellFormed;
  }

  static Impl& self(void* user) { return *static_cast<Impl*>(user); }

  bool halted() const { return error != ParseError::None || stopped || finished; }

  // Absolute end offset of the token being reported.
  uint64_t event_end() const {
    return base + static_cast<uint64_t>(XML_GetCurrentByteIndex(xp)) +
           static_cast<uint64_t>(XML_GetCurrentByteCount(xp));
  }

  void mark_event() {
    last_event_end = std::max(last_event_end, event_end());
    ++events;
  }

  void fail(ParseError e) {
    if (halted()) return;
    error = e;
    if (in_parse) XML_StopParser(xp, XML_FALSE);
  }

  void capture_exception() {
    if (!exception) exception = std::current_exception();
    if (!halted()) {
      stopped = true;
      if (in_parse) XML_StopParser(xp, XML_FALSE);
    }
  }

  bool over_stanza_bytes(uint64_t end) const {
    return end - stanza_start > limits.max_stanza_bytes;
  }

  // ---- expat callbacks ----

  static void XMLCALL on_start(void* user, const XML_Char* name, const XML_Char** atts) {
    Impl& p = self(user);
    if (p.halted() || p.priming) return;
    try {
      p.start_element(name, atts);
    } catch (...) {
      p.capture_exception();
    }
  }

  void start_element(const XML_Char* name, const XML_Char** atts) {
    mark_event();
    const uint64_t end = event_end();
    const size_t level = depth;  // 0: stream root, 1: stanza, 2+: inside a stanza
    size_t nattrs = 0;
    while (atts[2 * nattrs]) ++nattrs;
    // Namespace declarations are attributes too, as far as the limit goes.
    const size_t ns_decls = std::exchange(pending_ns_decls, 0);
    if (nattrs + ns_decls > limits.max_attributes) return fail(ParseError::PolicyViolation);

    std::string_view ns, local;
    split_name(name, ns, local);

    if (level == 0) {
      root_started = true;
      if (end > limits.max_stanza_bytes) return fail(ParseError::StanzaTooBig);
      if (ns != kStreamsNs)
        return fail(local == "stream" ? ParseError::InvalidNamespace : ParseError::BadFormat);
      if (local != "stream") return fail(ParseError::BadFormat);
      StreamHeader header;
      header.name = std::string(local);
      header.xmlns = std::string(ns);
      header.default_ns = default_ns;
      header.attributes = Element(header.name, header.xmlns);
      auto& out = header.attributes.attributes();
      out.reserve(nattrs);
      for (size_t i = 0; i < nattrs; ++i)
        out.push_back(Attribute{attribute_name(atts[2 * i]), atts[2 * i + 1]});
      depth = 1;
      unit_start = end;
      if (handler.on_stream_open) handler.on_stream_open(header);
      return;
    }

    if (level > limits.max_depth) return fail(ParseError::PolicyViolation);
    if (level == 1) {
      stanza_start = base + static_cast<uint64_t>(XML_GetCurrentByteIndex(xp));
      unit_start = stanza_start;
      stanza_elements = 0;
    }
    ++stanza_elements;
    if (limits.max_stanza_elements && stanza_elements > limits.max_stanza_elements)
      return fail(ParseError::PolicyViolation);
    if (over_stanza_bytes(end)) return fail(ParseError::StanzaTooBig);
    // Namespaces in XML binds the "xml" prefix for every document, so <xml:b/>
    // is well-formed, but no XMPP payload lives in that namespace and no
    // serializer can write it back (the prefix is not declarable): refused
    // like any other XML the server cannot process.
    if (ns == kXmlNs || ns == kXmlnsNs) return fail(ParseError::BadFormat);

    Element* el;
    if (level == 1) {
      stanza = Element(std::string(local), std::string(ns));
      el = &stanza;
    } else {
      el = &stack.back()->add_child(Element(std::string(local), std::string(ns)));
    }
    auto& out = el->attributes();
    out.reserve(nattrs);
    for (size_t i = 0; i < nattrs; ++i)
      out.push_back(Attribute{attribute_name(atts[2 * i]), atts[2 * i + 1]});
    stack.push_back(el);
    ++depth;
  }

  static void XMLCALL on_end(void* user, const XML_Char*) {
    Impl& p = self(user);
    if (p.halted()) return;
    try {
      p.end_element();
    } catch (...) {
      p.capture_exception();
    }
  }

  void end_element() {
    mark_event();
    const uint64_t end = event_end();
    --depth;
    if (depth == 0) {
      // The stream is closed: anything after it is ignored.
      stack.clear();
      if (handler.on_stream_close) handler.on_stream_close();
      if (!halted()) {
        finished = true;
        if (in_parse) XML_StopParser(xp, XML_FALSE);
      }
      return;
    }
    stack.pop_back();
    if (depth > 1) return;
    // A complete depth-1 element.
    if (over_stanza_bytes(end)) return fail(ParseError::StanzaTooBig);
    largest_stanza = std::max(largest_stanza, end - unit_start);
    unit_start = end;
    if (handler.on_element) handler.on_element(std::move(stanza));
    stanza = Element();
  }

  static void XMLCALL on_chars(void* user, const XML_Char* s, int len) {
    Impl& p = self(user);
    if (p.halted()) return;
    try {
      p.characters(std::string_view(s, static_cast<size_t>(len)));
    } catch (...) {
      p.capture_exception();
    }
  }

  void characters(std::string_view text) {
    mark_event();
    const uint64_t end = event_end();
    if (depth <= 1) {
      // Between stanzas only whitespace (keepalives) is allowed.
      for (char c : text)
        if (!is_xml_space(c)) return fail(ParseError::BadFormat);
      unit_start = end;
      return;
    }
    if (over_stanza_bytes(end)) return fail(ParseError::StanzaTooBig);
    stack.back()->add_text(text);
  }

  static void XMLCALL on_ns_decl(void* user, const XML_Char* prefix, const XML_Char* uri) {
    Impl& p = self(user);
    if (p.halted() || p.priming) return;
    if (uri && std::strchr(uri, kSep)) return p.fail(ParseError::NotWellFormed);
    ++p.pending_ns_decls;
    if (!p.root_started) {
      try {
        if (!prefix) p.default_ns = uri ? uri : "";
        p.root_decls.emplace_back(prefix ? prefix : "", uri ? uri : "");
      } catch (...) {
        p.capture_exception();
      }
    }
  }

  static void XMLCALL on_xml_decl(void* user, const XML_Char*, const XML_Char*, int) {
    Impl& p = self(user);
    if (!p.halted()) p.mark_event();
  }

  static void XMLCALL on_cdata_boundary(void* user) {
    Impl& p = self(user);
    if (!p.halted()) p.mark_event();
  }

  static void restricted(void* user) { self(user).fail(ParseError::RestrictedXml); }

  static void XMLCALL on_doctype(void* user, const XML_Char*, const XML_Char*, const XML_Char*,
                                 int) {
    restricted(user);
  }
  static void XMLCALL on_entity_decl(void* user, const XML_Char*, int, const XML_Char*, int,
                                     const XML_Char*, const XML_Char*, const XML_Char*,
                                     const XML_Char*) {
    restricted(user);
  }
  static void XMLCALL on_unparsed_entity_decl(void* user, const XML_Char*, const XML_Char*,
                                              const XML_Char*, const XML_Char*, const XML_Char*) {
    restricted(user);
  }
  static void XMLCALL on_notation_decl(void* user, const XML_Char*, const XML_Char*,
                                       const XML_Char*, const XML_Char*) {
    restricted(user);
  }
  static void XMLCALL on_pi(void* user, const XML_Char*, const XML_Char*) { restricted(user); }
  static void XMLCALL on_comment(void* user, const XML_Char*) { restricted(user); }
  static void XMLCALL on_skipped_entity(void* user, const XML_Char*, int) { restricted(user); }
  static int XMLCALL on_external_entity(XML_Parser parser, const XML_Char*, const XML_Char*,
                                        const XML_Char*, const XML_Char*) {
    restricted(XML_GetUserData(parser));
    return XML_STATUS_ERROR;
  }

  // ---- feeding ----

  // Bytes received since the start of the unit in progress: a stream header, a
  // stanza or the gap between stanzas. Catches oversized units while they are
  // still arriving.
  bool unit_too_big() const { return !finished && accepted - unit_start > limits.max_stanza_bytes; }

  static size_t clamp_offset(uint64_t abs, uint64_t base, size_t size) {
    if (abs <= base) return 0;
    return static_cast<size_t>(std::min<uint64_t>(abs - base, size));
  }

  FeedResult feed(std::string_view data) {
    FeedResult r;
    if (in_parse) throw std::logic_error("StreamParser::feed called from a handler");
    if (error != ParseError::None) {
      r.error = error;
      return r;
    }
    if (stopped) {
      r.stopped = true;
      return r;
    }
    if (finished || data.empty()) {
      r.consumed = data.size();
      return r;
    }

    // Expat detects UTF-16 from the first two bytes even when told the input is
    // UTF-8. XMPP is UTF-8 only (RFC 6120 §11.6); none of these bytes can start
    // a well-formed UTF-8 document.
    for (size_t i = 0; accepted + i < 2 && i < data.size(); ++i) {
      const auto c = static_cast<unsigned char>(data[i]);
      if (c == 0x00 || (accepted + i == 0 && (c == 0xFE || c == 0xFF))) {
        error = ParseError::NotWellFormed;
        r.error = error;
        return r;
      }
    }

    if (!xp) {
      reprime();  // released between stanzas
      if (error != ParseError::None) {
        r.error = error;
        return r;
      }
    }

    const uint64_t start = accepted;  // absolute offset of data[0]
    accepted += data.size();

    // A long unfinished token that these bytes cannot finish: keep them until
    // the token may be complete or enough input arrived to make a reparse
    // worthwhile (the pending size at least grows geometrically between
    // reparses, so expat's rescans cost O(n) in total).
    const uint64_t pending = parsed - last_event_end;
    if (pending >= kDeferThreshold && scanner_events == events && scanner.deferrable()) {
      scanner.scan(start, data);
      if (scanner.deferrable() && (deferred.size() + data.size()) * 2 < pending) {
        deferred.append(data);
        r.consumed = data.size();
        if (unit_too_big()) {
          error = ParseError::StanzaTooBig;
          r.error = error;
        }
        return r;
      }
    }

    std::string_view chunk = data;
    if (!deferred.empty()) {
      deferred.append(data);
      chunk = deferred;
    }
    const uint64_t chunk_begin = parsed;
    bool ok = true;
    for (size_t off = 0; off < chunk.size() && ok;) {
      const size_t n = std::min(chunk.size() - off, kMaxParseChunk);
      in_parse = true;
      ok = XML_Parse(xp, chunk.data() + off, static_cast<int>(n), XML_FALSE) == XML_STATUS_OK;
      in_parse = false;
      parsed += n;
      off += n;
    }

    if (exception) {
      release_deferred();
      std::rethrow_exception(exception);
    }
    if (!ok) {
      release_deferred();
      if (stopped) {
        r.stopped = true;
        r.consumed = clamp_offset(stop_end, start, data.size());
      } else if (finished && error == ParseError::None) {
        r.consumed = data.size();  // whatever follows the stream close is ignored
      } else {
        if (error == ParseError::None) error = map_expat_error(XML_GetErrorCode(xp));
        r.error = error;
        r.consumed = clamp_offset(base + static_cast<uint64_t>(XML_GetCurrentByteIndex(xp)), start,
                                  data.size());
      }
      return r;
    }

    // Follow the token expat left unfinished, if any.
    if (scanner_events != events) {
      scanner.reset(last_event_end);
      scanner_events = events;
    }
    scanner.scan(chunk_begin, chunk);
    release_deferred();

    r.consumed = data.size();
    if (unit_too_big()) {
      error = ParseError::StanzaTooBig;
      r.error = error;
    }
    return r;
  }

  void release_deferred() {
    // Do not keep a big buffer around per connection after a big stanza.
    if (deferred.capacity() > 64 * 1024)
      std::string().swap(deferred);
    else
      deferred.clear();
  }

  void stop() {
    if (halted()) return;
    stopped = true;
    if (in_parse) {
      stop_end = event_end();
      XML_StopParser(xp, XML_FALSE);
    }
  }
};

StreamParser::StreamParser(ParserLimits limits, Handler handler)
    : impl_(std::make_unique<Impl>(limits, std::move(handler))) {}

StreamParser::~StreamParser() = default;

StreamParser::FeedResult StreamParser::feed(std::string_view data) {
  return impl_->feed(data);
}

void StreamParser::stop() {
  impl_->stop();
}

bool StreamParser::release() {
  return impl_->release();
}

bool StreamParser::released() const {
  return impl_->xp == nullptr;
}

void StreamParser::set_limits(ParserLimits limits) {
  impl_->limits = limits;
}

const ParserLimits& StreamParser::limits() const {
  return impl_->limits;
}

}  // namespace parley::xml

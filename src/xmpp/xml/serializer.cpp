#include "xmpp/xml/serializer.hpp"

#include <array>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace parley::xml {

namespace {

constexpr std::string_view kXmlNs = "http://www.w3.org/XML/1998/namespace";
constexpr std::string_view kXmlnsNs = "http://www.w3.org/2000/xmlns/";
constexpr std::string_view kStreamsNs = "http://etherx.jabber.org/streams";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Byte classes for the escaper.
enum : uint8_t {
  kPlain = 0,    // copied as is
  kSpecial = 1,  // & < > ' " \t \n \r: escaped depending on the context
  kControl = 2,  // not allowed in XML 1.0: replaced by U+FFFD
  kHigh = 3,     // start (or stray continuation) of a multi-byte UTF-8 sequence
};

constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = kControl;
  for (int c = 0x80; c < 0x100; ++c) t[c] = kHigh;
  t['\t'] = t['\n'] = t['\r'] = kSpecial;
  t['&'] = t['<'] = t['>'] = t['\''] = t['"'] = kSpecial;
  t[0x7F] = kPlain;  // DEL is a legal XML 1.0 character
  return t;
}
constexpr std::array<uint8_t, 256> kClass = make_classes();

// Length of the well-formed UTF-8 sequence at s[i] encoding a character that is
// legal in XML 1.0 (no surrogates, no U+FFFE/U+FFFF, nothing above U+10FFFF),
// or 0 if there is none.
size_t valid_utf8_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](size_t k) { return (b(k) & 0xC0) == 0x80; };
  const size_t left = s.size() - i;
  const unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;                   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;                  // UTF-16 surrogates
    if (c == 0xEF && b(1) == 0xBF && b(2) >= 0xBE) return 0;  // U+FFFE, U+FFFF
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;  // continuation byte, C0/C1 (overlong) or F5..FF
}

enum class Context { Text, Attribute };

// Appends `s` escaped for `ctx`. Characters that cannot appear in XML 1.0 (most
// C0 controls, malformed UTF-8, surrogates, U+FFFE/U+FFFF) become U+FFFD, one per
// offending byte. Whitespace that a parser would normalise away is written as a
// character reference so that it survives a round trip: CR everywhere, TAB/LF in
// attribute values.
template <Context ctx>
void escape_impl(std::string& out, std::string_view s) {
  size_t run = 0;  // start of the pending run of bytes to copy verbatim
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const uint8_t cls = kClass[c];
    if (cls == kPlain) {
      ++i;
      continue;
    }
    if (cls == kHigh) {
      if (const size_t len = valid_utf8_length(s, i)) {
        i += len;
        continue;
      }
    }
    const char* rep = nullptr;
    switch (c) {
      case '&':
        rep = "&amp;";
        break;
      case '<':
        rep = "&lt;";
        break;
      case '>':
        rep = "&gt;";
        break;
      case '\'':
        rep = ctx == Context::Attribute ? "&apos;" : nullptr;
        break;
      case '"':
        rep = ctx == Context::Attribute ? "&quot;" : nullptr;
        break;
      case '\t':
        rep = ctx == Context::Attribute ? "&#x9;" : nullptr;
        break;
      case '\n':
        rep = ctx == Context::Attribute ? "&#xA;" : nullptr;
        break;
      case '\r':
        rep = "&#xD;";
        break;
      default:
        break;
    }
    if (cls == kSpecial && rep == nullptr) {  // legal as is in this context
      ++i;
      continue;
    }
    out.append(s.data() + run, i - run);
    if (rep)
      out.append(rep);
    else
      out.append(kReplacement);
    ++i;
    run = i;
  }
  out.append(s.data() + run, n - run);
}

// Conservative NCName check: ASCII name characters, plus any non-ASCII byte
// (non-ASCII names are rare in XMPP; the byte sequence is checked separately for
// UTF-8 validity). Never empty, no colon, no leading digit, '-' or '.'.
bool is_ncname(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool more = (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (c >= 0x80) {
      const size_t len = valid_utf8_length(name, i);
      if (len == 0) return false;
      i += len - 1;
      continue;
    }
    if (!alpha && !(i > 0 && more)) return false;
  }
  return true;
}

[[noreturn]] void bad_name(std::string_view what, std::string_view name) {
  throw std::invalid_argument("xml::serialize: invalid " + std::string(what) + " name '" +
                              std::string(name) + "'");
}

// An attribute name split into namespace and local part.
struct AttrName {
  std::string_view ns;  // empty: no namespace
  std::string_view local;
  bool skip = false;  // namespace declarations are never written from attributes
};

AttrName split_attr_name(std::string_view name) {
  AttrName r;
  if (!name.empty() && name.front() == '{') {
    // The last '}': a local name cannot contain one, a namespace may (found
    // by fuzzing: xmlns:x='}evil' x:y='1' made the whole stanza unserializable).
    const size_t close = name.rfind('}');
    if (close == std::string_view::npos) bad_name("attribute", name);
    r.ns = name.substr(1, close - 1);
    r.local = name.substr(close + 1);
    // Namespace declarations in disguise would clash with the ones written here.
    if (r.ns == kXmlnsNs) r.skip = true;
  } else if (name.starts_with("xml:")) {
    r.ns = kXmlNs;
    r.local = name.substr(4);
  } else {
    r.local = name;
    if (name == "xmlns" || name.starts_with("xmlns:")) r.skip = true;
  }
  if (!r.skip && !is_ncname(r.local)) bad_name("attribute", name);
  return r;
}

void write_attr(std::string& out, std::string_view prefix, std::string_view local,
                std::string_view value) {
  out.push_back(' ');
  if (!prefix.empty()) {
    out.append(prefix);
    out.push_back(':');
  }
  out.append(local);
  out.append("='");
  escape_impl<Context::Attribute>(out, value);
  out.push_back('\'');
}

// Writes the start tag of `el` ("<name ...>" or "<name .../>" when it has no
// content). Returns whether the element has content (and so needs an end tag);
// `scope` receives the default namespace in scope for its children and
// `prefixed` whether the name got the "stream:" prefix.
bool write_start_tag(std::string& out, const Element& el, std::string_view parent_xmlns,
                     std::string_view& scope, bool& prefixed) {
  if (!is_ncname(el.name())) bad_name("element", el.name());
  if (el.xmlns() == kXmlNs || el.xmlns() == kXmlnsNs)
    throw std::invalid_argument("xml::serialize: reserved namespace on element '" + el.name() +
                                "'");

  scope = parent_xmlns;
  prefixed = el.xmlns() != parent_xmlns && el.xmlns() == kStreamsNs;
  out.push_back('<');
  if (prefixed) {
    // Stream-level elements (stream:features, stream:error) keep the
    // conventional prefix; the declaration makes the output self-contained and
    // the default namespace stays that of the stream.
    out.append("stream:");
    out.append(el.name());
    out.append(" xmlns:stream='");
    escape_impl<Context::Attribute>(out, kStreamsNs);
    out.push_back('\'');
  } else {
    out.append(el.name());
    if (el.xmlns() != parent_xmlns) {
      out.append(" xmlns='");
      escape_impl<Context::Attribute>(out, el.xmlns());
      out.push_back('\'');
      scope = el.xmlns();
    }
  }

  const auto& attrs = el.attributes();
  // Namespaces given a generated prefix on this element (ns0, ns1...), in order.
  std::vector<std::string_view> declared;

  for (size_t i = 0; i < attrs.size(); ++i) {
    const Attribute& a = attrs[i];
    const AttrName an = split_attr_name(a.name);
    if (an.skip) continue;
    // Drop duplicates (same expanded name) so the output stays well-formed.
    bool duplicate = false;
    for (size_t j = 0; j < i && !duplicate; ++j) {
      const AttrName prev = split_attr_name(attrs[j].name);
      duplicate = !prev.skip && prev.ns == an.ns && prev.local == an.local;
    }
    if (duplicate) continue;

    if (an.ns.empty()) {
      write_attr(out, {}, an.local, a.value);
    } else if (an.ns == kXmlNs) {
      write_attr(out, "xml", an.local, a.value);
    } else {
      size_t k = 0;
      while (k < declared.size() && declared[k] != an.ns) ++k;
      const std::string prefix = "ns" + std::to_string(k);
      if (k == declared.size()) {
        declared.push_back(an.ns);
        out.append(" xmlns:");
        out.append(prefix);
        out.append("='");
        escape_impl<Context::Attribute>(out, an.ns);
        out.push_back('\'');
      }
      write_attr(out, prefix, an.local, a.value);
    }
  }

  for (const Node& node : el.nodes()) {
    if (node.element || !node.text.empty()) {
      out.push_back('>');
      return true;
    }
  }
  out.append("/>");
  return false;
}

void write_end_tag(std::string& out, const Element& el, bool prefixed) {
  out.append("</");
  if (prefixed) out.append("stream:");
  out.append(el.name());
  out.push_back('>');
}

// Iterative, so that arbitrarily deep trees cannot exhaust the stack.
void serialize_element(std::string& out, const Element& root, std::string_view parent_xmlns) {
  struct Frame {
    const Element* el;
    size_t next;             // index of the next child node to write
    std::string_view scope;  // default namespace in scope for the children
    bool prefixed;
  };
  std::string_view scope;
  bool prefixed = false;
  if (!write_start_tag(out, root, parent_xmlns, scope, prefixed)) return;
  std::vector<Frame> stack;
  stack.reserve(8);
  stack.push_back(Frame{&root, 0, scope, prefixed});
  while (!stack.empty()) {
    Frame& top = stack.back();
    const auto& nodes = top.el->nodes();
    if (top.next == nodes.size()) {
      write_end_tag(out, *top.el, top.prefixed);
      stack.pop_back();
      continue;
    }
    const Node& node = nodes[top.next++];
    if (!node.element) {
      escape_impl<Context::Text>(out, node.text);
      continue;
    }
    const std::string_view parent_scope = top.scope;  // `top` dies on push_back
    if (write_start_tag(out, *node.element, parent_scope, scope, prefixed))
      stack.push_back(Frame{node.element.get(), 0, scope, prefixed});
  }
}

}  // namespace

std::string serialize(const Element& el, std::string_view parent_xmlns) {
  std::string out;
  serialize_to(out, el, parent_xmlns);
  return out;
}

void serialize_to(std::string& out, const Element& el, std::string_view parent_xmlns) {
  const size_t before = out.size();
  try {
    serialize_element(out, el, parent_xmlns);
  } catch (...) {
    out.resize(before);  // never leave half an element behind
    throw;
  }
}

void escape_to(std::string& out, std::string_view text) {
  escape_impl<Context::Attribute>(out, text);
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  escape_to(out, text);
  return out;
}

}  // namespace parley::xml

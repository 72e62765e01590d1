#pragma once
// Helpers shared by the XML unit tests: structural element comparison and a
// stream parser wrapper that records everything it is told.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "xmpp/xml/element.hpp"
#include "xmpp/xml/stream_parser.hpp"

namespace parley::xml::testing_util {

inline constexpr std::string_view kStreamsNs = "http://etherx.jabber.org/streams";

// Compares name, namespace, attributes (in order) and children (in order);
// adjacent text nodes are compared as one run. Reports the path of the first
// difference.
inline ::testing::AssertionResult SameElementAt(const Element& a, const Element& b,
                                                const std::string& path) {
  const std::string here = path + "/" + a.name();
  if (a.name() != b.name())
    return ::testing::AssertionFailure()
           << here << ": name '" << a.name() << "' vs '" << b.name() << "'";
  if (a.xmlns() != b.xmlns())
    return ::testing::AssertionFailure()
           << here << ": xmlns '" << a.xmlns() << "' vs '" << b.xmlns() << "'";
  if (a.attributes().size() != b.attributes().size())
    return ::testing::AssertionFailure() << here << ": " << a.attributes().size() << " vs "
                                         << b.attributes().size() << " attributes";
  for (size_t i = 0; i < a.attributes().size(); ++i) {
    const auto& x = a.attributes()[i];
    const auto& y = b.attributes()[i];
    if (x.name != y.name || x.value != y.value)
      return ::testing::AssertionFailure()
             << here << ": attribute " << i << " " << x.name << "='" << x.value << "' vs " << y.name
             << "='" << y.value << "'";
  }
  // Normalise children: merge adjacent text runs, drop empty ones.
  struct Child {
    const Element* el;
    std::string text;
  };
  const auto flatten = [](const Element& e) {
    std::vector<Child> out;
    for (const auto& n : e.nodes()) {
      if (n.element) {
        out.push_back({n.element.get(), {}});
      } else if (!n.text.empty()) {
        if (!out.empty() && !out.back().el)
          out.back().text += n.text;
        else
          out.push_back({nullptr, n.text});
      }
    }
    return out;
  };
  const auto ca = flatten(a);
  const auto cb = flatten(b);
  if (ca.size() != cb.size())
    return ::testing::AssertionFailure()
           << here << ": " << ca.size() << " vs " << cb.size() << " children";
  for (size_t i = 0; i < ca.size(); ++i) {
    if (!ca[i].el != !cb[i].el)
      return ::testing::AssertionFailure() << here << ": child " << i << " kind differs";
    if (ca[i].el) {
      auto r = SameElementAt(*ca[i].el, *cb[i].el, here);
      if (!r) return r;
    } else if (ca[i].text != cb[i].text) {
      return ::testing::AssertionFailure()
             << here << ": text '" << ca[i].text << "' vs '" << cb[i].text << "'";
    }
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult SameElement(const Element& a, const Element& b) {
  return SameElementAt(a, b, "");
}

// Records every callback of a StreamParser.
struct Recorder {
  std::optional<StreamHeader> header;
  std::vector<Element> elements;
  int closes = 0;
  std::vector<size_t> element_at_feed;  // index of the feed() call that delivered each element
  size_t feeds = 0;

  // Optional hooks run after recording.
  std::function<void(StreamParser&, const Element&)> after_element;
  std::function<void(StreamParser&, const StreamHeader&)> after_open;

  std::unique_ptr<StreamParser> parser;

  explicit Recorder(ParserLimits limits = {}) { reset(limits); }

  void reset(ParserLimits limits = {}) {
    header.reset();
    elements.clear();
    closes = 0;
    element_at_feed.clear();
    feeds = 0;
    StreamParser::Handler h;
    h.on_stream_open = [this](const StreamHeader& hd) {
      header = hd;
      if (after_open) after_open(*parser, hd);
    };
    h.on_element = [this](Element&& el) {
      elements.push_back(std::move(el));
      element_at_feed.push_back(feeds);
      if (after_element) after_element(*parser, elements.back());
    };
    h.on_stream_close = [this] { ++closes; };
    parser = std::make_unique<StreamParser>(limits, std::move(h));
  }

  StreamParser::FeedResult feed(std::string_view data) {
    ++feeds;
    return parser->feed(data);
  }

  // Feeds `data` in pieces of `step` bytes; stops at the first error/stop and
  // returns that result (consumed relative to the whole input).
  StreamParser::FeedResult feed_in_steps(std::string_view data, size_t step) {
    StreamParser::FeedResult total;
    for (size_t off = 0; off < data.size(); off += step) {
      auto r = feed(data.substr(off, step));
      total.consumed += r.consumed;
      if (r.error != ParseError::None || r.stopped) {
        total.error = r.error;
        total.stopped = r.stopped;
        return total;
      }
    }
    return total;
  }
};

inline const char* to_string(ParseError e) {
  switch (e) {
    case ParseError::None:
      return "None";
    case ParseError::NotWellFormed:
      return "NotWellFormed";
    case ParseError::RestrictedXml:
      return "RestrictedXml";
    case ParseError::PolicyViolation:
      return "PolicyViolation";
    case ParseError::StanzaTooBig:
      return "StanzaTooBig";
    case ParseError::InvalidNamespace:
      return "InvalidNamespace";
    case ParseError::BadFormat:
      return "BadFormat";
  }
  return "?";
}

inline constexpr std::string_view kClientHeader =
    "<?xml version='1.0'?>"
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    "to='example.com' version='1.0' xml:lang='en'>";

}  // namespace parley::xml::testing_util

namespace parley::xml {
// gtest printing of ParseError values.
inline void PrintTo(ParseError e, std::ostream* os) {
  *os << testing_util::to_string(e);
}
}  // namespace parley::xml

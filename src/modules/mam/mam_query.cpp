#include "modules/mam/mam_query.hpp"

#include <charconv>

#include "modules/mam/mam_policy.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/xml/fragment.hpp"

namespace parley::mam {

namespace {

const std::string kFulltextField = "{" + std::string(kFulltextNs) + "}fulltext";

std::optional<size_t> parse_count(const std::string& text) {
  size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string> values(const xml::Element& field) {
  std::vector<std::string> out;
  for (const xml::Element* v : field.children("value", ns::data_forms)) out.push_back(v->text());
  return out;
}

std::string single(const xml::Element& field) {
  auto v = values(field);
  return v.empty() ? std::string() : v.front();
}

}  // namespace

std::variant<ParsedQuery, StanzaError> parse_query(const xml::Element& query,
                                                   const PageLimits& limits) {
  ParsedQuery out;
  auto& q = out.query;
  out.queryid = query.attr_or("queryid");
  out.flip = query.child("flip-page", kMamNs) != nullptr;
  q.max = limits.default_max;

  if (const xml::Element* form = query.child("x", ns::data_forms)) {
    for (const xml::Element* field : form->children("field", ns::data_forms)) {
      const std::string var = field->attr_or("var");
      const std::string value = single(*field);
      if (var == "FORM_TYPE") {
        if (value != kMamNs) return StanzaError::bad_request("FORM_TYPE must be urn:xmpp:mam:2");
      } else if (var == "with") {
        if (value.empty()) continue;
        auto jid = Jid::parse(value);
        if (!jid) return StanzaError::bad_request("'with' is not a valid JID");
        q.with_bare = jid->bare_str();
        if (jid->is_full()) q.with_resource = jid->resource();
      } else if (var == "start" || var == "end") {
        if (value.empty()) continue;
        auto t = parse_datetime(value);
        if (!t) return StanzaError::bad_request("'" + var + "' is not an XEP-0082 DateTime");
        (var == "start" ? q.start : q.end) = *t;
      } else if (var == "after-id" || var == "before-id") {
        if (value.empty()) continue;
        (var == "after-id" ? q.after_id : q.before_id) = value;
      } else if (var == "ids") {
        for (auto& id : values(*field))
          if (!id.empty()) q.ids.push_back(std::move(id));
        if (q.ids.size() > limits.max)
          return StanzaError::bad_request("too many ids (at most " + std::to_string(limits.max) +
                                          ")");
      } else if (var == kFulltextField) {
        if (!value.empty()) q.fulltext = value;
      } else {
        StanzaError e = StanzaError::feature_not_implemented();
        e.text = "unknown field '" + var + "'";
        return e;
      }
    }
  }

  if (const xml::Element* set = query.child("set", kRsmNs)) {
    if (set->child("index", kRsmNs)) {
      StanzaError e = StanzaError::feature_not_implemented();
      e.text = "RSM <index/> is not supported; page with <after/> or <before/>";
      return e;
    }
    if (const xml::Element* max = set->child("max", kRsmNs)) {
      auto n = parse_count(max->text());
      if (!n) return StanzaError::bad_request("RSM <max/> must be a non-negative integer");
      q.max = std::min(*n, limits.max);  // the server's limit wins (XEP-0313 "Page limits")
    }
    if (const xml::Element* after = set->child("after", kRsmNs)) q.page_after = after->text();
    if (const xml::Element* before = set->child("before", kRsmNs)) q.page_before = before->text();
    if (q.page_after && q.page_before)
      return StanzaError::bad_request(
          "RSM <after/> and <before/> together are undefined; use after-id and before-id");
    if (q.page_after && q.page_after->empty())
      return StanzaError::bad_request("RSM <after/> needs an id");
  }
  return out;
}

xml::Element query_form() {
  xml::Element query("query", std::string(kMamNs));
  xml::Element& x = query.add_child("x", std::string(ns::data_forms));
  x.set_attr("type", "form");
  x.add_child("field", std::string(ns::data_forms))
      .with_attr("var", "FORM_TYPE")
      .with_attr("type", "hidden")
      .add_child("value", std::string(ns::data_forms))
      .add_text(kMamNs);
  auto field = [&](std::string var, std::string type) -> xml::Element& {
    return x.add_child("field", std::string(ns::data_forms))
        .with_attr("var", std::move(var))
        .with_attr("type", std::move(type));
  };
  field("with", "jid-single");
  field("start", "text-single");
  field("end", "text-single");
  field("before-id", "text-single");
  field("after-id", "text-single");
  field("ids", "list-multi")
      .add_child("validate", "http://jabber.org/protocol/xdata-validate")
      .with_attr("datatype", "xs:string")
      .add_child("open", "http://jabber.org/protocol/xdata-validate");
  field(kFulltextField, "text-single");
  return query;
}

std::optional<xml::Element> result_message(const storage::ArchivedMessage& m,
                                           const std::string& queryid, const std::string& owner,
                                           const std::string& requester) {
  auto original = xml::parse_fragment(m.stanza_xml);
  if (!original) return std::nullopt;
  xml::Element message("message", std::string(ns::client));
  message.set_attr("from", owner);
  message.set_attr("to", requester);
  message.set_attr("id", random_id());
  xml::Element& result = message.add_child("result", std::string(kMamNs));
  if (!queryid.empty()) result.set_attr("queryid", queryid);
  result.set_attr("id", m.id);
  xml::Element& forwarded = result.add_child("forwarded", std::string(kForwardNs));
  forwarded.add_child("delay", std::string(ns::delay)).set_attr("stamp", xep0082_format(m.stamp));
  forwarded.add_child(std::move(*original));
  return message;
}

xml::Element fin_element(const storage::ArchivePage& page) {
  xml::Element fin("fin", std::string(kMamNs));
  if (page.complete) fin.set_attr("complete", "true");
  xml::Element& set = fin.add_child("set", std::string(kRsmNs));
  if (!page.messages.empty()) {
    set.add_child("first", std::string(kRsmNs))
        .with_attr("index", std::to_string(page.first_index))
        .add_text(page.messages.front().id);
    set.add_child("last", std::string(kRsmNs)).add_text(page.messages.back().id);
  }
  set.add_child("count", std::string(kRsmNs)).add_text(std::to_string(page.count));
  return fin;
}

}  // namespace parley::mam

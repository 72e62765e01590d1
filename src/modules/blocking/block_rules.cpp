#include "modules/blocking/block_rules.hpp"

#include <algorithm>

namespace parley::blocking {

std::variant<Items, StanzaError> parse_items(const xml::Element& command, bool with_reports) {
  Items out;
  for (const xml::Element* item : command.children("item", kNs)) {
    const std::string* raw = item->attr("jid");
    if (!raw || raw->empty()) return StanzaError::bad_request("an item needs a 'jid'");
    auto jid = Jid::parse(*raw);
    if (!jid) return StanzaError::jid_malformed();
    std::string key = jid->str();
    if (std::find(out.jids.begin(), out.jids.end(), key) != out.jids.end()) continue;
    if (with_reports) {
      if (const xml::Element* report = item->child("report", kReportingNs)) {
        const std::string reason = report->attr_or("reason");
        if (reason.empty()) return StanzaError::bad_request("a report needs a reason");
        if (reason.size() > kMaxReasonBytes)
          return StanzaError::bad_request("report reason too long");
        std::string text = report->child_text("text", kReportingNs);
        if (text.size() > kMaxReportTextBytes)
          return StanzaError::bad_request("report text too long");
        out.reports.push_back({key, reason, std::move(text)});
      }
    }
    out.jids.push_back(std::move(key));
  }
  return out;
}

std::vector<std::string> match_keys(const Jid& jid) {
  std::vector<std::string> keys;
  // Without a localpart the full JID is the domain/resource form.
  if (jid.is_full()) keys.push_back(jid.str());
  if (!jid.local().empty()) keys.push_back(jid.bare_str());
  for (std::string_view d = jid.domain(); !d.empty();) {
    keys.emplace_back(d);
    const size_t dot = d.find('.');
    if (dot == std::string_view::npos) break;
    d.remove_prefix(dot + 1);
  }
  return keys;
}

bool blocks(const std::set<std::string>& items, const Jid& jid) {
  if (items.empty()) return false;
  for (const auto& key : match_keys(jid))
    if (items.contains(key)) return true;
  return false;
}

xml::Element command(std::string_view name, const std::vector<std::string>& jids) {
  xml::Element el{std::string(name), std::string(kNs)};
  for (const auto& j : jids) el.add_child("item", std::string(kNs)).set_attr("jid", j);
  return el;
}

StanzaError blocked_error() {
  StanzaError e = StanzaError::not_acceptable();
  e.type = ErrorType::Cancel;
  e.application = xml::Element("blocked", std::string(kErrorsNs));
  return e;
}

}  // namespace parley::blocking

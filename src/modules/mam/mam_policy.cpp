#include "modules/mam/mam_policy.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

namespace parley::mam {

namespace {

constexpr std::string_view kHintsNs = "urn:xmpp:hints";

// Payloads that belong in the conversation history even without a body.
bool conversation_payload(const xml::Element& el) {
  const std::string& ns = el.xmlns();
  const std::string& name = el.name();
  if (ns == "urn:xmpp:receipts") return name == "received";  // XEP-0184
  if (ns == "urn:xmpp:chat-markers:0")                       // XEP-0333
    return name == "received" || name == "displayed" || name == "acknowledged";
  if (ns == "urn:xmpp:message-retract:1" || ns == "urn:xmpp:message-retract:0" ||
      ns == "urn:xmpp:fasten:0")  // XEP-0424
    return true;
  if (ns == "urn:xmpp:message-correct:0") return name == "replace";  // XEP-0308
  if (ns == "urn:xmpp:reactions:0") return name == "reactions";      // XEP-0444
  if (ns == "urn:xmpp:jingle-message:0") return true;                // XEP-0353 call log
  if (ns == kHintsNs) return name == "store";
  return false;
}

}  // namespace

bool is_encrypted(const xml::Element& message) {
  return message.child("encrypted", "eu.siacs.conversations.axolotl") ||
         message.child("encrypted", "urn:xmpp:omemo:2") ||
         message.child("encrypted", "urn:xmpp:omemo:1") ||
         message.child("openpgp", "urn:xmpp:openpgp:0") || message.child("x", "jabber:x:encrypted");
}

bool is_archivable(const xml::Element& message) {
  if (message.name() != "message") return false;
  const std::string type = message.attr_or("type", "normal");
  if (type == "error" || type == "headline" || type == "groupchat") return false;
  if (message.child("no-store", kHintsNs) || message.child("no-permanent-store", kHintsNs))
    return false;
  for (const xml::Element* c : message.element_children()) {
    if (c->name() == "body" && (c->xmlns() == "jabber:client" || c->xmlns().empty())) return true;
    if (conversation_payload(*c)) return true;
  }
  return is_encrypted(message);
}

std::string searchable_text(const xml::Element& message) {
  if (is_encrypted(message)) return {};
  std::string out;
  for (const xml::Element* body : message.children("body")) {
    if (body->xmlns() != "jabber:client" && !body->xmlns().empty()) continue;
    if (!out.empty()) out += '\n';
    out += body->text();
  }
  return out;
}

void strip_stanza_ids(xml::Element& message, std::string_view by) {
  std::erase_if(message.nodes(), [&](const xml::Node& n) {
    return n.element && n.element->is("stanza-id", kSidNs) && n.element->attr_or("by") == by;
  });
}

void add_stanza_id(xml::Element& message, std::string id, std::string by) {
  message.add_child("stanza-id", std::string(kSidNs))
      .with_attr("id", std::move(id))
      .with_attr("by", std::move(by));
}

std::optional<std::string> stanza_id(const xml::Element& message, std::string_view by) {
  for (const xml::Element* c : message.children("stanza-id", kSidNs))
    if (c->attr_or("by") == by) return c->attr_or("id");
  return std::nullopt;
}

namespace {

bool matches(const std::vector<std::string>& list, const Jid& peer) {
  const std::string full = peer.str();
  const std::string bare = peer.bare_str();
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& j) { return j == full || j == bare; });
}

}  // namespace

Verdict decide(const storage::ArchivePrefs& prefs, const Jid& peer) {
  // Explicit lists win over the default; 'never' wins over 'always'.
  if (matches(prefs.never, peer)) return Verdict::Skip;
  if (matches(prefs.always, peer)) return Verdict::Archive;
  if (prefs.default_mode == "never") return Verdict::Skip;
  if (prefs.default_mode == "roster") return Verdict::AskRoster;
  return Verdict::Archive;
}

std::optional<storage::ArchivePrefs> parse_prefs(const xml::Element& el) {
  storage::ArchivePrefs prefs;
  prefs.default_mode = el.attr_or("default", "always");
  if (prefs.default_mode != "always" && prefs.default_mode != "never" &&
      prefs.default_mode != "roster")
    return std::nullopt;
  for (auto [name, list] : {std::pair{"always", &prefs.always}, std::pair{"never", &prefs.never}}) {
    const xml::Element* group = el.child(name, kMamNs);
    if (!group) continue;
    for (const xml::Element* j : group->children("jid", kMamNs)) {
      auto jid = Jid::parse(j->text());
      if (!jid) return std::nullopt;
      if (std::find(list->begin(), list->end(), jid->str()) == list->end())
        list->push_back(jid->str());
    }
  }
  return prefs;
}

xml::Element prefs_element(const storage::ArchivePrefs& prefs) {
  xml::Element el("prefs", std::string(kMamNs));
  el.set_attr("default", prefs.default_mode);
  for (auto [name, list] : {std::pair{"always", &prefs.always}, std::pair{"never", &prefs.never}}) {
    xml::Element& group = el.add_child(name, std::string(kMamNs));
    for (const auto& j : *list) group.add_child("jid", std::string(kMamNs)).add_text(j);
  }
  return el;
}

namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  auto [end, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, out);
  return ec == std::errc() && end == s.data() + pos + n;
}

}  // namespace

std::optional<storage::Timestamp> parse_datetime(std::string_view s) {
  // CCYY-MM-DDThh:mm:ss[.sss]TZD
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || s[10] != 'T' || !digits(s, 11, 2, hour) ||
      s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  size_t pos = 19;
  int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      micros += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int offset_minutes = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const time_t t = timegm(&tm);
  // The clock's nanosecond time_point spans 1677 to 2262; a bound beyond
  // that ("everything until 2999") is clamped, not wrapped.
  using Seconds = std::chrono::seconds;
  constexpr auto kMax =
      std::chrono::duration_cast<Seconds>(storage::Timestamp::max().time_since_epoch());
  constexpr auto kMin =
      std::chrono::duration_cast<Seconds>(storage::Timestamp::min().time_since_epoch());
  if (t >= kMax.count() - 86400) return storage::Timestamp::max();
  if (t <= kMin.count() + 86400) return storage::Timestamp::min();
  return storage::Clock::from_time_t(t) - std::chrono::minutes(offset_minutes) +
         std::chrono::duration_cast<storage::Clock::duration>(std::chrono::microseconds(micros));
}

}  // namespace parley::mam

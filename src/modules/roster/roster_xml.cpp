#include "modules/roster/roster_xml.hpp"

#include <algorithm>

namespace parley::roster {

std::string version_string(uint64_t version) { return std::to_string(version); }

xml::Element item_element(const storage::RosterItem& item) {
  xml::Element el("item", std::string(kRosterNs));
  el.set_attr("jid", item.jid);
  if (!item.name.empty()) el.set_attr("name", item.name);
  el.set_attr("subscription", storage::to_string(item.subscription));
  if (item.ask_out) el.set_attr("ask", "subscribe");
  if (item.approved) el.set_attr("approved", "true");
  for (const auto& g : item.groups) el.add_child("group", std::string(kRosterNs)).add_text(g);
  return el;
}

xml::Element removed_item_element(const std::string& jid) {
  xml::Element el("item", std::string(kRosterNs));
  el.set_attr("jid", jid);
  el.set_attr("subscription", "remove");
  return el;
}

xml::Element query_element(uint64_t version) {
  xml::Element q("query", std::string(kRosterNs));
  q.set_attr("ver", version_string(version));
  return q;
}

std::variant<RosterSet, StanzaError> parse_set(const xml::Element& query, const Jid& owner,
                                               const SetLimits& limits) {
  // §2.3.3: exactly one <item/> (we also refuse foreign elements in the query).
  const auto children = query.element_children();
  if (children.size() != 1) return StanzaError::bad_request("a roster set has exactly one item");
  const xml::Element& item = *children.front();
  if (!item.is("item", kRosterNs)) return StanzaError::bad_request("a roster set has exactly one item");

  const std::string* jid_attr = item.attr("jid");
  if (!jid_attr) return StanzaError::bad_request("the item has no jid");
  std::optional<Jid> jid = Jid::parse(*jid_attr);
  if (!jid) return StanzaError::jid_malformed();
  if (jid->is_full()) return StanzaError::bad_request("roster items are bare JIDs");
  if (jid->bare() == owner.bare()) return StanzaError::not_allowed("the user's own JID cannot be a contact");

  RosterSet set;
  set.jid = *jid;
  // §2.1.2.5: in a roster set only subscription='remove' means anything; the
  // server ignores every other value (a client cannot grant itself a
  // subscription). 'ask' and 'approved' are ignored likewise (§2.1.2.1, §2.1.2.2).
  if (item.attr_or("subscription") == "remove") {
    set.remove = true;
    return set;
  }
  set.name = item.attr_or("name");
  if (set.name.size() > limits.max_name_length)
    return StanzaError::not_acceptable("the item name is too long");
  for (const xml::Element* child : item.element_children()) {
    if (!child->is("group", kRosterNs)) continue;  // unknown extensions are ignored
    std::string group = child->text();
    if (group.empty()) return StanzaError::not_acceptable("a group name is empty");
    if (group.size() > limits.max_group_length)
      return StanzaError::not_acceptable("a group name is too long");
    if (std::find(set.groups.begin(), set.groups.end(), group) != set.groups.end())
      return StanzaError::bad_request("duplicate group");
    set.groups.push_back(std::move(group));
  }
  if (set.groups.size() > limits.max_groups) return StanzaError::not_acceptable("too many groups");
  return set;
}

}  // namespace parley::roster

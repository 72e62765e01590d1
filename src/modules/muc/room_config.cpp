#include "modules/muc/room_config.hpp"

#include <charconv>
#include <map>
#include <vector>

#include "modules/muc/muc_ns.hpp"

namespace parley::muc {
namespace {

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '%')
      out += "%25";
    else if (c == '\n')
      out += "%0A";
    else if (c == '\r')
      out += "%0D";
    else
      out += c;
  }
  return out;
}

std::string unescape(const std::string& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size()) {
      const std::string hex = v.substr(i + 1, 2);
      if (hex == "25") out += '%';
      else if (hex == "0A") out += '\n';
      else if (hex == "0D") out += '\r';
      else {
        out += v[i];
        continue;
      }
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

std::optional<int64_t> to_int(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<bool> to_bool(const std::string& s) {
  if (s == "1" || s == "true") return true;
  if (s == "0" || s == "false") return false;
  return std::nullopt;
}

const char* b(bool v) { return v ? "1" : "0"; }

xml::Element& add_field(xml::Element& form, const std::string& var, const std::string& type,
                        const std::string& label) {
  xml::Element& f = form.add_child("field", std::string(kDataForms));
  f.set_attr("var", var);
  f.set_attr("type", type);
  if (!label.empty()) f.set_attr("label", label);
  return f;
}

void add_value(xml::Element& field, const std::string& value) {
  field.add_child("value", std::string(kDataForms)).add_text(value);
}

void add_option(xml::Element& field, const std::string& label, const std::string& value) {
  xml::Element& o = field.add_child("option", std::string(kDataForms));
  o.set_attr("label", label);
  add_value(o, value);
}

}  // namespace

std::string encode(const RoomConfig& c) {
  std::string out;
  auto line = [&out](const char* key, const std::string& value) {
    out += key;
    out += '=';
    out += escape(value);
    out += '\n';
  };
  line("name", c.name);
  line("description", c.description);
  line("persistent", b(c.persistent));
  line("public", b(c.public_room));
  line("members_only", b(c.members_only));
  line("moderated", b(c.moderated));
  line("password_protected", b(c.password_protected));
  line("password", c.password);
  line("whois", c.whois);
  line("max_users", std::to_string(c.max_users));
  line("allow_invites", b(c.allow_invites));
  line("allow_pm", c.allow_pm);
  line("change_subject", b(c.change_subject));
  line("history_length", std::to_string(c.history_length));
  line("occupant_id_secret", c.occupant_id_secret);
  line("vcard", c.vcard);
  return out;
}

RoomConfig decode(const std::string& text) {
  RoomConfig c;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const std::string value = unescape(line.substr(eq + 1));
    auto flag = [&](bool& target) {
      if (auto v = to_bool(value)) target = *v;
    };
    auto number = [&](int64_t& target) {
      if (auto v = to_int(value)) target = *v;
    };
    if (key == "name") c.name = value;
    else if (key == "description") c.description = value;
    else if (key == "persistent") flag(c.persistent);
    else if (key == "public") flag(c.public_room);
    else if (key == "members_only") flag(c.members_only);
    else if (key == "moderated") flag(c.moderated);
    else if (key == "password_protected") flag(c.password_protected);
    else if (key == "password") c.password = value;
    else if (key == "whois") c.whois = value;
    else if (key == "max_users") number(c.max_users);
    else if (key == "allow_invites") flag(c.allow_invites);
    else if (key == "allow_pm") c.allow_pm = value;
    else if (key == "change_subject") flag(c.change_subject);
    else if (key == "history_length") number(c.history_length);
    else if (key == "occupant_id_secret") c.occupant_id_secret = value;
    else if (key == "vcard") c.vcard = value;
  }
  return c;
}

xml::Element config_form(const RoomConfig& c, int64_t service_max_users,
                         int64_t service_max_history) {
  xml::Element x("x", std::string(kDataForms));
  x.set_attr("type", "form");
  x.add_child("title", std::string(kDataForms)).add_text("Room configuration");
  add_value(add_field(x, "FORM_TYPE", "hidden", ""), std::string(kRoomConfig));
  add_value(add_field(x, "muc#roomconfig_roomname", "text-single", "Name"), c.name);
  add_value(add_field(x, "muc#roomconfig_roomdesc", "text-single", "Description"),
            c.description);
  add_value(add_field(x, "muc#roomconfig_persistentroom", "boolean", "Persistent"),
            b(c.persistent));
  add_value(add_field(x, "muc#roomconfig_publicroom", "boolean", "Listed in the directory"),
            b(c.public_room));
  add_value(add_field(x, "muc#roomconfig_membersonly", "boolean", "Members only"),
            b(c.members_only));
  add_value(add_field(x, "muc#roomconfig_moderatedroom", "boolean", "Moderated"),
            b(c.moderated));
  add_value(
      add_field(x, "muc#roomconfig_passwordprotectedroom", "boolean", "Password protected"),
      b(c.password_protected));
  add_value(add_field(x, "muc#roomconfig_roomsecret", "text-private", "Password"), c.password);
  {
    xml::Element& f = add_field(x, "muc#roomconfig_whois", "list-single", "Who may see real JIDs");
    add_value(f, c.whois);
    add_option(f, "Moderators only", "moderators");
    add_option(f, "Anyone", "anyone");
  }
  {
    xml::Element& f = add_field(x, "muc#roomconfig_maxusers", "list-single",
                                "Maximum number of occupants and members");
    add_value(f, std::to_string(c.max_users ? c.max_users : service_max_users));
    for (int64_t n : {10, 20, 30, 50, 100, 256, 500, 1000})
      if (n < service_max_users) add_option(f, std::to_string(n), std::to_string(n));
    add_option(f, std::to_string(service_max_users), std::to_string(service_max_users));
  }
  add_value(add_field(x, "muc#roomconfig_allowinvites", "boolean", "Occupants may invite"),
            b(c.allow_invites));
  {
    xml::Element& f =
        add_field(x, "muc#roomconfig_allowpm", "list-single", "Who may send private messages");
    add_value(f, c.allow_pm);
    for (const char* v : {"anyone", "participants", "moderators", "none"}) add_option(f, v, v);
  }
  add_value(add_field(x, "muc#roomconfig_changesubject", "boolean", "Occupants may change the subject"),
            b(c.change_subject));
  {
    xml::Element& f = add_field(x, "muc#maxhistoryfetch", "text-single",
                                "Messages kept for history on join (at most " +
                                    std::to_string(service_max_history) + ")");
    add_value(f, std::to_string(c.history_length));
  }
  return x;
}

std::optional<StanzaError> apply_form(const xml::Element& form, RoomConfig& config,
                                      int64_t service_max_users, int64_t service_max_history) {
  RoomConfig c = config;
  for (const xml::Element* field : form.children("field", kDataForms)) {
    const std::string var = field->attr_or("var");
    std::vector<std::string> values;
    for (const xml::Element* v : field->children("value", kDataForms)) values.push_back(v->text());
    const std::string value = values.empty() ? std::string() : values.front();
    auto flag = [&](bool& target) -> std::optional<StanzaError> {
      auto v = to_bool(value);
      if (!v) return StanzaError::bad_request(var + " is a boolean");
      target = *v;
      return std::nullopt;
    };
    std::optional<StanzaError> err;
    if (var == "FORM_TYPE") {
      if (value != kRoomConfig) return StanzaError::bad_request("FORM_TYPE must be " + std::string(kRoomConfig));
    } else if (var == "muc#roomconfig_roomname") {
      c.name = value;
    } else if (var == "muc#roomconfig_roomdesc") {
      c.description = value;
    } else if (var == "muc#roomconfig_persistentroom") {
      err = flag(c.persistent);
    } else if (var == "muc#roomconfig_publicroom") {
      err = flag(c.public_room);
    } else if (var == "muc#roomconfig_membersonly") {
      err = flag(c.members_only);
    } else if (var == "muc#roomconfig_moderatedroom") {
      err = flag(c.moderated);
    } else if (var == "muc#roomconfig_passwordprotectedroom") {
      err = flag(c.password_protected);
    } else if (var == "muc#roomconfig_roomsecret") {
      c.password = value;
    } else if (var == "muc#roomconfig_whois") {
      if (value != "anyone" && value != "moderators")
        return StanzaError::not_acceptable("muc#roomconfig_whois is anyone or moderators");
      c.whois = value;
    } else if (var == "muc#roomconfig_maxusers") {
      if (value == "none" || value.empty()) {
        c.max_users = 0;
      } else {
        auto n = to_int(value);
        if (!n || *n < 1 || *n > service_max_users)
          return StanzaError::not_acceptable("muc#roomconfig_maxusers must be 1.." +
                                             std::to_string(service_max_users));
        c.max_users = *n == service_max_users ? 0 : *n;
      }
    } else if (var == "muc#roomconfig_allowinvites") {
      err = flag(c.allow_invites);
    } else if (var == "muc#roomconfig_allowpm") {
      if (value != "anyone" && value != "participants" && value != "moderators" && value != "none")
        return StanzaError::not_acceptable("muc#roomconfig_allowpm: anyone, participants, moderators or none");
      c.allow_pm = value;
    } else if (var == "muc#roomconfig_changesubject") {
      err = flag(c.change_subject);
    } else if (var == "muc#maxhistoryfetch" || var == "muc#roomconfig_historylength") {
      auto n = to_int(value);
      if (!n || *n < 0 || *n > service_max_history)
        return StanzaError::not_acceptable(var + " must be 0.." + std::to_string(service_max_history));
      c.history_length = *n;
    }
    if (err) return err;
  }
  if (c.password_protected && c.password.empty())
    return StanzaError::not_acceptable("a password-protected room needs muc#roomconfig_roomsecret");
  if (!c.password_protected) c.password.clear();
  config = std::move(c);
  return std::nullopt;
}

}  // namespace parley::muc

#include "xmpp/stanza.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <ctime>
#include <fmt/format.h>

#include "xmpp/namespaces.hpp"

namespace parley {

StanzaKind stanza_kind(const xml::Element& el) {
  if (el.xmlns() != ns::client && el.xmlns() != ns::server) return StanzaKind::Other;
  if (el.name() == "message") return StanzaKind::Message;
  if (el.name() == "presence") return StanzaKind::Presence;
  if (el.name() == "iq") return StanzaKind::Iq;
  return StanzaKind::Other;
}

std::string_view to_string(ErrorType t) {
  switch (t) {
    case ErrorType::Auth: return "auth";
    case ErrorType::Cancel: return "cancel";
    case ErrorType::Continue: return "continue";
    case ErrorType::Modify: return "modify";
    case ErrorType::Wait: return "wait";
  }
  return "cancel";
}

xml::Element make_error_element(const StanzaError& error) {
  xml::Element err("error", std::string(ns::client));
  err.set_attr("type", std::string(to_string(error.type)));
  err.add_child(error.condition, std::string(ns::stanza_errors));
  if (!error.text.empty()) {
    err.add_child("text", std::string(ns::stanza_errors)).add_text(error.text);
  }
  if (error.application) err.add_child(*error.application);
  return err;
}

bool is_error(const xml::Element& stanza) { return stanza.attr_or("type") == "error"; }

xml::Element error_reply(const xml::Element& stanza, const StanzaError& error) {
  xml::Element reply(stanza.name(), stanza.xmlns());
  for (const auto& a : stanza.attributes()) {
    if (a.name == "to" || a.name == "from" || a.name == "type") continue;
    reply.set_attr(a.name, a.value);
  }
  if (const auto* from = stanza.attr("from")) reply.set_attr("to", *from);
  if (const auto* to = stanza.attr("to")) reply.set_attr("from", *to);
  reply.set_attr("type", "error");
  if (stanza.name() != "iq") {
    for (const auto& n : stanza.nodes())
      if (n.element && n.element->name() != "error") reply.add_child(*n.element);
  }
  reply.add_child(make_error_element(error));
  return reply;
}

xml::Element iq_result(const xml::Element& iq) {
  xml::Element reply("iq", iq.xmlns().empty() ? std::string(ns::client) : iq.xmlns());
  reply.set_attr("type", "result");
  reply.set_attr("id", iq.attr_or("id"));
  if (const auto* from = iq.attr("from")) reply.set_attr("to", *from);
  if (const auto* to = iq.attr("to")) reply.set_attr("from", *to);
  return reply;
}

static xml::Element make_stanza(std::string_view name, std::string_view type, std::string_view from,
                                std::string_view to) {
  xml::Element el(std::string(name), std::string(ns::client));
  if (!type.empty()) el.set_attr("type", std::string(type));
  if (!from.empty()) el.set_attr("from", std::string(from));
  if (!to.empty()) el.set_attr("to", std::string(to));
  return el;
}

xml::Element make_iq(std::string_view type, std::string_view id, std::string_view from,
                     std::string_view to) {
  xml::Element el = make_stanza("iq", type, from, to);
  el.set_attr("id", std::string(id));
  return el;
}

xml::Element make_message(std::string_view type, std::string_view from, std::string_view to) {
  return make_stanza("message", type, from, to);
}

xml::Element make_presence(std::string_view type, std::string_view from, std::string_view to) {
  return make_stanza("presence", type, from, to);
}

std::optional<Jid> attr_jid(const xml::Element& el, std::string_view name) {
  const std::string* v = el.attr(name);
  if (!v) return std::nullopt;
  return Jid::parse(*v);
}

std::string xep0082_format(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto secs = time_point_cast<seconds>(t);
  auto ms = duration_cast<milliseconds>(t - secs).count();
  std::time_t tt = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

std::string xep0082_now() { return xep0082_format(std::chrono::system_clock::now()); }

std::string random_id(size_t bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  std::string out;
  out.reserve(bytes * 4 / 3 + 2);
  for (unsigned char c : raw) out.push_back(alphabet[c & 63]);
  return out;
}

}  // namespace parley

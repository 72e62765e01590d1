// Private XML storage (XEP-0049, jabber:iq:private). Each child element of a
// set is stored under its qualified name "{namespace}name" in the key/value
// store ("private"); a get returns the stored element, or the requested empty
// element when nothing is stored. Only the account itself may read or write
// its private data: anyone else gets <forbidden/> (XEP-0049 §2.3).
#include "modules/private/private_rules.hpp"
#include "storage/store.hpp"
#include "xmpp/module.hpp"
#include "xmpp/xml/fragment.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley {
namespace {

namespace asio = boost::asio;

constexpr const char* kStore = "private";

class PrivateModule final : public Module {
 public:
  static ModuleInfo info() {
    return {"private", "Stores private XML for clients (bookmarks, preferences)", {"XEP-0049"},
            true};
  }
  static void declare_options(config::OptionSchema& s) {
    s.add_int("max_bytes", 64 * 1024, 256, 16 * 1024 * 1024,
              "Largest private XML element an account may store, in bytes of serialized XML; a "
              "larger one is refused with <not-acceptable/>.");
  }

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    max_bytes_ = static_cast<size_t>(ctx.options().get_int("max_bytes"));
    ctx.add_feature(std::string(private_xml::kNs));
    const IqScope scopes = IqScope::Self | IqScope::Bare;
    ctx.on_iq(IqType::Get, scopes, "query", std::string(private_xml::kNs),
              [this](IqRequest r) { return get(std::move(r)); });
    ctx.on_iq(IqType::Set, scopes, "query", std::string(private_xml::kNs),
              [this](IqRequest r) { return set(std::move(r)); });
  }

 private:
  asio::awaitable<IqResult> get(IqRequest r) {
    if (r.scope != IqScope::Self) co_return IqResult::fail(StanzaError::forbidden());
    if (auto error = private_xml::check_query(r.payload())) co_return IqResult::fail(*error);
    const Jid owner = r.to.bare();
    const storage::AccountKey account{owner.domain(), owner.local()};
    std::vector<std::string> keys;
    for (const xml::Element* child : r.payload().element_children())
      keys.push_back(private_xml::key_of(*child));
    auto stored = co_await ctx_->pool().run([this, &account, &keys] {
      std::vector<std::optional<std::string>> out;
      for (const auto& k : keys) out.push_back(ctx_->storage().keyval().get(account, kStore, k));
      return out;
    });
    xml::Element query("query", std::string(private_xml::kNs));
    size_t i = 0;
    for (const xml::Element* child : r.payload().element_children()) {
      std::optional<xml::Element> el;
      if (stored[i]) {
        xml::ParserLimits limits;
        limits.max_stanza_bytes = std::max(limits.max_stanza_bytes, stored[i]->size() + 1);
        el = xml::parse_fragment(*stored[i], limits);
        if (!el) ctx_->log().warn("unreadable private XML {} of {}", keys[i], owner.bare_str());
      }
      query.add_child(el ? std::move(*el) : xml::Element(child->name(), child->xmlns()));
      ++i;
    }
    co_return IqResult::ok(std::move(query));
  }

  asio::awaitable<IqResult> set(IqRequest r) {
    if (r.scope != IqScope::Self) co_return IqResult::fail(StanzaError::forbidden());
    if (auto error = private_xml::check_query(r.payload())) co_return IqResult::fail(*error);
    std::vector<std::pair<std::string, std::string>> items;
    for (const xml::Element* child : r.payload().element_children()) {
      std::string serialized = xml::serialize(*child);
      if (serialized.size() > max_bytes_)
        co_return IqResult::fail(StanzaError::not_acceptable(
            "private XML is limited to " + std::to_string(max_bytes_) + " bytes per element"));
      items.emplace_back(private_xml::key_of(*child), std::move(serialized));
    }
    const Jid owner = r.to.bare();
    const storage::AccountKey account{owner.domain(), owner.local()};
    co_await ctx_->pool().run([this, &account, &items] {
      for (const auto& [key, value] : items) ctx_->storage().keyval().put(account, kStore, key, value);
    });
    co_return IqResult::ok();
  }

  ModuleContext* ctx_ = nullptr;
  size_t max_bytes_ = 0;
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::PrivateModule)

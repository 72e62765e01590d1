// vcard-temp (XEP-0054). Anyone may read a local account's vCard (it is a
// public profile); only the account itself may change it. An account without
// a vCard has an empty <vCard/>. The vCard is kept as serialized XML in the
// key/value store ("vcard", "") and parsed back with the restricted parser.
#include <algorithm>

#include "storage/store.hpp"
#include "xmpp/module.hpp"
#include "xmpp/xml/fragment.hpp"
#include "xmpp/xml/serializer.hpp"

namespace parley {
namespace {

namespace asio = boost::asio;

constexpr const char* kVcardNs = "vcard-temp";
constexpr const char* kStore = "vcard";

class VcardModule final : public Module {
 public:
  static ModuleInfo info() {
    return {"vcard", "Stores and serves user profiles (vCards)", {"XEP-0054"}, true};
  }
  static void declare_options(config::OptionSchema& s) {
    s.add_int("max_bytes", 64 * 1024, 256, 16 * 1024 * 1024,
              "Largest vCard an account may store, in bytes of serialized XML (avatars "
              "included); a larger one is refused with <not-acceptable/>.");
  }

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    max_bytes_ = static_cast<size_t>(ctx.options().get_int("max_bytes"));
    ctx.add_feature(kVcardNs);
    ctx.on_iq(IqType::Get, IqScope::Self | IqScope::Bare, "vCard", kVcardNs,
              [this](IqRequest r) { return get(std::move(r)); });
    ctx.on_iq(IqType::Set, IqScope::Self | IqScope::Bare, "vCard", kVcardNs,
              [this](IqRequest r) { return set(std::move(r)); });
  }

 private:
  asio::awaitable<IqResult> get(IqRequest r) {
    const Jid owner = r.to.bare();
    const storage::AccountKey key{owner.domain(), owner.local()};
    const bool check_exists = r.scope == IqScope::Bare;
    auto stored = co_await ctx_->pool().run(
        [this, &key, &owner, check_exists]() -> std::optional<std::optional<std::string>> {
          if (check_exists && !ctx_->core().accounts().exists(owner)) return std::nullopt;
          return ctx_->storage().keyval().get(key, kStore, "");
        });
    if (!stored) co_return IqResult::fail(StanzaError::service_unavailable());
    if (*stored) {
      xml::ParserLimits limits;
      limits.max_stanza_bytes = std::max(limits.max_stanza_bytes, (*stored)->size() + 1);
      auto el = xml::parse_fragment(**stored, limits);
      if (el && el->is("vCard", kVcardNs)) co_return IqResult::ok(std::move(*el));
      ctx_->log().warn("unreadable stored vCard of {}", owner.bare_str());
    }
    co_return IqResult::ok(xml::Element("vCard", kVcardNs));
  }

  asio::awaitable<IqResult> set(IqRequest r) {
    if (r.scope != IqScope::Self) co_return IqResult::fail(StanzaError::forbidden());
    const Jid owner = r.to.bare();
    const storage::AccountKey key{owner.domain(), owner.local()};
    const xml::Element& vcard = r.payload();
    if (vcard.element_count() == 0) {
      co_await ctx_->pool().run([this, &key] { ctx_->storage().keyval().remove(key, kStore, ""); });
      co_return IqResult::ok();
    }
    std::string serialized = xml::serialize(vcard);
    if (serialized.size() > max_bytes_)
      co_return IqResult::fail(StanzaError::not_acceptable(
          "the vCard is larger than " + std::to_string(max_bytes_) + " bytes"));
    co_await ctx_->pool().run([this, &key, &serialized] {
      ctx_->storage().keyval().put(key, kStore, "", serialized);
    });
    co_return IqResult::ok();
  }

  ModuleContext* ctx_ = nullptr;
  size_t max_bytes_ = 0;
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::VcardModule)

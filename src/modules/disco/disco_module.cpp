// Service discovery (XEP-0030) and the server's entity capabilities
// (XEP-0115). The host's identities and features are the tracked registrations
// of every module (host.disco()); accounts and nodes are answered through the
// DiscoInfoQuery / DiscoItemsQuery fold events.
//
// Accounts: the server answers disco#info and disco#items sent to a bare JID
// on the account's behalf (XEP-0030 §3.1, RFC 6121 §8.5.1) with the identity
// account/registered plus whatever modules add (PEP, ...). For another user's
// JID it first checks that the account exists and answers
// <service-unavailable/> otherwise, exactly as for any other IQ to a missing
// account, so disco reveals no more about existence than a message bounce.
#include "modules/disco/caps.hpp"
#include "xmpp/events.hpp"
#include "xmpp/module.hpp"
#include "xmpp/namespaces.hpp"

namespace parley {
namespace {

namespace asio = boost::asio;

class DiscoModule final : public Module {
 public:
  static ModuleInfo info() {
    return {"disco", "Service discovery for the server and its accounts, entity capabilities",
            {"XEP-0030", "XEP-0115"}, true};
  }
  static void declare_options(config::OptionSchema& s) {
    s.add_string("name", "Parley", "Name of the server identity (server/im) in disco#info.");
  }

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    ctx.add_identity({"server", "im", ctx.options().get_string("name")});
    ctx.add_feature(std::string(ns::disco_info));
    ctx.add_feature(std::string(ns::disco_items));

    ctx.on_iq(IqType::Get, IqScope::Host, "query", std::string(ns::disco_info),
              [this](IqRequest r) { return host_info(std::move(r)); });
    ctx.on_iq(IqType::Get, IqScope::Host, "query", std::string(ns::disco_items),
              [this](IqRequest r) { return host_items(std::move(r)); });
    ctx.on_iq(IqType::Get, IqScope::Self | IqScope::Bare, "query", std::string(ns::disco_info),
              [this](IqRequest r) { return account_info(std::move(r)); });
    ctx.on_iq(IqType::Get, IqScope::Self | IqScope::Bare, "query", std::string(ns::disco_items),
              [this](IqRequest r) { return account_items(std::move(r)); });

    ctx.on<StreamFeaturesAuthenticated>(Stage::Process, [this](StreamFeaturesAuthenticated& ev) {
      ev.features.add_child(disco::caps_element(ctx_->host().disco().caps_hash()));
      return Flow::Continue;
    });
  }

 private:
  static xml::Element reply_query(const IqRequest& r) {
    xml::Element query("query", r.payload().xmlns());
    const std::string node = r.payload().attr_or("node");
    if (!node.empty()) query.set_attr("node", node);
    return query;
  }

  asio::awaitable<IqResult> host_info(IqRequest r) {
    xml::Element query = reply_query(r);
    const std::string node = r.payload().attr_or("node");
    const DiscoRegistry& registry = ctx_->host().disco();
    if (node.empty() || node == disco::caps_node_ver(registry.caps_hash())) {
      registry.fill(query);
      co_return IqResult::ok(std::move(query));
    }
    DiscoInfoQuery event{ctx_->host(), r.from, r.to, node, query};
    ctx_->host().hooks().run(event);
    if (!event.handled) co_return IqResult::fail(StanzaError::item_not_found());
    co_return IqResult::ok(std::move(query));
  }

  asio::awaitable<IqResult> host_items(IqRequest r) {
    xml::Element query = reply_query(r);
    const std::string node = r.payload().attr_or("node");
    DiscoItemsQuery event{ctx_->host(), r.from, r.to, node, query};
    ctx_->host().hooks().run(event);
    if (!event.handled && !node.empty()) co_return IqResult::fail(StanzaError::item_not_found());
    co_return IqResult::ok(std::move(query));
  }

  asio::awaitable<bool> account_exists(const IqRequest& r) {
    if (r.scope == IqScope::Self) co_return true;
    const Jid target = r.to.bare();
    co_return co_await ctx_->pool().run([this, &target] { return ctx_->core().accounts().exists(target); });
  }

  asio::awaitable<IqResult> account_info(IqRequest r) {
    if (!co_await account_exists(r)) co_return IqResult::fail(StanzaError::service_unavailable());
    xml::Element query = reply_query(r);
    const std::string node = r.payload().attr_or("node");
    const Jid target = r.to.bare();
    if (node.empty()) {
      query.add_child("identity", std::string(ns::disco_info))
          .with_attr("category", "account")
          .with_attr("type", "registered");
      query.add_child("feature", std::string(ns::disco_info))
          .set_attr("var", std::string(ns::disco_info));
      query.add_child("feature", std::string(ns::disco_info))
          .set_attr("var", std::string(ns::disco_items));
    }
    DiscoInfoQuery event{ctx_->host(), r.from, target, node, query};
    ctx_->host().hooks().run(event);
    if (!node.empty() && !event.handled) co_return IqResult::fail(StanzaError::item_not_found());
    co_return IqResult::ok(std::move(query));
  }

  asio::awaitable<IqResult> account_items(IqRequest r) {
    if (!co_await account_exists(r)) co_return IqResult::fail(StanzaError::service_unavailable());
    xml::Element query = reply_query(r);
    const std::string node = r.payload().attr_or("node");
    const Jid target = r.to.bare();
    DiscoItemsQuery event{ctx_->host(), r.from, target, node, query};
    ctx_->host().hooks().run(event);
    if (!node.empty() && !event.handled) co_return IqResult::fail(StanzaError::item_not_found());
    co_return IqResult::ok(std::move(query));
  }

  ModuleContext* ctx_ = nullptr;
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::DiscoModule)

// In-Band Registration (XEP-0077).
//
// Before authentication (UnauthenticatedIq from the c2s stream, TLS already
// enforced): the registration form (get) and account creation (set with
// username and password), only from `allow_from` addresses and at most
// `registrations_per_hour` accounts per address.
//
// After authentication (IQ to the server or to one's own JID): get shows
// <registered/> and the username; set with <remove/> deletes the account
// (AccountDeleted is fired, then every session of the account is closed with
// <not-authorized/> after the result was sent, XEP-0077 §3.2); set with
// username and password changes the password (new SCRAM-SHA-1 and
// SCRAM-SHA-256 credentials).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>

#include "modules/register/register_policy.hpp"
#include "storage/store.hpp"
#include "xmpp/events.hpp"
#include "xmpp/module.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley {
namespace {

namespace asio = boost::asio;

constexpr const char* kRegisterNs = "jabber:iq:register";

StanzaError form_error(registration::FormError e) {
  switch (e) {
    case registration::FormError::MissingField:
      return StanzaError::not_acceptable("a username and a password are required");
    case registration::FormError::BadUsername:
      return StanzaError::not_acceptable("the username is not a valid JID localpart");
    case registration::FormError::BadPassword:
      return StanzaError::not_acceptable("the password is empty or contains invalid characters");
    case registration::FormError::None: break;
  }
  return StanzaError::bad_request();
}

class RegisterModule final : public Module {
 public:
  static ModuleInfo info() {
    return {"register",
            "In-band account registration, password change and account removal",
            {"XEP-0077"},
            true};
  }
  static void declare_options(config::OptionSchema& s) {
    s.add_string_list("allow_from", {"127.0.0.1", "::1"},
                      "Addresses or CIDR ranges (\"10.0.0.0/8\") that may create accounts "
                      "in-band before logging in; \"*\" allows every address. Password change "
                      "and account removal by logged-in users are always allowed.");
    s.add_int("registrations_per_hour", 5, 0, 1000000,
              "Accounts one address may create in-band per sliding hour, allow-listed "
              "addresses included; 0 = no limit.");
  }

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    try {
      allow_ = std::make_unique<registration::AddressList>(ctx.options().get_list("allow_from"));
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error("modules.register.allow_from: " + std::string(e.what()));
    }
    limiter_ = std::make_unique<registration::RateLimiter>(
        static_cast<size_t>(ctx.options().get_int("registrations_per_hour")));
    iterations_ = static_cast<uint32_t>(ctx.config().scram_iterations);

    ctx.add_feature(kRegisterNs);
    // XEP-0077 §4: advertise sign-up only to addresses that may use it.
    ctx.on<StreamFeaturesUnauthenticated>(Stage::Process, [this](StreamFeaturesUnauthenticated& ev) {
      if (allow_->contains(ev.session.remote_address()))
        ev.features.add_child("register", "http://jabber.org/features/iq-register");
      return Flow::Continue;
    });
    ctx.on<UnauthenticatedIq>(Stage::Process, [this](UnauthenticatedIq& ev) {
      return on_unauthenticated(ev);
    });
    ctx.on_iq(IqType::Get, IqScope::Host | IqScope::Self, "query", kRegisterNs,
              [this](IqRequest r) { return registered_get(std::move(r)); });
    ctx.on_iq(IqType::Set, IqScope::Host | IqScope::Self, "query", kRegisterNs,
              [this](IqRequest r) { return registered_set(std::move(r)); });
  }

 private:
  // ---- before authentication ----

  Flow on_unauthenticated(UnauthenticatedIq& ev) {
    if (!ev.stanza.child("query", kRegisterNs)) return Flow::Continue;
    ev.handled = true;
    const std::string type = ev.stanza.attr_or("type");
    if (type == "result" || type == "error") return Flow::Stop;
    if (!ev.stanza.has_attr("id") || (type != "get" && type != "set")) {
      ev.reply(error_reply(ev.stanza, StanzaError::bad_request("an iq get or set with an id")));
      return Flow::Stop;
    }
    if (!allow_->contains(ev.session.remote_address())) {
      ev.reply(error_reply(ev.stanza, StanzaError::not_allowed(
                                          "in-band registration is not offered to your address")));
      return Flow::Stop;
    }
    if (type == "get") {
      xml::Element reply = iq_result(ev.stanza);
      auto& query = reply.add_child("query", kRegisterNs);
      query.add_child("instructions", kRegisterNs)
          .add_text("Choose a username and password to register with this server.");
      query.add_child("username", kRegisterNs);
      query.add_child("password", kRegisterNs);
      ev.reply(std::move(reply));
      return Flow::Stop;
    }
    asio::co_spawn(ev.executor,
                   create_account(ev.stanza, ev.host, ev.session.remote_address(), ev.reply),
                   asio::detached);
    return Flow::Stop;
  }

  asio::awaitable<void> create_account(xml::Element iq, std::string host, std::string address,
                                       std::function<void(xml::Element)> reply) {
    const xml::Element& query = *iq.child("query", kRegisterNs);
    if (query.child("remove", kRegisterNs)) {
      reply(error_reply(iq, StanzaError::not_authorized()));
      co_return;
    }
    registration::Credentials creds;
    auto err = registration::parse_form(query.child_text("username", kRegisterNs),
                                        query.child_text("password", kRegisterNs), creds);
    if (err != registration::FormError::None) {
      reply(error_reply(iq, form_error(err)));
      co_return;
    }
    const auto normalized = registration::normalize_address(address);
    const std::string limiter_key = normalized ? normalized->to_string() : address;
    if (!limiter_->try_acquire(limiter_key)) {
      reply(error_reply(iq, StanzaError::resource_constraint(
                                "too many registrations from your address, try again later")));
      co_return;
    }
    bool created = false;
    try {
      created = co_await ctx_->pool().run([this, &host, &creds] {
        storage::Account account;
        account.key = {host, creds.username};
        account.created = storage::Clock::now();
        account.credentials = make_credentials(creds.password);
        return ctx_->storage().accounts().create(account);
      });
    } catch (const std::exception& e) {
      limiter_->release(limiter_key);
      ctx_->log().warn("in-band registration of {}@{} failed: {}", creds.username, host, e.what());
      reply(error_reply(iq, {ErrorType::Wait, "internal-server-error", {}, {}}));
      co_return;
    }
    if (!created) {
      limiter_->release(limiter_key);
      reply(error_reply(iq, StanzaError::conflict()));
      co_return;
    }
    ctx_->log().info("account {}@{} registered in-band from {}", creds.username, host, address);
    reply(iq_result(iq));
  }

  std::vector<sasl::ScramCredential> make_credentials(const std::string& prepared_password) const {
    return {sasl::make_credential(sasl::Hash::Sha256, prepared_password, iterations_),
            sasl::make_credential(sasl::Hash::Sha1, prepared_password, iterations_)};
  }

  // ---- after authentication ----

  // The local account the request is about, or nullopt for senders that are
  // not accounts of this host (remote users asking the server).
  std::optional<Jid> own_account(const IqRequest& r) const {
    if (r.from.domain() != ctx_->domain() || r.from.local().empty()) return std::nullopt;
    return r.from.bare();
  }

  asio::awaitable<IqResult> registered_get(IqRequest r) {
    auto account = own_account(r);
    if (!account) co_return IqResult::fail(StanzaError::not_allowed());
    xml::Element query("query", kRegisterNs);
    query.add_child("registered", kRegisterNs);
    query.add_child("username", kRegisterNs).add_text(account->local());
    co_return IqResult::ok(std::move(query));
  }

  asio::awaitable<IqResult> registered_set(IqRequest r) {
    auto account = own_account(r);
    if (!account) co_return IqResult::fail(StanzaError::not_allowed());
    const xml::Element& query = r.payload();
    if (query.child("remove", kRegisterNs)) co_return co_await remove_account(*account);

    registration::Credentials creds;
    auto err = registration::parse_form(query.child_text("username", kRegisterNs),
                                        query.child_text("password", kRegisterNs), creds);
    if (err != registration::FormError::None) co_return IqResult::fail(form_error(err));
    if (creds.username != account->local())
      co_return IqResult::fail(StanzaError::bad_request("the username must be your own"));
    const storage::AccountKey key{account->domain(), account->local()};
    const bool changed = co_await ctx_->pool().run([this, &key, &creds] {
      return ctx_->storage().accounts().set_credentials(key, make_credentials(creds.password));
    });
    if (!changed) co_return IqResult::fail(StanzaError::item_not_found());
    ctx_->log().info("password of {} changed in-band", account->bare_str());
    co_return IqResult::ok();
  }

  asio::awaitable<IqResult> remove_account(Jid account) {
    const storage::AccountKey key{account.domain(), account.local()};
    const bool removed =
        co_await ctx_->pool().run([this, &key] { return ctx_->storage().accounts().remove(key); });
    if (!removed) co_return IqResult::fail(StanzaError::item_not_found());
    ctx_->log().info("account {} removed in-band", account.bare_str());
    AccountDeleted event{ctx_->host(), account};
    ctx_->host().hooks().run(event);
    // Posted, so that each close runs after the result below was queued on
    // the requesting session (this coroutine runs on its executor).
    for (const auto& e : ctx_->router().sessions_of(account))
      asio::post(e.session->executor(), [s = e.session] {
        s->close(StreamErrorCondition::NotAuthorized, "the account was removed");
      });
    co_return IqResult::ok();
  }

  ModuleContext* ctx_ = nullptr;
  std::unique_ptr<registration::AddressList> allow_;
  std::unique_ptr<registration::RateLimiter> limiter_;
  uint32_t iterations_ = 4096;
};

}  // namespace
}  // namespace parley

PARLEY_REGISTER_MODULE(parley::RegisterModule)

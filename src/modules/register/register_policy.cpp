#include "modules/register/register_policy.hpp"

#include <charconv>
#include <stdexcept>

#include "xmpp/jid.hpp"
#include "xmpp/sasl/scram.hpp"

namespace parley::registration {

namespace ip = boost::asio::ip;

std::optional<ip::address> normalize_address(std::string_view text) {
  boost::system::error_code ec;
  ip::address a = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

namespace {

std::vector<unsigned char> bytes_of(const ip::address& a) {
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    return {b.begin(), b.end()};
  }
  auto b = a.to_v6().to_bytes();
  return {b.begin(), b.end()};
}

bool prefix_equal(const ip::address& a, const ip::address& b, unsigned prefix) {
  if (a.is_v4() != b.is_v4()) return false;
  const auto x = bytes_of(a), y = bytes_of(b);
  for (size_t i = 0; i < x.size() && prefix > 0; ++i) {
    const unsigned bits = prefix >= 8 ? 8 : prefix;
    const unsigned char mask = static_cast<unsigned char>(0xFF << (8 - bits));
    if ((x[i] & mask) != (y[i] & mask)) return false;
    prefix -= bits;
  }
  return true;
}

}  // namespace

AddressList::AddressList(const std::vector<std::string>& entries) {
  for (const auto& entry : entries) {
    if (entry == "*") {
      any_ = true;
      continue;
    }
    const size_t slash = entry.find('/');
    auto base = normalize_address(std::string_view(entry).substr(0, slash));
    if (!base) throw std::invalid_argument("'" + entry + "' is not an IP address or range");
    unsigned prefix = base->is_v4() ? 32 : 128;
    if (slash != std::string::npos) {
      const char* first = entry.data() + slash + 1;
      const char* last = entry.data() + entry.size();
      unsigned p = 0;
      auto [end, ec] = std::from_chars(first, last, p);
      if (ec != std::errc() || end != last || first == last || p > prefix)
        throw std::invalid_argument("'" + entry + "' has a bad prefix length");
      prefix = p;
    }
    ranges_.push_back({*base, prefix});
  }
}

bool AddressList::contains(std::string_view address) const {
  if (any_) return true;
  auto a = normalize_address(address);
  if (!a) return false;
  for (const auto& r : ranges_)
    if (prefix_equal(*a, r.base, r.prefix)) return true;
  return false;
}

bool RateLimiter::try_acquire(const std::string& address, Clock::time_point now) {
  if (per_hour_ == 0) return true;
  std::lock_guard lock(mutex_);
  auto& times = taken_[address];
  while (!times.empty() && now - times.front() >= std::chrono::hours(1)) times.pop_front();
  if (times.size() >= per_hour_) return false;
  times.push_back(now);
  // Forget addresses that are quiet again, so the table stays small.
  if (taken_.size() > 4096)
    std::erase_if(taken_, [now](const auto& kv) {
      return kv.second.empty() || now - kv.second.back() >= std::chrono::hours(1);
    });
  return true;
}

void RateLimiter::release(const std::string& address) {
  if (per_hour_ == 0) return;
  std::lock_guard lock(mutex_);
  auto it = taken_.find(address);
  if (it == taken_.end() || it->second.empty()) return;
  it->second.pop_back();
  if (it->second.empty()) taken_.erase(it);
}

FormError parse_form(std::string_view username, std::string_view password, Credentials& out) {
  if (username.empty() || password.empty()) return FormError::MissingField;
  auto user = Jid::prep_local(username);
  if (!user) return FormError::BadUsername;
  auto pass = sasl::prep_password(password);
  if (!pass || pass->empty()) return FormError::BadPassword;
  out.username = std::move(*user);
  out.password = std::move(*pass);
  return FormError::None;
}

}  // namespace parley::registration

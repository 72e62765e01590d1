#pragma once
// Who may register in-band and how often: pure logic, unit-tested in
// tests/unit/modules/register.
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace parley::registration {

// An allow-list of addresses: "*" (everyone), a single address ("127.0.0.1",
// "::1") or a CIDR range ("10.0.0.0/8", "fd00::/8"). IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d) match their IPv4 form.
class AddressList {
 public:
  // Throws std::invalid_argument naming the first bad entry.
  explicit AddressList(const std::vector<std::string>& entries);
  bool contains(std::string_view address) const;

 private:
  struct Range {
    boost::asio::ip::address base;
    unsigned prefix = 0;
  };
  bool any_ = false;
  std::vector<Range> ranges_;
};

// The address as the allow-list sees it (IPv4-mapped IPv6 -> IPv4), or
// nullopt if it is not an IP address.
std::optional<boost::asio::ip::address> normalize_address(std::string_view text);

// At most `per_hour` registrations per address in any sliding hour (0 = no
// limit). try_acquire() takes a slot before the account is created; release()
// gives it back when the creation failed (e.g. the name was taken).
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(size_t per_hour) : per_hour_(per_hour) {}
  bool try_acquire(const std::string& address, Clock::time_point now = Clock::now());
  void release(const std::string& address);

 private:
  size_t per_hour_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<Clock::time_point>> taken_;
};

// A registration form after preparation.
struct Credentials {
  std::string username;  // prepared localpart
  std::string password;  // OpaqueString-prepared
};

enum class FormError { None, MissingField, BadUsername, BadPassword };

// Validates <username/> and <password/> of a jabber:iq:register set:
// missing fields, a username that is no valid localpart, or an empty or
// invalid password are refused.
FormError parse_form(std::string_view username, std::string_view password, Credentials& out);

}  // namespace parley::registration

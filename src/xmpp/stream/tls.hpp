#pragma once
// TLS for streams: OpenSSL through Boost.Asio. TLS 1.2 minimum, 1.3 preferred,
// no renegotiation, no compression, strong AEAD suites only. One context per
// configured certificate, picked by SNI; a self-signed certificate for all
// hosts is generated on first start when none is configured.
#include <boost/asio/ssl/context.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "xmpp/config.hpp"
#include "xmpp/sasl/scram.hpp"

typedef struct ssl_st SSL;

namespace parley::tls {

class TlsContexts {
 public:
  // Throws std::runtime_error naming the file on a bad certificate or key.
  TlsContexts(const config::TlsConfig& config, const std::vector<std::string>& hosts,
              const std::string& data_dir);
  boost::asio::ssl::context& default_context() { return *default_; }
  std::shared_ptr<boost::asio::ssl::context> default_context_ptr() { return default_; }
  // Re-reads certificates (SIGHUP). Existing connections keep their context.
  // Throws like the constructor, leaving the current contexts in place.
  void reload();
  // The same with new certificate paths.
  void reload(const config::TlsConfig& config);
  const std::string& certificate_path() const { return default_cert_; }

 private:
  std::shared_ptr<boost::asio::ssl::context> make_context(const std::string& cert,
                                                          const std::string& key);
  void build();
  config::TlsConfig config_;
  std::vector<std::string> hosts_;
  std::string data_dir_, default_cert_, default_key_;
  std::shared_ptr<boost::asio::ssl::context> default_;
};

// Writes a self-signed certificate (EC P-256, SAN = every host) unless the
// files exist already.
void ensure_self_signed(const std::string& cert_path, const std::string& key_path,
                        const std::vector<std::string>& hosts);

// Channel-binding data available on an established TLS connection:
// tls-exporter (RFC 9266, TLS 1.3 or EMS) and tls-server-end-point (RFC 5929).
std::vector<sasl::ChannelBinding> channel_bindings(SSL* ssl);

}  // namespace parley::tls

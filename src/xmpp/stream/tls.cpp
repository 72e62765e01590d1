#include "xmpp/stream/tls.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace parley::tls {

namespace ssl = boost::asio::ssl;

namespace {

// Modern AEAD suites for TLS 1.2 (1.3 suites are all strong).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

int sni_callback(SSL* ssl, int*, void* arg) {
  auto* table = static_cast<std::map<std::string, std::shared_ptr<ssl::context>>*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_OK;
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = table->find(lower);
  if (it != table->end()) SSL_set_SSL_CTX(ssl, it->second->native_handle());
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

void ensure_self_signed(const std::string& cert_path, const std::string& key_path,
                        const std::vector<std::string>& hosts) {
  namespace fs = std::filesystem;
  if (fs::exists(cert_path) && fs::exists(key_path)) return;
  fs::create_directories(fs::path(cert_path).parent_path());

  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (!pkey) throw std::runtime_error("cannot generate a key for the self-signed certificate");
  X509* x509 = X509_new();
  X509_set_version(x509, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x509));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x509), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x509), 60L * 60 * 24 * 825);
  X509_set_pubkey(x509, pkey);
  X509_NAME* name = X509_get_subject_name(x509);
  const std::string cn = hosts.empty() ? "localhost" : hosts.front();
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Parley self-signed"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x509, name);
  std::string san;
  for (const auto& h : hosts) {
    if (!san.empty()) san += ",";
    san += "DNS:" + h + ",DNS:*." + h;
  }
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x509, x509, nullptr, nullptr, 0);
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str())) {
    X509_add_ext(x509, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x509, pkey, EVP_sha256());

  // The key is written 0600 before any byte of it exists on disk.
  FILE* kf = nullptr;
  {
    int fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) kf = fdopen(fd, "w");
  }
  FILE* cf = std::fopen(cert_path.c_str(), "w");
  bool ok = kf && cf && PEM_write_PrivateKey(kf, pkey, nullptr, nullptr, 0, nullptr, nullptr) &&
            PEM_write_X509(cf, x509);
  if (kf) std::fclose(kf);
  if (cf) std::fclose(cf);
  X509_free(x509);
  EVP_PKEY_free(pkey);
  if (!ok) throw std::runtime_error("cannot write the self-signed certificate to " + cert_path);
  spdlog::info("generated a self-signed certificate for {} in {}", san, cert_path);
}

TlsContexts::TlsContexts(const config::TlsConfig& config, const std::vector<std::string>& hosts,
                         const std::string& data_dir)
    : config_(config), hosts_(hosts), data_dir_(data_dir) {
  build();
}

void TlsContexts::build() {
  std::string cert = config_.certificate;
  std::string key = config_.key;
  if (cert.empty()) {
    cert = (std::filesystem::path(data_dir_) / "certs" / "self-signed.crt").string();
    key = (std::filesystem::path(data_dir_) / "certs" / "self-signed.key").string();
    ensure_self_signed(cert, key, hosts_);
  }
  // The SNI table goes with the default context that reads it: a connection
  // accepted before a reload keeps both, so a reload never changes the table
  // under a handshake running on another thread.
  struct WithSniTable {
    std::shared_ptr<ssl::context> context;
    std::map<std::string, std::shared_ptr<ssl::context>> by_domain;
  };
  auto bundle = std::make_shared<WithSniTable>();
  bundle->context = make_context(cert, key);
  for (const auto& [domain, files] : config_.domains)
    bundle->by_domain[domain] = make_context(files.first, files.second);
  SSL_CTX_set_tlsext_servername_callback(bundle->context->native_handle(), sni_callback);
  SSL_CTX_set_tlsext_servername_arg(bundle->context->native_handle(), &bundle->by_domain);
  default_ = std::shared_ptr<ssl::context>(bundle, bundle->context.get());
  default_cert_ = std::move(cert);
  default_key_ = std::move(key);
}

void TlsContexts::reload() {
  build();
}

void TlsContexts::reload(const config::TlsConfig& config) {
  const config::TlsConfig old = config_;
  config_ = config;
  try {
    build();
  } catch (...) {
    config_ = old;
    throw;
  }
}

std::shared_ptr<ssl::context> TlsContexts::make_context(const std::string& cert,
                                                        const std::string& key) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  SSL_CTX_set_cipher_list(native, kTls12Ciphers);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  // Stateful TLS 1.3 tickets are entries in the server's session cache; a
  // client resumes with one, so the second OpenSSL sends by default only
  // costs a cache entry and a record per handshake.
  SSL_CTX_set_num_tickets(native, 1);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert, ec);
  if (ec) throw std::runtime_error("cannot load certificate chain " + cert + ": " + ec.message());
  ctx->use_private_key_file(key, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("cannot load private key " + key + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1)
    throw std::runtime_error("private key " + key + " does not match certificate " + cert);
  return ctx;
}

std::vector<sasl::ChannelBinding> channel_bindings(SSL* ssl) {
  std::vector<sasl::ChannelBinding> out;
  if (!ssl) return out;
  // RFC 9266: only safe with TLS 1.3 or the extended master secret.
  if (SSL_version(ssl) >= TLS1_3_VERSION || SSL_get_extms_support(ssl) == 1) {
    std::string data(32, '\0');
    static constexpr char label[] = "EXPORTER-Channel-Binding";
    if (SSL_export_keying_material(ssl, reinterpret_cast<unsigned char*>(data.data()), data.size(),
                                   label, sizeof label - 1, nullptr, 0, 0) == 1)
      out.push_back({"tls-exporter", std::move(data)});
  }
  // RFC 5929 §4.1: hash of our certificate with its signature hash, SHA-256 for MD5/SHA-1.
  if (X509* cert = SSL_get_certificate(ssl)) {
    int md_nid = NID_undef, pk_nid = NID_undef;
    const EVP_MD* md = EVP_sha256();
    if (OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid, &pk_nid) && md_nid != NID_md5 &&
        md_nid != NID_sha1 && md_nid != NID_undef)
      if (const EVP_MD* sig_md = EVP_get_digestbynid(md_nid)) md = sig_md;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, md, digest, &len) == 1)
      out.push_back({"tls-server-end-point", std::string(reinterpret_cast<char*>(digest), len)});
  }
  return out;
}

}  // namespace parley::tls

#pragma once
// The byte stream under a client session: a TCP socket, with TLS once it is
// started. OpenSSL reads and writes the non-blocking socket itself and the
// coroutines wait for readiness in between. Asio's ssl::stream keeps two
// 17 KiB buffers and a 2 x 17 KiB BIO pair for every connection, idle or not;
// here an idle connection holds only its SSL object (whose record buffers are
// freed between records, SSL_MODE_RELEASE_BUFFERS) and no read buffer: reads
// borrow one from a small per-thread pool only while bytes are in hand.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstddef>
#include <memory>
#include <string_view>

typedef struct ssl_st SSL;

namespace parley {

class Transport {
 public:
  // Bytes read, in a buffer borrowed from the thread's pool until destroyed.
  class Chunk {
   public:
    Chunk() = default;
    Chunk(Chunk&& other) noexcept;
    Chunk& operator=(Chunk&& other) noexcept;
    ~Chunk();
    std::string_view data() const { return {buffer_, size_}; }

   private:
    friend class Transport;
    char* buffer_ = nullptr;
    size_t size_ = 0;
  };
  static constexpr size_t kReadSize = 8192;

  explicit Transport(boost::asio::ip::tcp::socket socket);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  bool tls() const { return ssl_ != nullptr; }
  SSL* native_handle() const { return ssl_.get(); }

  // Server side of a TLS handshake on the socket: at once for direct TLS,
  // after <proceed/> for STARTTLS. Reads and writes are TLS from then on.
  boost::asio::awaitable<void> handshake(boost::asio::ssl::context& context,
                                         boost::system::error_code& ec);
  // The next bytes from the peer (at most kReadSize); waits without holding
  // a buffer. An empty chunk with ec set at the end of the stream or on error.
  boost::asio::awaitable<Chunk> read(boost::system::error_code& ec);
  // Writes all of data; fails while a TLS handshake is still under way.
  boost::asio::awaitable<void> write(std::string_view data, boost::system::error_code& ec);
  // Closes the socket and frees the TLS state; pending waits end with an error.
  void close();

 private:
  struct SslFree {
    void operator()(SSL* ssl) const;
  };
  boost::asio::awaitable<void> wait(boost::asio::socket_base::wait_type type,
                                    boost::system::error_code& ec);
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<SSL, SslFree> ssl_;
  bool handshake_done_ = false;
  bool closed_ = false;
};

}  // namespace parley

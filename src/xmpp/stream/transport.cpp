#include "xmpp/stream/transport.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstdint>
#include <new>
#include <optional>
#include <stdexcept>

namespace parley {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// ---- read buffers ----

// Buffers of this thread that no chunk holds. A thread rarely has more than a
// few sessions between a read and the end of its processing; beyond that
// buffers go back to the allocator instead of being kept.
struct BufferPool {
  static constexpr size_t kKeep = 8;
  char* free[kKeep] = {};
  size_t count = 0;
  bool alive = true;
  ~BufferPool() {
    for (size_t i = 0; i < count; ++i) delete[] free[i];
    count = 0;
    alive = false;
  }
};
thread_local BufferPool pool;

char* take_buffer() {
  if (pool.count > 0) return pool.free[--pool.count];
  return new char[Transport::kReadSize];
}

void give_back(char* buffer) {
  if (pool.alive && pool.count < BufferPool::kKeep)
    pool.free[pool.count++] = buffer;
  else
    delete[] buffer;
}

// ---- a socket BIO that cannot raise SIGPIPE ----

// OpenSSL's own socket BIO writes with write(2): a peer that has gone away
// would raise SIGPIPE. This one sends with MSG_NOSIGNAL, like Asio does.
int fd_of(BIO* bio) {
  return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
}

bool retriable(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

int bio_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  ssize_t n = ::send(fd_of(bio), data, static_cast<size_t>(size), MSG_NOSIGNAL);
  if (n < 0 && retriable(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int bio_read(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  ssize_t n = ::recv(fd_of(bio), data, static_cast<size_t>(size), 0);
  if (n < 0 && retriable(errno)) BIO_set_retry_read(bio);
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;  // nothing is buffered here
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "parley socket");
    if (!m || !BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create))
      throw std::bad_alloc();
    return m;
  }();
  return method;
}

// What a failed SSL call waits for before it is tried again: readable or
// writable, or nothing (nullopt) when it failed for good, with `ec` set.
std::optional<asio::socket_base::wait_type> after_failure(SSL* ssl, int ret, int saved_errno,
                                                          error_code& ec) {
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
      return asio::socket_base::wait_read;
    case SSL_ERROR_WANT_WRITE:
      return asio::socket_base::wait_write;
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      ec = asio::error::eof;
      break;
    case SSL_ERROR_SYSCALL:
      ec = saved_errno ? error_code(saved_errno, boost::system::system_category())
                       : error_code(asio::error::eof);
      break;
    default: {
      const unsigned long e = ERR_get_error();
      if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        ec = asio::error::eof;
      else
        ec = error_code(static_cast<int>(e), asio::error::get_ssl_category());
      break;
    }
  }
  ERR_clear_error();
  return std::nullopt;
}

}  // namespace

Transport::Chunk::Chunk(Chunk&& other) noexcept
    : buffer_(std::exchange(other.buffer_, nullptr)), size_(std::exchange(other.size_, 0)) {}

Transport::Chunk& Transport::Chunk::operator=(Chunk&& other) noexcept {
  if (this != &other) {
    if (buffer_) give_back(buffer_);
    buffer_ = std::exchange(other.buffer_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Transport::Chunk::~Chunk() {
  if (buffer_) give_back(buffer_);
}

void Transport::SslFree::operator()(SSL* ssl) const {
  SSL_free(ssl);
}

Transport::Transport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  // Reads and writes are tried first and waited for only when they would block.
  error_code ignored;
  socket_.non_blocking(true, ignored);
}

Transport::~Transport() = default;

asio::awaitable<void> Transport::wait(asio::socket_base::wait_type type, error_code& ec) {
  co_await socket_.async_wait(type, asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> Transport::handshake(asio::ssl::context& context, error_code& ec) {
  ec = {};
  if (closed_) {
    ec = asio::error::bad_descriptor;
    co_return;
  }
  ssl_.reset(SSL_new(context.native_handle()));
  BIO* bio = ssl_ ? BIO_new(socket_method()) : nullptr;
  if (!bio) {
    ssl_.reset();
    ec = asio::error::no_memory;
    co_return;
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(socket_.native_handle())));
  SSL_set_bio(ssl_.get(), bio, bio);
  SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                               SSL_MODE_RELEASE_BUFFERS);
  // Whole TCP reads rather than a header and a body per record; the buffer
  // is still released once it is empty.
  SSL_set_read_ahead(ssl_.get(), 1);
  SSL_set_accept_state(ssl_.get());
  for (;;) {
    if (closed_) {  // while waiting
      ec = asio::error::bad_descriptor;
      co_return;
    }
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_do_handshake(ssl_.get());
    if (ret == 1) {
      handshake_done_ = true;
      co_return;
    }
    const auto wanted = after_failure(ssl_.get(), ret, errno, ec);
    if (!wanted) co_return;
    co_await wait(*wanted, ec);
    if (ec) co_return;
  }
}

asio::awaitable<Transport::Chunk> Transport::read(error_code& ec) {
  ec = {};
  for (;;) {
    if (closed_) {
      ec = asio::error::bad_descriptor;
      co_return Chunk{};
    }
    Chunk chunk;
    chunk.buffer_ = take_buffer();
    asio::socket_base::wait_type wanted = asio::socket_base::wait_read;
    if (ssl_) {
      ERR_clear_error();
      errno = 0;
      size_t n = 0;
      const int ret = SSL_read_ex(ssl_.get(), chunk.buffer_, kReadSize, &n);
      if (ret == 1) {
        chunk.size_ = n;
        co_return std::move(chunk);
      }
      const auto failure_wants = after_failure(ssl_.get(), ret, errno, ec);
      if (!failure_wants) co_return Chunk{};
      wanted = *failure_wants;
    } else {
      const size_t n = socket_.read_some(asio::buffer(chunk.buffer_, kReadSize), ec);
      if (!ec) {
        chunk.size_ = n;
        co_return std::move(chunk);
      }
      if (ec != asio::error::would_block && ec != asio::error::try_again) co_return Chunk{};
      ec = {};
    }
    chunk = Chunk{};  // an idle connection waits without a buffer
    co_await wait(wanted, ec);
    if (ec) co_return Chunk{};
  }
}

asio::awaitable<void> Transport::write(std::string_view data, error_code& ec) {
  ec = {};
  if (closed_) {
    ec = asio::error::bad_descriptor;  // and never in plaintext once TLS is gone
    co_return;
  }
  if (ssl_ && !handshake_done_) {
    // Nothing can be said to a peer in the middle of a handshake (a stream
    // error for a stalled one): the caller closes instead.
    ec = asio::error::not_connected;
    co_return;
  }
  if (!ssl_) {
    co_await asio::async_write(socket_, asio::buffer(data),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return;
  }
  while (!data.empty()) {
    if (closed_) {
      ec = asio::error::bad_descriptor;
      co_return;
    }
    ERR_clear_error();
    errno = 0;
    size_t n = 0;
    const int ret = SSL_write_ex(ssl_.get(), data.data(), data.size(), &n);
    if (ret == 1) {
      data.remove_prefix(n);
      continue;
    }
    const auto wanted = after_failure(ssl_.get(), ret, errno, ec);
    if (!wanted) co_return;
    co_await wait(*wanted, ec);
    if (ec) co_return;
  }
}

void Transport::close() {
  closed_ = true;
  if (ssl_ && handshake_done_) {
    // One non-blocking close_notify: OpenSSL removes a session that ends
    // without it from the cache at SSL_free, and the client could not resume it.
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
  error_code ignored;
  socket_.close(ignored);
  ssl_.reset();
}

}  // namespace parley

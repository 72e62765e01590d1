#pragma once
// A TCP socket that knows when the bytes it reads reached this host: the
// kernel stamps every received packet (SO_TIMESTAMPNS) and each read returns
// the stamp of the last packet it consumed. The generator serves hundreds of
// connections on one thread, so a stanza may sit in its socket for a while
// before the generator parses it; the arrival stamp measures the server's
// latency without that queue. It is the next layer of an ssl::stream.
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <utility>

namespace parley::bench {

class ArrivalStampedSocket {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using lowest_layer_type = socket_type::lowest_layer_type;

  explicit ArrivalStampedSocket(const executor_type& ex) : socket_(ex) {}

  executor_type get_executor() { return socket_.get_executor(); }
  lowest_layer_type& lowest_layer() { return socket_.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const { return socket_.lowest_layer(); }

  // Once connected: asks the kernel to stamp what arrives.
  void enable_stamps() {
    const int on = 1;
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  }

  // The arrival of the last packet the last read consumed, on the steady
  // clock in ns; the read's own time when the kernel gave no stamp.
  int64_t last_arrival_ns() const { return last_arrival_ns_; }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, size_t)>(
        [this, buffers](auto& self, boost::system::error_code ec = {}) {
          if (ec) {
            self.complete(ec, 0);
            return;
          }
          size_t n = 0;
          if (try_read(buffers, ec, n)) {
            self.complete(ec, n);
            return;
          }
          socket_.async_wait(socket_type::wait_read, std::move(self));
        },
        token, socket_);
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  // One non-blocking recvmsg; false when there is nothing to read yet.
  template <class MutableBufferSequence>
  bool try_read(const MutableBufferSequence& buffers, boost::system::error_code& ec, size_t& n) {
    std::array<iovec, 8> iov{};
    size_t count = 0, total = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && count < iov.size(); ++it) {
      const boost::asio::mutable_buffer b(*it);
      if (b.size() == 0) continue;
      iov[count].iov_base = b.data();
      iov[count].iov_len = b.size();
      total += b.size();
      ++count;
    }
    if (total == 0) return true;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    for (;;) {
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = count;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t r = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT);
      if (r > 0) {
        n = static_cast<size_t>(r);
        last_arrival_ns_ = arrival(msg);
        return true;
      }
      if (r == 0) {
        ec = boost::asio::error::eof;
        return true;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      ec = boost::system::error_code(errno, boost::system::system_category());
      return true;
    }
  }

  static int64_t arrival(msghdr& msg) {
    using namespace std::chrono;
    const int64_t steady_now =
        duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
      timespec stamp{};
      std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
      timespec real{};
      ::clock_gettime(CLOCK_REALTIME, &real);
      const int64_t age =
          (real.tv_sec - stamp.tv_sec) * 1'000'000'000LL + (real.tv_nsec - stamp.tv_nsec);
      // The kernel's stamp is on the wall clock: carry its age over.
      return age >= 0 ? steady_now - age : steady_now;
    }
    return steady_now;
  }

  socket_type socket_;
  int64_t last_arrival_ns_ = 0;
};

}  // namespace parley::bench

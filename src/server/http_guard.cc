#include "server/http_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace berth::server {
namespace {

using Clock = std::chrono::steady_clock;

// The refusal of the request the calling worker is handling (one request per thread at a time).
thread_local Refusal tls_refusal = Refusal::kNone;

int MsUntil(Clock::time_point when) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(when - Clock::now());
  return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 60 * 60 * 1000));
}

void AddressOf(const sockaddr_storage& ss, std::string& ip, int& port) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, text.data(), text.size());
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text.data(), text.size());
    port = ntohs(a->sin6_port);
  }
  ip = text.data();
}

// One connection's socket as httplib reads and writes it: reads are buffered, bounded by the
// request's deadline and, while the request line and headers are read, by a byte budget.
class GuardStream final : public httplib::Stream {
 public:
  GuardStream(int fd, const HttpLimits& limits) : fd_(fd), limits_(limits) {}

  // Waits up to the keep-alive time for the next request's first byte; false when the peer
  // closed, the time passed or `stop_fd` became readable.
  bool WaitForRequest(int stop_fd) {
    if (begin_ < end_) return true;
    std::array<pollfd, 2> fds{pollfd{fd_, POLLIN, 0}, pollfd{stop_fd, POLLIN, 0}};
    const int ms = static_cast<int>(std::chrono::milliseconds(limits_.keep_alive).count());
    const int n = ::poll(fds.data(), fds.size(), ms);
    return n > 0 && (fds[0].revents & POLLIN) != 0 && (fds[1].revents & POLLIN) == 0;
  }
  void StartRequest() {
    deadline_ = Clock::now() + limits_.request_timeout;
    in_headers_ = true;
    header_bytes_ = 0;
  }
  void EndHeaders() { in_headers_ = false; }
  bool cut_off() const { return cut_off_; }

  bool is_readable() const override {
    return begin_ < end_ || Poll(POLLIN, std::min(IoMs(), MsUntil(deadline_)));
  }
  bool is_writable() const override { return Poll(POLLOUT, IoMs()); }

  ssize_t read(char* ptr, size_t size) override {
    if (in_headers_ && header_bytes_ >= limits_.header_bytes) return -1;
    if (begin_ == end_ && !Fill()) return -1;
    std::size_t n = std::min(size, end_ - begin_);
    if (in_headers_) n = std::min(n, limits_.header_bytes - header_bytes_);
    std::memcpy(ptr, buf_.data() + begin_, n);
    begin_ += n;
    if (in_headers_) header_bytes_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    return ::send(fd_, ptr, size, MSG_NOSIGNAL);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) AddressOf(ss, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) AddressOf(ss, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  int IoMs() const { return static_cast<int>(limits_.io_timeout.count()); }
  bool Poll(short events, int ms) const {
    pollfd p{fd_, events, 0};
    int n;
    do {
      n = ::poll(&p, 1, ms);
    } while (n < 0 && errno == EINTR);
    return n > 0 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
  }
  // Reads what the socket has into the empty buffer, waiting at most one io timeout and never
  // past the request's deadline (then the connection is cut off).
  bool Fill() {
    const int left = MsUntil(deadline_);
    if (left == 0 || !Poll(POLLIN, std::min(IoMs(), left))) {
      if (MsUntil(deadline_) == 0) cut_off_ = true;
      return false;
    }
    ssize_t n;
    do {
      n = ::recv(fd_, buf_.data(), buf_.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    begin_ = 0;
    end_ = static_cast<std::size_t>(n);
    return true;
  }

  int fd_;
  const HttpLimits& limits_;
  std::array<char, 4096> buf_{};
  std::size_t begin_ = 0, end_ = 0;
  Clock::time_point deadline_ = Clock::now();
  bool in_headers_ = false;
  std::size_t header_bytes_ = 0;
  bool cut_off_ = false;
};

bool HasBody(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE" ||
         method == "PRI";
}

// What the request may not carry, judged from its headers before any body byte is read.
Refusal Judge(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return Refusal::kTransferEncoding;
  if (req.has_header("Content-Encoding")) return Refusal::kContentEncoding;
  const std::size_t lengths = req.get_header_value_count("Content-Length");
  if (lengths > 1) return Refusal::kBadLength;
  if (lengths == 0) return Refusal::kNone;  // no body (RFC 9112 6.3); see the setup below
  const std::string value = req.get_header_value("Content-Length");
  if (value.empty() || value.size() > 12 ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Refusal::kBadLength;
  }
  // A body on a request httplib does not read it for would be parsed as the next request.
  if (!HasBody(req.method) && value != "0") return Refusal::kBadLength;
  return Refusal::kNone;
}

}  // namespace

GuardedServer::GuardedServer(const HttpLimits& limits)
    : limits_(limits), stop_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  const std::size_t threads = limits_.threads;
  new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  set_payload_max_length(limits_.body_bytes);
  set_keep_alive_max_count(limits_.keep_alive_requests);
  set_keep_alive_timeout(limits_.keep_alive.count());
  const auto io = limits_.io_timeout;
  set_read_timeout(io);
  set_write_timeout(io);
}

Refusal GuardedServer::CurrentRefusal() { return tls_refusal; }

void GuardedServer::Shutdown() {
  const std::uint64_t one = 1;
  if (stop_event_.valid()) (void)!::write(stop_event_.get(), &one, sizeof one);
  stop();
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  UniqueFd owned(sock);
  GuardStream strm(sock, limits_);
  bool ret = false;
  for (std::size_t left = limits_.keep_alive_requests; left > 0; --left) {
    if (svr_sock_ == INVALID_SOCKET || !strm.WaitForRequest(stop_event_.get())) break;
    strm.StartRequest();
    Refusal refusal = Refusal::kNone;
    bool connection_closed = false;
    ret = process_request(strm, left == 1, connection_closed, [&](httplib::Request& req) {
      strm.EndHeaders();
      refusal = Judge(req);
      tls_refusal = refusal;
      // A request without Content-Length or Transfer-Encoding has no body (RFC 9112 6.3);
      // httplib 0.11.4 would read one until the peer closes, without bound.
      if (refusal == Refusal::kNone && !req.has_header("Content-Length")) {
        req.set_header("Content-Length", "0");
      }
      req.ranges.clear();               // no Range support: one representation per resource
      req.headers.erase("Accept-Encoding");  // no compressed replies (SSE must flush as written)
      if (refusal != Refusal::kNone) {
        req.headers.erase("Connection");
        req.set_header("Connection", "close");  // the unread body must not be parsed
      }
    });
    tls_refusal = Refusal::kNone;
    if (strm.cut_off()) cutoffs_.fetch_add(1);
    if (!ret || connection_closed || refusal != Refusal::kNone || strm.cut_off()) break;
  }
  ::shutdown(sock, SHUT_RDWR);
  return ret;
}

}  // namespace berth::server

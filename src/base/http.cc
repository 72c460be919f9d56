#include "base/http.h"

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include <fmt/core.h>

#include "base/http_client.h"
#include "base/tls.h"

namespace berth {
namespace {

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using Receive = std::function<bool(const char*, std::size_t)>;
using SteadyClock = std::chrono::steady_clock;

// True when the idle keep-alive connection on `fd` has something to read: the server closed
// it (end of file or a reset) or sent bytes nobody asked for (an unsolicited 408, a TLS
// close_notify). Neither is the reply to a request we have not written yet, and a connection
// in either state is not written to. False only when nothing at all is waiting.
bool IdleConnectionSpoke(int fd) {
  pollfd p{fd, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, 0);
  } while (ready < 0 && errno == EINTR);
  return ready != 0;  // readable, hung up, in error, or poll failed: not reused in any case
}

}  // namespace

// The connection, the request mutex and the deadline thread. Lock order: request_mutex_,
// then deadline_mutex_, then httplib's own socket mutex (inside stop() and the client's
// destructor); the request thread holds no lock of ours while httplib runs the request
// except request_mutex_, so the deadline thread can always take deadline_mutex_.
class HttpSession::Impl {
 public:
  // `keep_alive` false: a connection per request ("Connection: close"), for HttpSend.
  Impl(std::string origin, HttpTls tls, HttpLimits limits, bool keep_alive)
      : origin_(std::move(origin)), tls_(std::move(tls)), limits_(limits), keep_alive_(keep_alive) {}
  ~Impl() {
    {
      std::lock_guard lock(deadline_mutex_);
      quit_ = true;
    }
    deadline_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    http_internal::ScopedSigpipeBlock no_sigpipe;  // closing TLS writes close_notify
    client_.reset();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // One request; the body goes to `receive` as it arrives (false: stop reading, which is not
  // an error: `stopped` says so). The status, or the failures HttpSend documents.
  Result<int> Exchange(std::string_view method, std::string_view path, std::string_view body,
                       const HeaderList& headers, const HttpLimits& limits, const Receive& receive,
                       bool& stopped);

  const std::string& origin() const { return origin_; }
  const HttpLimits& limits() const { return limits_; }
  std::size_t connections_opened() const {
    std::lock_guard lock(deadline_mutex_);
    return connections_opened_;
  }

 private:
  // Starts the deadline thread if it is not running, and arms it for `at`. kInternal when
  // the thread cannot start.
  Result<void> Arm(SteadyClock::time_point at);
  // Disarms the deadline; true when it fired (the connection was shut down).
  bool Disarm();
  void DeadlineLoop();

  const std::string origin_;
  const HttpTls tls_;
  const HttpLimits limits_;
  const bool keep_alive_;

  std::mutex request_mutex_;  // one request at a time; held for the whole of Exchange

  // Guards what the deadline thread reads: the client (replaced only while no deadline is
  // armed), the deadline and its outcome.
  mutable std::mutex deadline_mutex_;
  std::condition_variable deadline_cv_;
  std::optional<httplib::Client> client_;
  std::optional<SteadyClock::time_point> deadline_;
  std::uint64_t armings_ = 0;  // changes at every arm and disarm: a wait for an old deadline ends
  bool fired_ = false;
  bool quit_ = false;
  std::size_t connections_opened_ = 0;
  std::thread thread_;
};

Result<void> HttpSession::Impl::Arm(SteadyClock::time_point at) {
  if (!thread_.joinable()) {
    try {
      thread_ = std::thread([this] { DeadlineLoop(); });
    } catch (const std::system_error& e) {
      return Fail(ErrorCode::kInternal,
                  fmt::format("cannot start the deadline thread for the request ({}); try again "
                              "with fewer processes running",
                              e.what()));
    }
  }
  {
    std::lock_guard lock(deadline_mutex_);
    deadline_ = at;
    fired_ = false;
    ++armings_;
  }
  deadline_cv_.notify_all();
  return {};
}

bool HttpSession::Impl::Disarm() {
  bool fired;
  {
    std::lock_guard lock(deadline_mutex_);
    deadline_.reset();
    ++armings_;
    fired = fired_;
    fired_ = false;
  }
  deadline_cv_.notify_all();
  return fired;
}

// Waits for a deadline to be armed, then for it to pass or be disarmed; when it passes, shuts
// the connection down (httplib's stop(), meant to be called from another thread): the
// request's blocked read or write fails and Disarm says why. Every signal is blocked here:
// stop() may write a TLS close_notify to a peer that is gone (SIGPIPE), and a signal meant
// for the process (SIGTERM, taken by a signalfd elsewhere) must not land on this thread.
void HttpSession::Impl::DeadlineLoop() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::unique_lock lock(deadline_mutex_);
  while (!quit_) {
    if (!deadline_) {
      deadline_cv_.wait(lock);
      continue;
    }
    const std::uint64_t arming = armings_;
    const SteadyClock::time_point at = *deadline_;  // a copy: disarming resets deadline_
    if (deadline_cv_.wait_until(lock, at, [&] { return quit_ || armings_ != arming; })) {
      continue;
    }
    fired_ = true;
    deadline_.reset();
    if (client_) client_->stop();
  }
}

Result<int> HttpSession::Impl::Exchange(std::string_view method, std::string_view path,
                                        std::string_view body, const HeaderList& headers,
                                        const HttpLimits& limits, const Receive& receive,
                                        bool& stopped) {
  for (const auto& [name, value] : headers) {
    if (HasControlCharacter(name) || HasControlCharacter(value)) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("the {} header holds a control character (CR, LF, tab, ...), which "
                              "would change the HTTP request: nothing was sent",
                              HasControlCharacter(name) ? std::string("a") : name));
    }
  }
  const bool https = origin_.starts_with("https://");
  std::lock_guard request_lock(request_mutex_);
  // For the whole request, connection changes included: closing a TLS connection writes.
  http_internal::ScopedSigpipeBlock no_sigpipe;

  // Reuse the open connection, or open one. Why a request written after this never went out
  // before on another connection: it is written only below, once. A kept connection's last
  // reply was read whole (httplib closes the socket after any failure, a cut body or a
  // deadline), so nothing of ours is in flight on it; when poll() finds anything to read on it
  // now, the server closed it (or broke the protocol) while it was idle, before this request
  // was written, and it is replaced by a new connection that then carries the request: that is
  // the one reconnect, and it is not a resend. If the server closes the connection after this
  // check, while the request is on its way, the request fails "after sending" like any other
  // and is not sent again: from here that cannot be told apart from a server that read it and
  // then died, and a write to etcd may have been applied.
  bool fresh = false;
  {
    std::lock_guard lock(deadline_mutex_);  // nothing is armed: the client may be replaced
    if (!client_ || !keep_alive_ || !client_->is_socket_open() ||
        IdleConnectionSpoke(client_->socket())) {
      client_.reset();  // a new client: the TLS files are read again for the new connection
      client_.emplace(http_internal::MakeClient(origin_, tls_, limits.timeout_ms));
      client_->set_keep_alive(keep_alive_);
      fresh = true;
      ++connections_opened_;
    } else {
      http_internal::SetTimeouts(*client_, limits.timeout_ms);
    }
  }
  if (https && !client_->is_valid()) {
    const std::string reason = TakeTlsErrorReason();
    {
      std::lock_guard lock(deadline_mutex_);
      client_.reset();
    }
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("cannot load the client certificate {} with its key {}: {}",
                            tls_.cert_file, tls_.key_file, reason));
  }
  httplib::Request req;
  req.method = std::string(method);
  req.path = std::string(path);
  for (const auto& [name, value] : headers) req.headers.emplace(name, value);
  if (!body.empty()) req.headers.emplace("Content-Type", "application/json");
  req.body = std::string(body);
  httplib::Response res;
  stopped = false;
  bool received = false;
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    received = received || n > 0;
    if (receive(data, n)) return true;
    stopped = true;
    return false;
  };
  httplib::Error error = httplib::Error::Success;
  if (https) TakeTlsErrorReason();  // what is left in the queue is this request's
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(limits.total_ms);
  BERTH_TRY(Arm(deadline));
  const bool sent = client_->send(req, res, error);
  const bool late = Disarm();
  if (stopped) return res.status;
  // A chunked body followed by trailers (etcd's gateway sends Grpc-Trailer-* after every
  // error body) fails in httplib 0.11 after the whole body arrived: the reply stands (and
  // httplib has closed the connection). A body cut short instead does not parse for the
  // caller (a JSON prefix is never a JSON value).
  if (!sent && !late && error == httplib::Error::Read && res.status > 0 && received) {
    return res.status;
  }
  if (late) {
    return Fail(ErrorCode::kTimeout, fmt::format("did not finish within {} ms", limits.total_ms));
  }
  if (!sent && https) {
    const auto left = deadline - SteadyClock::now();
    const int probe_ms = static_cast<int>(std::min<std::int64_t>(
        limits.timeout_ms, std::chrono::duration_cast<std::chrono::milliseconds>(left).count()));
    if (auto tls_failure = http_internal::TlsFailure(*client_, error, tls_, origin_, probe_ms, fresh)) {
      return std::unexpected(*tls_failure);
    }
  }
  if (!sent) {
    // Not connected: the request never left (httplib reports these only from opening a
    // connection, before anything is written). Anything later: it may have been acted on.
    const bool never_sent = error == httplib::Error::Connection ||
                            error == httplib::Error::ConnectionTimeout ||
                            error == httplib::Error::BindIPAddress ||
                            error == httplib::Error::SSLConnection;
    return Fail(never_sent ? ErrorCode::kUnavailable : ErrorCode::kTimeout,
                fmt::format("{}: {}", never_sent ? "unreachable" : "failed after sending the request",
                            httplib::to_string(error)));
  }
  return res.status;
}

namespace {

// One request on `session` whose body is kept, up to `limits.max_body`.
Result<HttpReply> SendKeepingBody(HttpSession::Impl& session, std::string_view method,
                                  std::string_view path, std::string_view body,
                                  const HeaderList& headers, const HttpLimits& limits) {
  HttpReply reply;
  bool too_big = false, stopped = false;
  auto status = session.Exchange(method, path, body, headers, limits,
                                 [&](const char* data, std::size_t n) {
                                   if (reply.body.size() + n > limits.max_body) {
                                     too_big = true;
                                     return false;
                                   }
                                   reply.body.append(data, n);
                                   return true;
                                 },
                                 stopped);
  if (too_big) {
    return Fail(ErrorCode::kMalformed, fmt::format("a reply body over {} bytes", limits.max_body));
  }
  if (!status) return std::unexpected(status.error());
  reply.status = *status;
  return reply;
}

}  // namespace

bool HasControlCharacter(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

HttpSession::HttpSession(std::string origin, HttpTls tls, HttpLimits limits)
    : impl_(std::make_unique<Impl>(std::move(origin), std::move(tls), limits, /*keep_alive=*/true)) {}

HttpSession::~HttpSession() = default;

Result<HttpReply> HttpSession::Send(std::string_view method, std::string_view path,
                                    std::string_view body, const HeaderList& headers) {
  return SendKeepingBody(*impl_, method, path, body, headers, impl_->limits());
}

Result<HttpReply> HttpSession::Send(std::string_view method, std::string_view path,
                                    std::string_view body, const HeaderList& headers,
                                    const HttpLimits& limits) {
  return SendKeepingBody(*impl_, method, path, body, headers, limits);
}

const std::string& HttpSession::origin() const { return impl_->origin(); }

std::size_t HttpSession::connections_opened() const { return impl_->connections_opened(); }

Result<HttpReply> HttpSend(std::string_view origin, std::string_view method, std::string_view path,
                           std::string_view body, const HeaderList& headers,
                           const HttpLimits& limits) {
  return HttpSend(origin, method, path, body, headers, limits, HttpTls{});
}

Result<HttpReply> HttpSend(std::string_view origin, std::string_view method, std::string_view path,
                           std::string_view body, const HeaderList& headers,
                           const HttpLimits& limits, const HttpTls& tls) {
  HttpSession::Impl once(std::string(origin), tls, limits, /*keep_alive=*/false);
  return SendKeepingBody(once, method, path, body, headers, limits);
}

Result<int> HttpStream(std::string_view origin, std::string_view method, std::string_view path,
                       std::string_view body, const HeaderList& headers,
                       const HttpLimits& limits, const HttpTls& tls,
                       const std::function<bool(std::string_view)>& receive) {
  HttpSession::Impl once(std::string(origin), tls, limits, /*keep_alive=*/false);
  bool stopped = false;
  return once.Exchange(method, path, body, headers, limits,
                       [&](const char* data, std::size_t n) { return receive(std::string_view(data, n)); },
                       stopped);
}

}  // namespace berth

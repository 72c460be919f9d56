#include "base/http.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include <fmt/core.h>

#include "base/tls.h"

namespace berth {
namespace {

// Ends a request that runs past its total deadline: a thread waits for the deadline and
// shuts the client's socket down (httplib's stop(), meant to be called from another thread);
// the blocked read then fails and `fired` says why.
class Watchdog {
 public:
  Watchdog(httplib::Client& client, int total_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(total_ms);
    thread_ = std::thread([this, &client, deadline] {
      std::unique_lock lock(mutex_);
      if (!cv_.wait_until(lock, deadline, [this] { return done_; })) {
        fired_ = true;
        client.stop();
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  bool fired() {
    std::lock_guard lock(mutex_);
    return fired_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false, fired_ = false;
  std::thread thread_;
};

// A client for `origin` with `timeout_ms` for connect, each read and each write; for https
// with `tls`'s files and the server's certificate verified.
httplib::Client MakeClient(std::string_view origin, const HttpTls& tls, int timeout_ms) {
  const bool https = origin.starts_with("https://");
  httplib::Client client = https && !tls.cert_file.empty()
                               ? httplib::Client(std::string(origin), tls.cert_file, tls.key_file)
                               : httplib::Client(std::string(origin));
  if (https && client.is_valid()) {
    client.enable_server_certificate_verification(true);
    if (!tls.ca_file.empty()) client.set_ca_cert_path(tls.ca_file);
  }
  const auto seconds = timeout_ms / 1000;
  const auto micros = (timeout_ms % 1000) * 1000;
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  client.set_write_timeout(seconds, micros);
  return client;
}

// Why the server dropped a TLS connection right after the handshake, when it did so before
// its alert could be read. In TLS 1.3 the server checks the client's certificate after the
// client's handshake is done, so its refusal (an alert, then close) races the request: the
// request's write may fail with EPIPE first. A TLS 1.2 handshake (etcd accepts 1.2) puts the
// server's verdict inside the handshake: "" when that one succeeds, else OpenSSL's reason.
// Sends no request when the handshake fails, and a GET / (no effect) when it succeeds.
std::string HandshakeRefusal(std::string_view origin, const HttpTls& tls, int timeout_ms) {
  httplib::Client probe = MakeClient(origin, tls, timeout_ms);
  if (!probe.is_valid() || timeout_ms <= 0) return {};
  SSL_CTX_set_max_proto_version(probe.ssl_context(), TLS1_2_VERSION);
  TakeTlsErrorReason();
  try {
    Watchdog watchdog(probe, timeout_ms);
    if (probe.Get("/")) return {};
  } catch (const std::system_error&) {
    return {};
  }
  return TakeTlsErrorReason();
}

// Keeps SIGPIPE from killing the process while a TLS request runs on this thread: OpenSSL
// writes to the socket with write(2), not send(MSG_NOSIGNAL), and a server that refuses our
// certificate closes the connection as the request is written. The signal is blocked for the
// thread, and one it raised meanwhile is taken before the mask is restored; the process's
// disposition is left alone (berth pin's children inherit it).
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0;
  }
  ~ScopedSigpipeBlock() {
    if (!blocked_) return;
    sigset_t pending;
    if (!was_pending_ && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
      const timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_{}, old_{};
  bool was_pending_ = false, blocked_ = false;
};

// A failure TLS explains: a certificate refused by either side (kPermissionDenied; the
// server reads no request before the handshake, so nothing was acted on: in TLS 1.3 the
// server's refusal of our certificate arrives at the first read), a CA file that does not
// load (kInvalidArgument). nullopt for the rest (refused connections, timeouts).
std::optional<Error> TlsFailure(const httplib::Client& client, httplib::Error error,
                                const HttpTls& tls, std::string_view origin, int timeout_ms) {
  std::string reason = TakeTlsErrorReason();
  if (reason.empty() && (error == httplib::Error::Write || error == httplib::Error::Read)) {
    reason = HandshakeRefusal(origin, tls, timeout_ms);
  }
  if (error == httplib::Error::SSLLoadingCerts) {
    return Error{ErrorCode::kInvalidArgument,
                 fmt::format("cannot load the CA certificates {}", tls.ca_file)};
  }
  if (error == httplib::Error::SSLServerVerification) {
    const long verify = client.get_openssl_verify_result();
    const std::string host(origin.substr(origin.find("://") + 3));
    return Error{ErrorCode::kPermissionDenied,
                 verify != 0 ? fmt::format("the TLS handshake with the server failed: its "
                                           "certificate is not trusted: {}{}",
                                           TlsVerifyResultText(verify),
                                           tls.ca_file.empty() ? " (checked against the system's CAs)"
                                                               : fmt::format(" (checked against {})", tls.ca_file))
                             : fmt::format("the TLS handshake with the server failed: its "
                                           "certificate does not name {} (an IP address needs an "
                                           "IP subjectAltName)",
                                           host.substr(0, host.rfind(':'))),
                 {{Remedy::kTrustServerCa}}};
  }
  if (reason.find("certificate") != std::string::npos || reason.find("unknown ca") != std::string::npos) {
    return Error{ErrorCode::kPermissionDenied,
                 fmt::format("the TLS handshake with the server failed: {}{}", reason,
                             reason.find("alert") != std::string::npos
                                 ? " (the server refused this client's certificate, or wants one)"
                                 : ""),
                 {{reason.find("alert") != std::string::npos ? Remedy::kGiveClientCertificate
                                                             : Remedy::kTrustServerCa}}};
  }
  if (error == httplib::Error::SSLConnection && !reason.empty()) {
    return Error{ErrorCode::kUnavailable,
                 fmt::format("unreachable: the TLS handshake failed: {} (does it serve TLS?)", reason)};
  }
  return std::nullopt;
}

}  // namespace

bool HasControlCharacter(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

Result<HttpReply> HttpSend(std::string_view origin, std::string_view method, std::string_view path,
                           std::string_view body,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const HttpLimits& limits) {
  return HttpSend(origin, method, path, body, headers, limits, HttpTls{});
}

namespace {

// One request; the body goes to `receive` as it arrives (false: stop reading, which is not
// an error: `stopped` says so). The status, or the failures HttpSend documents.
Result<int> Exchange(std::string_view origin, std::string_view method, std::string_view path,
                     std::string_view body,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     const HttpLimits& limits, const HttpTls& tls,
                     const std::function<bool(const char*, std::size_t)>& receive, bool& stopped) {
  for (const auto& [name, value] : headers) {
    if (HasControlCharacter(name) || HasControlCharacter(value)) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("the {} header holds a control character (CR, LF, tab, ...), which "
                              "would change the HTTP request: nothing was sent",
                              HasControlCharacter(name) ? std::string("a") : name));
    }
  }
  const bool https = origin.starts_with("https://");
  httplib::Client client = MakeClient(origin, tls, limits.timeout_ms);
  if (https && !client.is_valid()) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("cannot load the client certificate {} with its key {}: {}",
                            tls.cert_file, tls.key_file, TakeTlsErrorReason()));
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
  bool sent = false, late = false;
  if (https) TakeTlsErrorReason();  // what is left in the queue is this request's
  std::optional<ScopedSigpipeBlock> no_sigpipe;
  if (https) no_sigpipe.emplace();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limits.total_ms);
  try {
    Watchdog watchdog(client, limits.total_ms);
    sent = client.send(req, res, error);
    late = watchdog.fired();
  } catch (const std::system_error& e) {
    return Fail(ErrorCode::kInternal,
                fmt::format("cannot start the deadline thread for the request ({}); try again "
                            "with fewer processes running",
                            e.what()));
  }
  if (stopped) return res.status;
  // A chunked body followed by trailers (etcd's gateway sends Grpc-Trailer-* after every
  // error body) fails in httplib 0.11 after the whole body arrived: the reply stands. A body
  // cut short instead does not parse for the caller (a JSON prefix is never a JSON value).
  if (!sent && !late && error == httplib::Error::Read && res.status > 0 && received) {
    return res.status;
  }
  if (late) {
    return Fail(ErrorCode::kTimeout, fmt::format("did not finish within {} ms", limits.total_ms));
  }
  if (!sent && https) {
    const auto left = deadline - std::chrono::steady_clock::now();
    const int probe_ms = static_cast<int>(std::min<std::int64_t>(
        limits.timeout_ms, std::chrono::duration_cast<std::chrono::milliseconds>(left).count()));
    if (auto tls_failure = TlsFailure(client, error, tls, origin, probe_ms)) {
      return std::unexpected(*tls_failure);
    }
  }
  if (!sent) {
    // Not connected: the request never left. Anything later: it may have been acted on.
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

}  // namespace

Result<HttpReply> HttpSend(std::string_view origin, std::string_view method, std::string_view path,
                           std::string_view body,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const HttpLimits& limits, const HttpTls& tls) {
  HttpReply reply;
  bool too_big = false, stopped = false;
  auto status = Exchange(origin, method, path, body, headers, limits, tls,
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

Result<int> HttpStream(std::string_view origin, std::string_view method, std::string_view path,
                       std::string_view body,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       const HttpLimits& limits, const HttpTls& tls,
                       const std::function<bool(std::string_view)>& receive) {
  bool stopped = false;
  return Exchange(origin, method, path, body, headers, limits, tls,
                  [&](const char* data, std::size_t n) { return receive(std::string_view(data, n)); },
                  stopped);
}

}  // namespace berth

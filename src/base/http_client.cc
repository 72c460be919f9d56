#include "base/http_client.h"

#include <openssl/ssl.h>
#include <pthread.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

#include <fmt/core.h>

#include "base/tls.h"

namespace berth::http_internal {
namespace {

// Ends the handshake probe when it runs past its deadline: a thread waits for the deadline
// and shuts the client's socket down (httplib's stop(), meant to be called from another
// thread). A thread per probe: the probe runs only when a new TLS connection failed.
class ProbeWatchdog {
 public:
  ProbeWatchdog(httplib::Client& client, int total_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(total_ms);
    thread_ = std::thread([this, &client, deadline] {
      std::unique_lock lock(mutex_);
      if (!cv_.wait_until(lock, deadline, [this] { return done_; })) client.stop();
    });
  }
  ~ProbeWatchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  ProbeWatchdog(const ProbeWatchdog&) = delete;
  ProbeWatchdog& operator=(const ProbeWatchdog&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

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
    ProbeWatchdog watchdog(probe, timeout_ms);
    if (probe.Get("/")) return {};
  } catch (const std::system_error&) {
    return {};
  }
  return TakeTlsErrorReason();
}

}  // namespace

httplib::Client MakeClient(std::string_view origin, const HttpTls& tls, int timeout_ms) {
  const bool https = origin.starts_with("https://");
  httplib::Client client = https && !tls.cert_file.empty()
                               ? httplib::Client(std::string(origin), tls.cert_file, tls.key_file)
                               : httplib::Client(std::string(origin));
  if (https && client.is_valid()) {
    client.enable_server_certificate_verification(true);
    if (!tls.ca_file.empty()) client.set_ca_cert_path(tls.ca_file);
  }
  // httplib writes a request's headers and its body in two sends: with Nagle's algorithm the
  // body waits for the ACK of the headers, which a server on a kept connection delays (40 ms
  // on Linux), so every reused request would wait that long.
  client.set_tcp_nodelay(true);
  SetTimeouts(client, timeout_ms);
  return client;
}

void SetTimeouts(httplib::Client& client, int timeout_ms) {
  const auto seconds = timeout_ms / 1000;
  const auto micros = (timeout_ms % 1000) * 1000;
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  client.set_write_timeout(seconds, micros);
}

ScopedSigpipeBlock::ScopedSigpipeBlock() {
  sigemptyset(&pipe_);
  sigaddset(&pipe_, SIGPIPE);
  sigset_t pending;
  was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0;
}

ScopedSigpipeBlock::~ScopedSigpipeBlock() {
  if (!blocked_) return;
  sigset_t pending;
  if (!was_pending_ && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
    const timespec zero{};
    while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

// What each failure means, and why nothing was acted on: the header.
std::optional<Error> TlsFailure(const httplib::Client& client, httplib::Error error,
                                const HttpTls& tls, std::string_view origin, int timeout_ms,
                                bool probe_handshake) {
  std::string reason = TakeTlsErrorReason();
  if (probe_handshake && reason.empty() &&
      (error == httplib::Error::Write || error == httplib::Error::Read)) {
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

}  // namespace berth::http_internal

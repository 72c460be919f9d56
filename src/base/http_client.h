// The parts of base/http.cc's requests that know httplib and OpenSSL: the client as berth
// builds it (timeouts, TLS verification always on), SIGPIPE kept off a thread while it
// writes, and what a TLS failure means. Internal to src/base (it includes httplib): callers
// use base/http.h. Thread-safe as httplib::Client is: one request at a time per client.
#pragma once

#include <httplib.h>
#include <signal.h>

#include <optional>
#include <string_view>

#include "base/error.h"
#include "base/http.h"

namespace berth::http_internal {

// A client for `origin` with `timeout_ms` for connect, each read and each write; for https
// with `tls`'s files and the server's certificate verified. Check is_valid() for https: false
// when the client certificate or its key did not load.
httplib::Client MakeClient(std::string_view origin, const HttpTls& tls, int timeout_ms);

// Sets connect, read and write timeouts to `timeout_ms` (used by the next request).
void SetTimeouts(httplib::Client& client, int timeout_ms);

// A failure TLS explains, for a request that was not sent: a certificate refused by either
// side (kPermissionDenied; nothing was acted on), a CA file that does not load
// (kInvalidArgument), a server that does not speak TLS (kUnavailable). nullopt for the rest
// (refused connections, timeouts, a peer gone after the request). `probe_handshake`: the
// request opened its connection, so a read or write that failed right after the handshake
// may be the server refusing our certificate late (TLS 1.3); a separate TLS 1.2 handshake,
// bounded by `timeout_ms`, tells. False for a reused connection: its handshake succeeded.
std::optional<Error> TlsFailure(const httplib::Client& client, httplib::Error error,
                                const HttpTls& tls, std::string_view origin, int timeout_ms,
                                bool probe_handshake);

// Keeps SIGPIPE from killing the process while a request runs on this thread: OpenSSL writes
// to the socket with write(2), not send(MSG_NOSIGNAL), and so does Debian's httplib for plain
// http (CPPHTTPLIB_SEND_FLAGS 0); a server that refuses our certificate, or closes a
// keep-alive connection, closes it as the request is written. The signal is blocked for the
// thread, and one it raised meanwhile is taken before the mask is restored; the process's
// disposition is left alone (berth pin's children inherit it).
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock();
  ~ScopedSigpipeBlock();
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_{}, old_{};
  bool was_pending_ = false, blocked_ = false;
};

}  // namespace berth::http_internal

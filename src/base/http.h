// One HTTP request with every bound a network client needs: connect, read and write timeouts,
// a total deadline however the peer paces its bytes (httplib's timeouts are per read: a peer
// sending a byte now and then would hold a request forever), a cap on the reply body, and
// header values refused when they hold a control character (CR/LF would inject a header).
// Over TLS (an https:// origin) the server's certificate is verified, chain and name, always.
// HttpSend is one request on a connection of its own (the Consul client); HttpSession keeps
// one keep-alive connection to an origin for successive requests (the etcd client, one per
// member). Blocking. HttpSend and HttpStream are safe from any thread; an HttpSession takes
// one request at a time (others wait on its mutex).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace berth {

struct HttpLimits {
  int timeout_ms = 5000;               // connect, each read and each write
  int total_ms = 15000;                // the whole request
  std::size_t max_body = 1 << 20;      // the largest reply body read
};

// TLS for an https:// origin (PEM files): the server's certificate must chain to `ca_file`
// (the system's CAs when empty) and name the origin's host (an IP address needs an IP SAN);
// `cert_file` and `key_file`, when set, are the client certificate and its key.
struct HttpTls {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

struct HttpReply {
  int status = 0;
  std::string body;
};

// `origin`: "http://HOST:PORT" or "https://HOST:PORT". Sends METHOD PATH with `body` (as
// application/json when not empty) and `headers`. Failure: kInvalidArgument for a header
// value with a control character (nothing is sent); kUnavailable when no connection was made
// ("unreachable: REASON": the request never left, another peer may be tried); kTimeout when
// the request passed `total_ms` ("did not finish within N ms") or broke after it was sent
// ("failed after sending the request: REASON": the peer may have acted on it); kMalformed
// for a body over `max_body` ("a reply body over N bytes"); kInternal when no deadline thread
// can start. The caller words the error with what it was doing.
[[nodiscard]] Result<HttpReply> HttpSend(std::string_view origin, std::string_view method,
                                         std::string_view path, std::string_view body,
                                         const std::vector<std::pair<std::string, std::string>>& headers,
                                         const HttpLimits& limits);

// The same over TLS when `origin` is https:// (`tls` is unused for http://). Further failures:
// kPermissionDenied when TLS fails on a certificate ("the TLS handshake with the server
// failed: REASON": the server's certificate untrusted, expired or not naming the host, or
// ours refused by the server; nothing was acted on); kInvalidArgument when the CA file, the
// certificate or the key cannot be loaded. Other handshake failures (a server not speaking
// TLS) are kUnavailable like a refused connection.
[[nodiscard]] Result<HttpReply> HttpSend(std::string_view origin, std::string_view method,
                                         std::string_view path, std::string_view body,
                                         const std::vector<std::pair<std::string, std::string>>& headers,
                                         const HttpLimits& limits, const HttpTls& tls);

// A request whose reply is a stream (an etcd watch): the body goes to `receive` as it
// arrives and is not kept; `receive` returns false to stop reading, which ends the request
// without an error. The reply's status, or the failures of HttpSend; kTimeout when
// `total_ms` passed before `receive` stopped it (for a stream that stays silent, the caller's
// "nothing happened").
[[nodiscard]] Result<int> HttpStream(std::string_view origin, std::string_view method,
                                     std::string_view path, std::string_view body,
                                     const std::vector<std::pair<std::string, std::string>>& headers,
                                     const HttpLimits& limits, const HttpTls& tls,
                                     const std::function<bool(std::string_view)>& receive);

// One origin's keep-alive connection, reused by successive requests, with every bound and
// failure of HttpSend per request. Requests go one at a time: a mutex serialises callers
// from several threads (a second caller waits for the first's reply). One thread per session
// (started by its first request, joined by the destructor) enforces each request's total
// deadline, armed for the request and disarmed after it, instead of a thread per request.
//
// The connection is opened by the first request and kept while the server keeps it: a
// reply that ends in an error, a body cut at `max_body`, a deadline that fired or a server's
// "Connection: close" closes it, and the next request opens a new one (loading the TLS files
// again, so a rotated certificate is used from the next connection on). A request is written
// to a kept connection only when nothing is waiting to be read on it; when the server has
// closed it meanwhile (or sent anything unasked), the request goes on a new connection
// instead: it had not been written, so this is not a resend (see Exchange in http.cc). A
// request that fails after it was written is never sent again, on any connection.
class HttpSession {
 public:
  // `origin` and `tls` as for HttpSend; `limits` for Send without limits of its own.
  HttpSession(std::string origin, HttpTls tls, HttpLimits limits);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // One request, with the failures HttpSend documents (kInternal when the session's
  // deadline thread cannot start).
  [[nodiscard]] Result<HttpReply> Send(std::string_view method, std::string_view path,
                                       std::string_view body,
                                       const std::vector<std::pair<std::string, std::string>>& headers);
  // The same under `limits` for this request (a caller's deadline that is partly spent).
  [[nodiscard]] Result<HttpReply> Send(std::string_view method, std::string_view path,
                                       std::string_view body,
                                       const std::vector<std::pair<std::string, std::string>>& headers,
                                       const HttpLimits& limits);

  const std::string& origin() const;
  // Connections this session has opened or tried to open (each request that found none open,
  // or found the kept one closed by the server); for tests and benchmarks.
  std::size_t connections_opened() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// True when `s` holds a C0 control character or DEL.
bool HasControlCharacter(std::string_view s);

}  // namespace berth

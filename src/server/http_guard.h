// GuardedServer: cpp-httplib 0.11.4's Server with the bounds it lacks (docs/serve.md, "The
// HTTP server and its CVEs"). It replaces httplib's per-connection loop with its own, over
// a socket stream that
//  - gives each request one total deadline from its first byte to its last (httplib's read
//    timeout is per read, so a client sending a byte a second would never be cut off);
//  - caps the request line plus headers at a fixed number of bytes (0.11.4 bounds neither
//    the number of header lines nor, before 0.20.1, their length);
// and it refuses, before any body byte is read, what 0.11.4 cannot read safely: a
// Transfer-Encoding (chunked bodies are unbounded there), a Content-Encoding (decompressed
// without bound), a bad or repeated Content-Length; a request with neither length nor
// encoding has no body (httplib would read one until the peer closes). Range requests and
// response compression are switched off. A refused request's connection is closed after the
// reply.
// Thread-safe as httplib::Server is: configure before Listen, Stop from any thread.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "base/unique_fd.h"

namespace berth::server {

struct HttpLimits {
  std::chrono::milliseconds request_timeout{10000};  // first byte to last of one request
  std::chrono::milliseconds io_timeout{5000};        // one read or one write
  std::chrono::seconds keep_alive{5};                // idle between requests
  std::size_t keep_alive_requests = 100;             // then the connection is closed
  std::size_t header_bytes = 16 * 1024;              // request line plus headers
  std::size_t body_bytes = 64 * 1024;                // payload limit
  std::size_t threads = 8;                           // the worker pool
};

// Why a request was refused before its body was read, or kNone.
enum class Refusal { kNone, kTransferEncoding, kContentEncoding, kBadLength };

class GuardedServer : public httplib::Server {
 public:
  explicit GuardedServer(const HttpLimits& limits);

  // The refusal of the request being handled on the calling thread (set before routing; a
  // pre-routing handler answers it). kNone outside a request.
  static Refusal CurrentRefusal();
  // Stops listening and ends idle keep-alive connections at once (httplib's stop() alone
  // waits for each to time out). Any thread.
  void Shutdown();
  // Connections this server has cut off at their request deadline (for tests and metrics).
  std::size_t deadline_cutoffs() const { return cutoffs_.load(); }

 private:
  bool process_and_close_socket(socket_t sock) override;

  HttpLimits limits_;
  UniqueFd stop_event_;  // an eventfd, readable once Shutdown was called
  std::atomic<std::size_t> cutoffs_{0};
};

}  // namespace berth::server

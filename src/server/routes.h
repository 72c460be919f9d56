// The routes of `berth serve` (docs/api.md): the page, the read-only API, the event stream,
// /metrics, and the two writes (assign, release) behind the bearer token. Every reply
// carries the security headers; every error is JSON {"error", "message", "remedies"} with
// the status that fits. Handlers run on the server's worker threads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "server/fleet_watch.h"
#include "server/http_guard.h"
#include "server/token.h"

namespace berth::server {

struct RouteOptions {
  std::optional<BearerToken> token;  // absent: writes are refused (403)
  std::vector<std::string> hosts;    // Host header values accepted ("127.0.0.1:8470", ...)
  std::size_t max_streams = 2;       // event streams at once (each holds a worker)
  std::chrono::milliseconds stream_ping{15000};
};

// Registers every route on `svr`. `watch` and `options` must outlive the server.
void InstallRoutes(GuardedServer& svr, FleetWatch& watch, const RouteOptions& options);

// The headers every reply carries (CSP, nosniff, no referrer, no framing, no caching).
httplib::Headers SecurityHeaders();

}  // namespace berth::server

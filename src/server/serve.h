// `berth serve`: the fleet's registry over HTTP (docs/serve.md): the API, /metrics and the
// page, from a FleetWatch over the store, behind a GuardedServer. Runs in the foreground
// until SIGTERM or SIGINT, then stops cleanly. Call from the main thread, once.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "server/fleet_watch.h"
#include "server/http_guard.h"

namespace berth::server {

inline constexpr int kDefaultPort = 7480;  // not IANA-assigned, outside Linux's ephemeral range

struct ListenAddress {
  std::string host;  // an IP literal, without brackets
  int port = kDefaultPort;
  bool loopback = true;
  std::string Url() const;  // "http://127.0.0.1:7480", "http://[::1]:7480"
};

// "127.0.0.1:7480", "[::1]:7480", "localhost:7480" (as 127.0.0.1), or an address without a
// port. Failure: kInvalidArgument saying what is accepted; kPermissionDenied for an address
// that is not loopback when `allow_remote` is false (the message says why).
[[nodiscard]] Result<ListenAddress> ParseListen(std::string_view text, bool allow_remote);

struct ServeConfig {
  ListenAddress listen;
  std::vector<std::string> allow_hosts;  // more Host header names to accept (a proxy's)
  std::string token_file;                // "" = no writes
  HttpLimits limits;
  FleetWatch::Options watch;
};

// Serves until SIGTERM/SIGINT. `announce` is told the URL once the port is bound.
// Failure: the token file's, the store's first read, or the bind's (kUnavailable naming
// the address).
[[nodiscard]] Result<void> Serve(const ServeConfig& config, StoreOpener open,
                                 const std::function<void(std::string_view)>& announce);

}  // namespace berth::server

// Registering services with a Consul agent over HTTP: PUT /v1/agent/service/register, one
// request a service, bodies built by ConsulRegistrations (emit/service_export.h). Blocking, with
// a timeout; not thread-safe (one call at a time on a given thread).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth {

// One service's body for Consul's PUT /v1/agent/service/register.
struct ConsulRegistration {
  std::string id;
  std::string body;  // JSON
};

struct ConsulOptions {
  std::string token;      // X-Consul-Token; "" sends none (the caller may read CONSUL_HTTP_TOKEN)
  int timeout_ms = 5000;  // connect, each read and each write, per request
  int total_ms = 15000;   // the whole of one request, however the agent paces its bytes
  std::size_t max_body = 1 << 20;  // the largest reply body read; a longer one ends the request
};

// Registers each service at `url` ("http://host:8500" or "https://..."). Stops at the first
// failure. Returns how many were registered. Failure: kInvalidArgument for a URL that is not
// http(s)://HOST[:PORT], or a token with a control character (CR, LF, ...: it would inject
// a header), found before anything is sent; kUnavailable when the agent cannot be reached, or
// a request passed `total_ms` or a reply body `max_body`; kPermissionDenied for 401/403;
// kInternal with the agent's status and message for any other non-2xx reply.
[[nodiscard]] Result<std::size_t> RegisterWithConsul(std::string_view url,
                                                     const std::vector<ConsulRegistration>& regs,
                                                     const ConsulOptions& options = {});

}  // namespace berth

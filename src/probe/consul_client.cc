#include "probe/consul_client.h"

#include <httplib.h>

#include <fmt/core.h>

#include "base/text.h"

namespace berth {

Result<std::size_t> RegisterWithConsul(std::string_view url,
                                       const std::vector<ConsulRegistration>& regs,
                                       const ConsulOptions& options) {
  const bool http = url.starts_with("http://"), https = url.starts_with("https://");
  std::string_view rest = url.substr(http ? 7 : https ? 8 : 0);
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if ((!http && !https) || rest.empty() ||
      rest.find_first_of("/?#@ \t\r\n") != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("invalid Consul URL '{}': use http://HOST:PORT or https://HOST:PORT "
                            "(the agent's address, e.g. http://127.0.0.1:8500)",
                            CommentText(url)));
  }
  httplib::Client client(fmt::format("{}://{}", http ? "http" : "https", rest));
  const auto seconds = options.timeout_ms / 1000;
  const auto micros = (options.timeout_ms % 1000) * 1000;
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  client.set_write_timeout(seconds, micros);
  httplib::Headers headers;
  if (!options.token.empty()) headers.emplace("X-Consul-Token", options.token);
  std::size_t done = 0;
  for (const ConsulRegistration& r : regs) {
    auto res = client.Put("/v1/agent/service/register", headers, r.body, "application/json");
    if (!res) {
      return Fail(ErrorCode::kUnavailable,
                  fmt::format("Consul agent {} unreachable while registering {}: {}",
                              CommentText(url), r.id, httplib::to_string(res.error())));
    }
    if (res->status == 401 || res->status == 403) {
      return Fail(ErrorCode::kPermissionDenied,
                  fmt::format("Consul agent {} refused {} ({}): set an ACL token with "
                              "service:write (CONSUL_HTTP_TOKEN)",
                              CommentText(url), r.id, res->status));
    }
    if (res->status < 200 || res->status > 299) {
      return Fail(ErrorCode::kInternal,
                  fmt::format("Consul agent {} answered {} for {}: {}", CommentText(url),
                              res->status, r.id, CommentText(res->body.substr(0, 200))));
    }
    ++done;
  }
  return done;
}

}  // namespace berth

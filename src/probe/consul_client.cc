#include "probe/consul_client.h"

#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "base/http.h"
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
  if (HasControlCharacter(options.token)) {
    return Fail(ErrorCode::kInvalidArgument,
                "the Consul ACL token (CONSUL_HTTP_TOKEN) contains a control character (CR, LF, tab, ...), "
                "which would change the HTTP request: nothing was sent; set the token without it");
  }
  const std::string origin = fmt::format("{}://{}", http ? "http" : "https", rest);
  std::vector<std::pair<std::string, std::string>> headers;
  if (!options.token.empty()) headers.emplace_back("X-Consul-Token", options.token);
  const HttpLimits limits{options.timeout_ms, options.total_ms, options.max_body};
  std::size_t done = 0;
  for (const ConsulRegistration& r : regs) {
    auto reply = HttpSend(origin, "PUT", "/v1/agent/service/register", r.body, headers, limits);
    if (!reply) {
      // "did not finish within N ms", "a reply body over N bytes", "unreachable: ...": the
      // agent is not usable, whichever it was.
      const ErrorCode code = reply.error().code == ErrorCode::kInvalidArgument ||
                                     reply.error().code == ErrorCode::kInternal
                                 ? reply.error().code
                                 : ErrorCode::kUnavailable;
      return Fail(code,
                  fmt::format("Consul agent {}: {}, while registering {}: nothing registered "
                              "from it on; check the agent and the URL",
                              CommentText(url), reply.error().message, r.id));
    }
    const HttpReply& res = *reply;
    if (res.status == 401 || res.status == 403) {
      return Fail(ErrorCode::kPermissionDenied,
                  fmt::format("Consul agent {} refused {} ({}): set an ACL token with "
                              "service:write (CONSUL_HTTP_TOKEN)",
                              CommentText(url), r.id, res.status));
    }
    if (res.status < 200 || res.status > 299) {
      return Fail(ErrorCode::kInternal,
                  fmt::format("Consul agent {} answered {} for {}: {}", CommentText(url),
                              res.status, r.id, CommentText(res.body.substr(0, 200))));
    }
    ++done;
  }
  return done;
}

}  // namespace berth

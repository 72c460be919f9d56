#include "probe/consul_client.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>

#include <fmt/core.h>

#include "base/text.h"

namespace berth {
namespace {

// Ends a request that runs past its total deadline: httplib's timeouts are per read, so an
// agent sending a byte now and then would keep it forever. A thread waits for the deadline
// and shuts the client's socket down (httplib's stop(), meant to be called from another
// thread); the blocked read then fails and `fired` says why.
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

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

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
  if (HasControl(options.token)) {
    return Fail(ErrorCode::kInvalidArgument,
                "the Consul ACL token (CONSUL_HTTP_TOKEN) contains a control character (CR, LF, tab, ...), "
                "which would change the HTTP request: nothing was sent; set the token without it");
  }
  httplib::Client client(fmt::format("{}://{}", http ? "http" : "https", rest));
  const auto seconds = options.timeout_ms / 1000;
  const auto micros = (options.timeout_ms % 1000) * 1000;
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  client.set_write_timeout(seconds, micros);
  std::size_t done = 0;
  for (const ConsulRegistration& r : regs) {
    httplib::Request req;
    req.method = "PUT";
    req.path = "/v1/agent/service/register";
    if (!options.token.empty()) req.headers.emplace("X-Consul-Token", options.token);
    req.headers.emplace("Content-Type", "application/json");
    req.body = r.body;
    httplib::Response res;
    bool too_big = false;
    req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
      if (res.body.size() + n > options.max_body) {
        too_big = true;
        return false;
      }
      res.body.append(data, n);
      return true;
    };
    httplib::Error error = httplib::Error::Success;
    bool sent = false, late = false;
    try {
      Watchdog watchdog(client, options.total_ms);
      sent = client.send(req, res, error);
      late = watchdog.fired();
    } catch (const std::system_error& e) {
      return Fail(ErrorCode::kInternal,
                  fmt::format("cannot start the deadline thread for the Consul request ({}): nothing registered "
                              "from {} on; try again with fewer processes running",
                              e.what(), r.id));
    }
    if (late) {
      return Fail(ErrorCode::kUnavailable,
                  fmt::format("Consul agent {} did not finish answering the registration of {} within {} ms: "
                              "check the agent",
                              CommentText(url), r.id, options.total_ms));
    }
    if (too_big) {
      return Fail(ErrorCode::kUnavailable,
                  fmt::format("Consul agent {} sent a reply body over {} bytes for {}: not an agent's answer; "
                              "check the URL",
                              CommentText(url), options.max_body, r.id));
    }
    if (!sent) {
      return Fail(ErrorCode::kUnavailable,
                  fmt::format("Consul agent {} unreachable while registering {}: {}",
                              CommentText(url), r.id, httplib::to_string(error)));
    }
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

#include "base/http.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>

#include <fmt/core.h>

namespace berth {
namespace {

// Ends a request that runs past its total deadline: a thread waits for the deadline and
// shuts the client's socket down (httplib's stop(), meant to be called from another thread);
// the blocked read then fails and `fired` says why.
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

}  // namespace

bool HasControlCharacter(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

namespace {

// One request; the body goes to `receive` as it arrives (false: stop reading, which is not
// an error: `stopped` says so). The status, or the failures HttpSend documents.
Result<int> Exchange(std::string_view origin, std::string_view method, std::string_view path,
                     std::string_view body,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     const HttpLimits& limits,
                     const std::function<bool(const char*, std::size_t)>& receive, bool& stopped) {
  for (const auto& [name, value] : headers) {
    if (HasControlCharacter(name) || HasControlCharacter(value)) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("the {} header holds a control character (CR, LF, tab, ...), which "
                              "would change the HTTP request: nothing was sent",
                              HasControlCharacter(name) ? std::string("a") : name));
    }
  }
  httplib::Client client{std::string(origin)};
  const auto seconds = limits.timeout_ms / 1000;
  const auto micros = (limits.timeout_ms % 1000) * 1000;
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  client.set_write_timeout(seconds, micros);
  httplib::Request req;
  req.method = std::string(method);
  req.path = std::string(path);
  for (const auto& [name, value] : headers) req.headers.emplace(name, value);
  if (!body.empty()) req.headers.emplace("Content-Type", "application/json");
  req.body = std::string(body);
  httplib::Response res;
  stopped = false;
  bool received = false;
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    received = received || n > 0;
    if (receive(data, n)) return true;
    stopped = true;
    return false;
  };
  httplib::Error error = httplib::Error::Success;
  bool sent = false, late = false;
  try {
    Watchdog watchdog(client, limits.total_ms);
    sent = client.send(req, res, error);
    late = watchdog.fired();
  } catch (const std::system_error& e) {
    return Fail(ErrorCode::kInternal,
                fmt::format("cannot start the deadline thread for the request ({}); try again "
                            "with fewer processes running",
                            e.what()));
  }
  if (stopped) return res.status;
  // A chunked body followed by trailers (etcd's gateway sends Grpc-Trailer-* after every
  // error body) fails in httplib 0.11 after the whole body arrived: the reply stands. A body
  // cut short instead does not parse for the caller (a JSON prefix is never a JSON value).
  if (!sent && !late && error == httplib::Error::Read && res.status > 0 && received) {
    return res.status;
  }
  if (late) {
    return Fail(ErrorCode::kTimeout, fmt::format("did not finish within {} ms", limits.total_ms));
  }
  if (!sent) {
    // Not connected: the request never left. Anything later: it may have been acted on.
    const bool never_sent = error == httplib::Error::Connection ||
                            error == httplib::Error::ConnectionTimeout ||
                            error == httplib::Error::BindIPAddress ||
                            error == httplib::Error::SSLConnection;
    return Fail(never_sent ? ErrorCode::kUnavailable : ErrorCode::kTimeout,
                fmt::format("{}: {}", never_sent ? "unreachable" : "failed after sending the request",
                            httplib::to_string(error)));
  }
  return res.status;
}

}  // namespace

Result<HttpReply> HttpSend(std::string_view origin, std::string_view method, std::string_view path,
                           std::string_view body,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const HttpLimits& limits) {
  HttpReply reply;
  bool too_big = false, stopped = false;
  auto status = Exchange(origin, method, path, body, headers, limits,
                         [&](const char* data, std::size_t n) {
                           if (reply.body.size() + n > limits.max_body) {
                             too_big = true;
                             return false;
                           }
                           reply.body.append(data, n);
                           return true;
                         },
                         stopped);
  if (too_big) {
    return Fail(ErrorCode::kMalformed, fmt::format("a reply body over {} bytes", limits.max_body));
  }
  if (!status) return std::unexpected(status.error());
  reply.status = *status;
  return reply;
}

Result<int> HttpStream(std::string_view origin, std::string_view method, std::string_view path,
                       std::string_view body,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       const HttpLimits& limits,
                       const std::function<bool(std::string_view)>& receive) {
  bool stopped = false;
  return Exchange(origin, method, path, body, headers, limits,
                  [&](const char* data, std::size_t n) { return receive(std::string_view(data, n)); },
                  stopped);
}

}  // namespace berth

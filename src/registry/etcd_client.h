// A client of etcd's v3 JSON gateway (docs/etcd-store.md) over a list of endpoints: each call
// goes to the endpoint that answered last, and on to the next one when an endpoint cannot be
// reached or answers 503 (no leader, member stopping), all within one total deadline per call.
// Requests and answers go through etcd_codec; every HTTP request is bounded (base/http.h).
// Each endpoint's requests go over one keep-alive connection (an HttpSession per endpoint,
// opened by the first request to it and reopened when the member closed it); a watch opens
// a connection of its own, since it holds it for as long as it waits.
// With TLS every endpoint is https and its certificate verified; with credentials the client
// authenticates before its first request and sends the token with each one, and when etcd
// says the token is no longer valid (expired, revoked, auth store changed) it authenticates
// again and sends the request once more (etcd refused it unread, so nothing is done twice).
// Not thread-safe: one client per thread. Move-only (it owns the endpoints' connections).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/http.h"
#include "registry/etcd_codec.h"

namespace berth::registry::etcd {

// An etcd user (etcd's --auth). Never printed: messages name the user, not the password.
struct Credentials {
  std::string user;
  std::string password;
};

// How the client talks to etcd: plain http, or TLS (`tls`: https, certificates `files`), and
// as a user or not.
struct Security {
  bool tls = false;
  HttpTls files;
  std::optional<Credentials> credentials;
};

class Client {
 public:
  // `endpoints`: "HOST:PORT" each. `limits.total_ms` bounds each call across every
  // endpoint it tries, authenticating (again) included.
  Client(std::vector<std::string> endpoints, HttpLimits limits, Security security = {});

  [[nodiscard]] Result<RangeResult> Range(const RangeRequest& request);
  [[nodiscard]] Result<std::int64_t> Put(std::string_view key, std::string_view value);
  // The number of keys deleted.
  [[nodiscard]] Result<std::int64_t> Delete(std::string_view key, std::string_view range_end = {});
  // `read_only`: a txn of ranges only, safe to send again to the next endpoint after a timeout.
  [[nodiscard]] Result<TxnResult> Txn(const std::vector<Compare>& compares,
                                      const std::vector<Op>& success,
                                      const std::vector<Op>& failure, bool read_only = false);

  [[nodiscard]] Result<Lease> LeaseGrant(std::int64_t ttl_seconds);
  // ttl 0: the lease is gone (expired or revoked).
  [[nodiscard]] Result<Lease> LeaseKeepAlive(std::int64_t id);
  [[nodiscard]] Result<void> LeaseRevoke(std::int64_t id);
  // Seconds left on lease `id`, -1 when it is gone.
  [[nodiscard]] Result<std::int64_t> LeaseTimeToLive(std::int64_t id);
  // Watches [key, range_end) from `start_revision` until a change arrives or `timeout_ms`
  // passes: the revision of the first change (its events' highest mod_revision), or 0 on a timeout (nothing changed). A
  // start_revision already compacted away counts as a change (at the compaction's revision).
  // Tries the endpoints in turn while one cannot be reached.
  [[nodiscard]] Result<std::int64_t> Watch(std::string_view key, std::string_view range_end,
                                           std::int64_t start_revision, int timeout_ms);
  // The status of endpoint `i` alone (no failover), bounded by `timeout_ms`.
  [[nodiscard]] Result<MemberStatus> Status(std::size_t i, int timeout_ms);

  // Authenticates now (with credentials; else nothing to do). Failure: kPermissionDenied for
  // a wrong user or password; the request's failure otherwise.
  [[nodiscard]] Result<void> Authenticate();
  // The token the next request carries ("" for none); for tests.
  const std::string& token() const { return token_; }

  const std::vector<std::string>& endpoints() const { return endpoints_; }
  // Connections opened to all endpoints so far, watches not counted; for tests and benchmarks.
  std::size_t connections_opened() const;
  // Calls made so far (each a request, or more when it fails over or authenticates again),
  // watches and status requests not counted; for tests and benchmarks.
  std::size_t calls() const { return calls_; }
  // The endpoint the next call starts with.
  const std::string& current() const { return endpoints_[current_]; }

 private:
  // POSTs to `path` on the current endpoint, and to the next ones while an endpoint cannot be
  // reached or answers 503; a `read_only` request also after a timeout, round the endpoints
  // until the deadline. Failure: kUnavailable naming every endpoint tried when none
  // answered (nothing was sent anywhere); kUnavailable saying the request may have been
  // applied when an endpoint took it and then went silent (it is not resent elsewhere).
  // Authenticated: with credentials, authenticates first when there is no token yet and
  // again (once) when etcd refuses the token; an answer refusing the user becomes an Error
  // (kPermissionDenied: no credentials where etcd wants them, a key the user's roles do not
  // cover, a client certificate etcd's gateway will not take).
  Result<HttpReply> Post(std::string_view path, const std::string& body, bool read_only);
  using Deadline = std::chrono::steady_clock::time_point;
  Result<HttpReply> PostOnce(std::string_view path, const std::string& body, bool read_only,
                             Deadline deadline);
  Result<void> Authenticate(Deadline deadline);
  Deadline NextDeadline() const;
  // An answer refusing the user (see Post) as an Error naming `where`; else nothing.
  Result<void> Refusal(const HttpReply& r, const std::string& where) const;
  std::string Origin(std::size_t i) const;
  std::vector<std::pair<std::string, std::string>> Headers() const;

  std::vector<std::string> endpoints_;
  HttpLimits limits_;
  Security security_;
  std::vector<std::unique_ptr<HttpSession>> sessions_;  // one per endpoint, same order
  std::string token_;
  bool auth_disabled_ = false;  // credentials given, but etcd has no authentication enabled
  std::size_t current_ = 0;
  std::size_t calls_ = 0;
};

}  // namespace berth::registry::etcd

#include "registry/etcd_client.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include <fmt/core.h>

#include "base/text.h"

namespace berth::registry::etcd {

Client::Client(std::vector<std::string> endpoints, HttpLimits limits, Security security)
    : endpoints_(std::move(endpoints)), limits_(limits), security_(std::move(security)) {
  if (endpoints_.empty()) endpoints_.push_back("127.0.0.1:2379");
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    sessions_.push_back(std::make_unique<HttpSession>(Origin(i), security_.files, limits_));
  }
}

std::size_t Client::connections_opened() const {
  std::size_t n = 0;
  for (const auto& session : sessions_) n += session->connections_opened();
  return n;
}

std::string Client::Origin(std::size_t i) const {
  return (security_.tls ? "https://" : "http://") + endpoints_.at(i);
}

std::vector<std::pair<std::string, std::string>> Client::Headers() const {
  if (token_.empty()) return {};
  return {{"Authorization", token_}};
}

Client::Deadline Client::NextDeadline() const {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(limits_.total_ms);
}

Result<HttpReply> Client::PostOnce(std::string_view path, const std::string& body, bool read_only,
                                   Deadline deadline) {
  using Clock = std::chrono::steady_clock;
  std::string tried;
  // A write goes round the endpoints once; a read, which is safe to repeat, goes round until
  // the deadline (a member that lost its leader answers again once a new one is elected).
  for (std::size_t n = 0; n < endpoints_.size() || (read_only && Clock::now() < deadline); ++n) {
    const std::size_t i = (current_ + n) % endpoints_.size();
    if (n >= endpoints_.size() && i == current_) {
      // A read going round again: back off a little, not a busy loop of refused connects.
      std::this_thread::sleep_until(std::min(deadline, Clock::now() + std::chrono::milliseconds(200)));
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    HttpLimits limits = limits_;
    limits.total_ms = static_cast<int>(left);
    limits.timeout_ms = std::min(limits.timeout_ms, limits.total_ms);
    auto reply = sessions_[i]->Send("POST", path, body, Headers(), limits);
    if (reply && reply->status != 503) {
      current_ = i;
      return reply;
    }
    if (!reply && reply.error().code == ErrorCode::kTimeout && !read_only) {
      // Sent, then no answer: a write may have been applied, so it is not sent again elsewhere.
      return Fail(ErrorCode::kUnavailable,
                  fmt::format("etcd at {} {}: the request may or may not have been applied; "
                              "read the registry before trying again",
                              CommentText(endpoints_[i]), reply.error().message));
    }
    if (!reply && reply.error().code != ErrorCode::kUnavailable &&
        reply.error().code != ErrorCode::kTimeout) {
      return std::unexpected(Wrap(reply.error(), fmt::format("etcd at {}: ", CommentText(endpoints_[i]))));
    }
    if (n < endpoints_.size()) {  // each endpoint's first failure names it
      tried += fmt::format("{}{} ({})", tried.empty() ? "" : ", ", CommentText(endpoints_[i]),
                           reply ? std::string("503: no leader or stopping") : reply.error().message);
    }
  }
  return Fail(ErrorCode::kUnavailable,
              fmt::format("no etcd endpoint answered within {} ms: {}; check that etcd runs there "
                          "and has a quorum",
                          limits_.total_ms, tried.empty() ? std::string("none tried") : tried));
}

Result<void> Client::Authenticate() { return Authenticate(NextDeadline()); }

Result<void> Client::Authenticate(Deadline deadline) {
  if (!security_.credentials || auth_disabled_) return {};
  const Credentials& c = *security_.credentials;
  token_.clear();
  // Safe to send again after a timeout: it only issues a token.
  const HttpReply r = BERTH_TRY(PostOnce("/v3/auth/authenticate",
                                         EncodeAuthenticate(c.user, c.password),
                                         /*read_only=*/true, deadline));
  const std::string where = CommentText(current());
  switch (ClassifyAuthRefusal(r.body, r.status)) {
    case AuthRefusal::kBadCredentials:
      return Fail(ErrorCode::kPermissionDenied,
                  fmt::format("etcd at {} refused user '{}': wrong user name or password; nothing "
                              "was written",
                              where, CommentText(c.user)),
                  {{Remedy::kGiveStoreCredentials}});
    case AuthRefusal::kAuthNotEnabled:
      auth_disabled_ = true;  // an open etcd: the requests go without a token
      return {};
    default:
      break;
  }
  if (auto refused = Refusal(r, where); !refused) return std::unexpected(refused.error());
  token_ = BERTH_TRY(DecodeAuthenticate(r.body, r.status));
  return {};
}

Result<HttpReply> Client::Post(std::string_view path, const std::string& body, bool read_only) {
  // One deadline for the whole call, authenticating included.
  const Deadline deadline = NextDeadline();
  ++calls_;
  if (security_.credentials && token_.empty()) BERTH_TRY(Authenticate(deadline));
  HttpReply r = BERTH_TRY(PostOnce(path, body, read_only, deadline));
  const AuthRefusal refusal = ClassifyAuthRefusal(r.body, r.status);
  if ((!token_.empty() && refusal == AuthRefusal::kTokenInvalid) ||
      (security_.credentials && refusal == AuthRefusal::kNoToken)) {
    // etcd refused the token (or, enabling authentication since, its absence) before acting
    // on the request: a new token, and the request again, once.
    auth_disabled_ = false;
    BERTH_TRY(Authenticate(deadline));
    r = BERTH_TRY(PostOnce(path, body, read_only, deadline));
  }
  BERTH_TRY(Refusal(r, CommentText(current())));
  return r;
}

Result<void> Client::Refusal(const HttpReply& r, const std::string& where) const {
  const std::string user =
      security_.credentials ? fmt::format("user '{}'", CommentText(security_.credentials->user))
                            : std::string("no user");
  switch (ClassifyAuthRefusal(r.body, r.status)) {
    case AuthRefusal::kNoToken:
      return Fail(ErrorCode::kPermissionDenied,
                  fmt::format("etcd at {} has authentication enabled and berth has no etcd user "
                              "and password for it: nothing was written",
                              where),
                  {{Remedy::kGiveStoreCredentials}});
    case AuthRefusal::kTokenInvalid:
      return Fail(ErrorCode::kPermissionDenied,
                  fmt::format("etcd at {} refused the token of {} just issued: nothing was "
                              "written; try again",
                              where, user));
    case AuthRefusal::kPermissionDenied:
      return Fail(ErrorCode::kPermissionDenied,
                  fmt::format("etcd at {} refused {} a key (permission denied): nothing was "
                              "written; the user's role must grant readwrite on the registry's "
                              "prefix (docs/etcd-store.md)",
                              where, user));
    case AuthRefusal::kCommonNameRefused:
      return Fail(ErrorCode::kPermissionDenied,
                  fmt::format("etcd at {} refuses, with authentication enabled, a client "
                              "certificate with a Common Name on its JSON gateway (etcd 3.4): "
                              "nothing was written; use a client certificate whose subject has "
                              "no CN (e.g. /O=berth)",
                              where));
    case AuthRefusal::kBadCredentials:
    case AuthRefusal::kAuthNotEnabled:
    case AuthRefusal::kNone:
      break;
  }
  return {};
}

Result<RangeResult> Client::Range(const RangeRequest& request) {
  const HttpReply r = BERTH_TRY(Post("/v3/kv/range", EncodeRange(request), /*read_only=*/true));
  return DecodeRange(r.body, r.status);
}

Result<std::int64_t> Client::Put(std::string_view key, std::string_view value) {
  const HttpReply r = BERTH_TRY(Post("/v3/kv/put", EncodePut(key, value), false));
  return DecodePut(r.body, r.status);
}

Result<std::int64_t> Client::Delete(std::string_view key, std::string_view range_end) {
  const HttpReply r = BERTH_TRY(Post("/v3/kv/deleterange", EncodeDelete(key, range_end), false));
  return DecodeDelete(r.body, r.status);
}

Result<TxnResult> Client::Txn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                              const std::vector<Op>& failure, bool read_only) {
  const std::string body = BERTH_TRY(EncodeTxn(compares, success, failure));
  const HttpReply r = BERTH_TRY(Post("/v3/kv/txn", body, read_only));
  return DecodeTxn(r.body, r.status);
}

Result<Lease> Client::LeaseGrant(std::int64_t ttl_seconds) {
  const HttpReply r = BERTH_TRY(Post("/v3/lease/grant", EncodeLeaseGrant(ttl_seconds), false));
  return DecodeLeaseGrant(r.body, r.status);
}

Result<Lease> Client::LeaseKeepAlive(std::int64_t id) {
  const HttpReply r = BERTH_TRY(Post("/v3/lease/keepalive", EncodeLeaseId(id), true));
  return DecodeLeaseKeepAlive(r.body, r.status);
}

Result<void> Client::LeaseRevoke(std::int64_t id) {
  const HttpReply r = BERTH_TRY(Post("/v3/lease/revoke", EncodeLeaseId(id), false));
  if (r.status == 404) return {};  // already gone
  BERTH_TRY(DecodePut(r.body, r.status));  // an answer with a header, or an error body
  return {};
}

Result<std::int64_t> Client::LeaseTimeToLive(std::int64_t id) {
  const HttpReply r = BERTH_TRY(Post("/v3/lease/timetolive", EncodeLeaseId(id), true));
  return DecodeLeaseTimeToLive(r.body, r.status);
}

Result<std::int64_t> Client::Watch(std::string_view key, std::string_view range_end,
                                   std::int64_t start_revision, int timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  const std::string body = EncodeWatchCreate(key, range_end, start_revision);
  if (security_.credentials && token_.empty()) BERTH_TRY(Authenticate(deadline));
  std::string tried;
  for (std::size_t n = 0; n < endpoints_.size(); ++n) {
    const std::size_t i = (current_ + n) % endpoints_.size();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return 0;
    HttpLimits limits = limits_;
    limits.total_ms = static_cast<int>(left);
    limits.timeout_ms = std::min(limits.timeout_ms, limits.total_ms);
    // The stream is one JSON object per line; each line is bounded like any answer.
    std::string line;
    std::int64_t changed = 0;
    std::optional<Error> bad;
    auto status = HttpStream(Origin(i), "POST", "/v3/watch", body, Headers(), limits, security_.files,
                             [&](std::string_view data) {
      for (char c : data) {
        if (c != '\n') {
          line += c;
          if (line.size() > kMaxResponseBytes) {
            bad = Error{ErrorCode::kMalformed, "etcd sent a watch message over the size berth reads"};
            return false;
          }
          continue;
        }
        auto m = DecodeWatchMessage(line);
        line.clear();
        if (!m) {
          bad = m.error();
          return false;
        }
        if (m->compact_revision > 0) {
          changed = m->compact_revision;
          return false;
        }
        if (m->canceled) {
          bad = Error{ErrorCode::kUnavailable, "etcd cancelled the watch"};
          return false;
        }
        if (m->events > 0) {
          changed = std::max<std::int64_t>({m->last_event_revision, 1});
          return false;
        }
      }
      return true;
    });
    if (bad) return std::unexpected(*bad);
    if (changed > 0) {
      current_ = i;
      return changed;
    }
    if (!status && status.error().code == ErrorCode::kTimeout) return 0;  // silence: no change
    // A stream that etcd had opened (200) and that ended with no event: silence too. A silent
    // watch ends so when the window is longer than one read's timeout (the read times out
    // after the "created" message); the caller watches again from the same revision, so
    // nothing is missed. A member gone meanwhile is found by that next watch.
    if (status && *status == 200) return 0;
    if (status && *status != 503) {
      return Fail(ErrorCode::kInternal, fmt::format("etcd at {} ended the watch with HTTP {}",
                                                    CommentText(endpoints_[i]), *status));
    }
    tried += fmt::format("{}{} ({})", tried.empty() ? "" : ", ", CommentText(endpoints_[i]),
                         status ? std::string("503: no leader or stopping") : status.error().message);
  }
  return Fail(ErrorCode::kUnavailable,
              fmt::format("no etcd endpoint took the watch: {}; check that etcd runs there", tried));
}

Result<MemberStatus> Client::Status(std::size_t i, int timeout_ms) {
  HttpLimits limits = limits_;
  limits.timeout_ms = timeout_ms;
  limits.total_ms = timeout_ms;
  const HttpReply r =
      BERTH_TRY(sessions_.at(i)->Send("POST", "/v3/maintenance/status", "{}", Headers(), limits));
  return DecodeStatus(r.body, r.status);
}

}  // namespace berth::registry::etcd

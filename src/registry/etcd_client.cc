#include "registry/etcd_client.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include <fmt/core.h>

#include "base/text.h"

namespace berth::registry::etcd {

Client::Client(std::vector<std::string> endpoints, HttpLimits limits)
    : endpoints_(std::move(endpoints)), limits_(limits) {
  if (endpoints_.empty()) endpoints_.push_back("127.0.0.1:2379");
}

Result<HttpReply> Client::Post(std::string_view path, const std::string& body, bool read_only) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(limits_.total_ms);
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
    auto reply = HttpSend("http://" + endpoints_[i], "POST", path, body, {}, limits);
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
      return Fail(reply.error().code, fmt::format("etcd at {}: {}", CommentText(endpoints_[i]),
                                                  reply.error().message));
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
    auto status = HttpStream("http://" + endpoints_[i], "POST", "/v3/watch", body, {}, limits,
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
  const HttpReply r = BERTH_TRY(
      HttpSend("http://" + endpoints_.at(i), "POST", "/v3/maintenance/status", "{}", {}, limits));
  return DecodeStatus(r.body, r.status);
}

}  // namespace berth::registry::etcd

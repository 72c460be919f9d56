// The etcd v3 JSON gateway's messages (docs/etcd-store.md), as pure functions: requests built
// as JSON text, responses decoded from untrusted bytes. Checked against Debian 12's etcd
// 3.4.23 (fixtures in tests/fixtures/etcd, captured from it): keys and values are base64;
// 64-bit integers arrive as strings; zero values are omitted (an empty range has no "kvs",
// a failed txn no "succeeded"); errors are {"error", "message", "code": gRPC code}. No I/O;
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::registry::etcd {

// A response body larger than this is refused before it is parsed.
inline constexpr std::size_t kMaxResponseBytes = 4 << 20;
// JSON nesting a gateway response never needs more of (a txn's responses hold ranges).
inline constexpr int kMaxResponseDepth = 12;

std::string Base64Encode(std::string_view bytes);
// Standard alphabet with padding, as etcd writes it. Failure: kMalformed.
[[nodiscard]] Result<std::string> Base64Decode(std::string_view text);

// The first key after every key that starts with `prefix`: the range_end of a prefix range.
std::string PrefixEnd(std::string_view prefix);

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

struct RangeRequest {
  std::string key;
  std::string range_end;        // "" = the one key
  std::int64_t revision = 0;    // 0 = the latest
  bool serializable = false;    // true: any member answers, possibly stale
  std::int64_t limit = 0;       // 0 = no limit
  std::int64_t min_mod_revision = 0;  // only keys modified at or after this revision
  bool count_only = false;      // only the count
};

struct RangeResult {
  std::int64_t revision = 0;  // the store's revision the answer is at
  std::vector<KeyValue> kvs;
  std::int64_t count = 0;
  bool more = false;
};

enum class CompareTarget : std::uint8_t { kCreate, kMod, kVersion, kValue };
enum class CompareResult : std::uint8_t { kEqual, kGreater, kLess, kNotEqual };

struct Compare {
  std::string key;
  std::string range_end;  // "" = the one key; else every key in [key, range_end)
  CompareTarget target = CompareTarget::kCreate;
  CompareResult result = CompareResult::kEqual;
  std::int64_t number = 0;  // create_revision, mod_revision or version
  std::string value;        // kValue
};

struct Op {
  enum class Kind : std::uint8_t { kRange, kPut, kDelete };
  Kind kind = Kind::kRange;
  std::string key;
  std::string range_end;    // kRange, kDelete
  std::string value;        // kPut
  std::int64_t lease = 0;   // kPut; 0 = none (a put without a lease detaches the key)
  bool ignore_lease = false;  // kPut: keep the key's lease
  std::int64_t min_mod_revision = 0;  // kRange: only keys modified at or after this revision
  bool count_only = false;            // kRange: only the count
};

struct OpResult {
  Op::Kind kind = Op::Kind::kRange;
  RangeResult range;         // kRange
  std::int64_t deleted = 0;  // kDelete
};

struct TxnResult {
  std::int64_t revision = 0;
  bool succeeded = false;  // absent in etcd's answer when false
  std::vector<OpResult> responses;
};

// etcd's limit of operations in one txn (compares count separately; see --max-txn-ops).
inline constexpr std::size_t kMaxTxnOps = 128;

// Request bodies for /v3/kv/range, /v3/kv/put, /v3/kv/deleterange and /v3/kv/txn.
std::string EncodeRange(const RangeRequest& r);
std::string EncodePut(std::string_view key, std::string_view value, std::int64_t lease = 0);
std::string EncodeDelete(std::string_view key, std::string_view range_end = {});
// Failure: kInvalidArgument when either branch holds more than kMaxTxnOps operations, or one
// key is written twice in a branch (etcd refuses both).
[[nodiscard]] Result<std::string> EncodeTxn(const std::vector<Compare>& compares,
                                            const std::vector<Op>& success,
                                            const std::vector<Op>& failure);

// Response decoders. `body` is what the gateway answered, `http_status` its status. An
// error body becomes an Error: code 14 (unavailable) kUnavailable, 11 (compacted) and 3
// (invalid argument) kInvalidArgument, others kInternal; the message is etcd's, cut to a
// sane length. A body that is not a well-formed answer: kMalformed naming what is wrong.
[[nodiscard]] Result<RangeResult> DecodeRange(std::string_view body, int http_status = 200);
[[nodiscard]] Result<std::int64_t> DecodePut(std::string_view body, int http_status = 200);
// The number of keys deleted.
[[nodiscard]] Result<std::int64_t> DecodeDelete(std::string_view body, int http_status = 200);
// The responses are those of the branch that ran, in its order.
[[nodiscard]] Result<TxnResult> DecodeTxn(std::string_view body, int http_status = 200);

// Leases (/v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke).
struct Lease {
  std::int64_t id = 0;
  std::int64_t ttl = 0;  // seconds; 0 in a keepalive answer: the lease is gone
};
std::string EncodeLeaseGrant(std::int64_t ttl_seconds);
std::string EncodeLeaseId(std::int64_t id);
// Failure as the decoders above; kMalformed for a grant without an ID or TTL.
[[nodiscard]] Result<Lease> DecodeLeaseGrant(std::string_view body, int http_status = 200);
// A keepalive answers {"result": {...}}; an expired lease answers without TTL (ttl 0).
[[nodiscard]] Result<Lease> DecodeLeaseKeepAlive(std::string_view body, int http_status = 200);

// /v3/lease/timetolive: the seconds left, or -1 when the lease is gone (etcd answers TTL -1).
[[nodiscard]] Result<std::int64_t> DecodeLeaseTimeToLive(std::string_view body, int http_status = 200);

// /v3/watch: a create request over [key, range_end) from `start_revision`, and one message of
// the stream it answers (one JSON object per line).
std::string EncodeWatchCreate(std::string_view key, std::string_view range_end,
                              std::int64_t start_revision);
struct WatchMessage {
  std::int64_t revision = 0;           // header.revision
  bool created = false;                // the answer to the create request
  bool canceled = false;               // the watch ended (compaction or an error)
  std::int64_t compact_revision = 0;   // set when start_revision was compacted away
  std::size_t events = 0;
  std::int64_t last_event_revision = 0;  // the highest kv.mod_revision among the events
};
// Failure: kMalformed; an {"error": ...} message as the decoders above.
[[nodiscard]] Result<WatchMessage> DecodeWatchMessage(std::string_view line);

// One member's /v3/maintenance/status.
struct MemberStatus {
  std::string version;
  std::uint64_t member_id = 0;  // header.member_id
  std::uint64_t leader = 0;     // 0: the member knows no leader
  std::int64_t revision = 0;
  std::int64_t raft_term = 0;
  std::int64_t db_size = 0;
};
[[nodiscard]] Result<MemberStatus> DecodeStatus(std::string_view body, int http_status = 200);

// Authentication (/v3/auth/authenticate). The token goes in each request's Authorization
// header; etcd refuses it once it expires (simple tokens: --auth-token-ttl after its last
// use), is revoked (the user's password set) or the auth store changed after it was issued.
inline constexpr std::size_t kMaxTokenBytes = 4096;
std::string EncodeAuthenticate(std::string_view user, std::string_view password);
// The token. Failure as the decoders above; kMalformed for an answer without a token, or
// with one over kMaxTokenBytes or holding a byte that cannot go in an HTTP header.
[[nodiscard]] Result<std::string> DecodeAuthenticate(std::string_view body, int http_status = 200);

// What an answer says about authentication, from etcd's error (code and text, stable since
// etcd 3.3) or the gateway's plain-text refusal of a client certificate with a Common Name.
enum class AuthRefusal : std::uint8_t {
  kNone,              // not an authentication error (or not an error)
  kTokenInvalid,      // expired, revoked, or issued before the auth store changed: authenticate again
  kNoToken,           // authentication is enabled and the request carried no token
  kBadCredentials,    // authenticate: wrong user or password
  kPermissionDenied,  // the user's roles do not cover the key
  kAuthNotEnabled,    // authenticate on a server without authentication
  kCommonNameRefused, // etcd 3.4's gateway refuses a client certificate with a CN when auth is on
};
AuthRefusal ClassifyAuthRefusal(std::string_view body, int http_status);

}  // namespace berth::registry::etcd

#include "registry/etcd_codec.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "base/json_text.h"
#include "base/text.h"

namespace berth::registry::etcd {
namespace {

using nlohmann::json;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::unexpected<Error> Bad(std::string_view what) {
  return Fail(ErrorCode::kMalformed, fmt::format("etcd answered something berth cannot read: {}", what));
}

// An int64 field: etcd writes them as strings ("revision": "12"), accepts numbers; absent
// means 0 (zero values are omitted).
Result<std::int64_t> Int(const json& obj, std::string_view key, std::string_view at) {
  auto it = obj.find(key);
  if (it == obj.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (!it->is_string()) return Bad(fmt::format("{}.{} is a {}, not an integer", at, key, it->type_name()));
  const std::string& s = it->get_ref<const std::string&>();
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return Bad(fmt::format("{}.{} is not an integer: '{}'", at, key, TerminalSafe(s, 32)));
  }
  return v;
}

// A uint64 field (member and cluster ids use the whole range): a string or a number.
Result<std::uint64_t> UInt(const json& obj, std::string_view key, std::string_view at) {
  auto it = obj.find(key);
  if (it == obj.end()) return 0;
  if (it->is_number_unsigned()) return it->get<std::uint64_t>();
  if (!it->is_string()) return Bad(fmt::format("{}.{} is a {}, not an integer", at, key, it->type_name()));
  const std::string& s = it->get_ref<const std::string&>();
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return Bad(fmt::format("{}.{} is not an integer: '{}'", at, key, TerminalSafe(s, 32)));
  }
  return v;
}

Result<std::string> Bytes(const json& obj, std::string_view key, std::string_view at) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::string();
  if (!it->is_string()) return Bad(fmt::format("{}.{} is a {}, not base64 text", at, key, it->type_name()));
  auto decoded = Base64Decode(it->get_ref<const std::string&>());
  if (!decoded) return Bad(fmt::format("{}.{}: {}", at, key, decoded.error().message));
  return decoded;
}

// Parses a gateway answer: bounded in size and depth, an error body turned into an Error.
Result<json> Parse(std::string_view body, int http_status) {
  if (body.size() > kMaxResponseBytes) {
    return Bad(fmt::format("a {}-byte answer, more than the {} allowed", body.size(), kMaxResponseBytes));
  }
  BERTH_TRY(CheckJsonDepth(body, kMaxResponseDepth, "etcd's answer"));
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Bad("not JSON");
  if (!doc.is_object()) return Bad(fmt::format("a {}, not an object", doc.type_name()));
  if (auto err = doc.find("error"); err != doc.end() || http_status != 200) {
    const std::int64_t code = BERTH_TRY(Int(doc, "code", "error"));
    std::string message = err != doc.end() && err->is_string() ? err->get<std::string>()
                                                               : fmt::format("HTTP {}", http_status);
    const ErrorCode ec = code == 14                ? ErrorCode::kUnavailable
                         : code == 3 || code == 11 ? ErrorCode::kInvalidArgument
                                                   : ErrorCode::kInternal;
    return Fail(ec, fmt::format("etcd refused the request: {} (gRPC code {}, HTTP {})",
                                TerminalSafe(message, 512), code, http_status));
  }
  return doc;
}

Result<std::int64_t> HeaderRevision(const json& doc, std::string_view at) {
  auto h = doc.find("header");
  if (h == doc.end() || !h->is_object()) return Bad(fmt::format("{} has no header", at));
  return Int(*h, "revision", fmt::format("{}.header", at));
}

Result<RangeResult> ReadRange(const json& doc, std::string_view at) {
  RangeResult r;
  r.revision = BERTH_TRY(HeaderRevision(doc, at));
  r.count = BERTH_TRY(Int(doc, "count", at));
  if (auto more = doc.find("more"); more != doc.end()) {
    if (!more->is_boolean()) return Bad(fmt::format("{}.more is not a boolean", at));
    r.more = more->get<bool>();
  }
  if (auto kvs = doc.find("kvs"); kvs != doc.end()) {
    if (!kvs->is_array()) return Bad(fmt::format("{}.kvs is not an array", at));
    r.kvs.reserve(kvs->size());
    for (std::size_t i = 0; i < kvs->size(); ++i) {
      const json& kv = (*kvs)[i];
      const std::string where = fmt::format("{}.kvs[{}]", at, i);
      if (!kv.is_object()) return Bad(fmt::format("{} is not an object", where));
      KeyValue out;
      out.key = BERTH_TRY(Bytes(kv, "key", where));
      out.value = BERTH_TRY(Bytes(kv, "value", where));
      out.create_revision = BERTH_TRY(Int(kv, "create_revision", where));
      out.mod_revision = BERTH_TRY(Int(kv, "mod_revision", where));
      out.version = BERTH_TRY(Int(kv, "version", where));
      out.lease = BERTH_TRY(Int(kv, "lease", where));
      if (out.key.empty()) return Bad(fmt::format("{} has no key", where));
      r.kvs.push_back(std::move(out));
    }
  }
  if (r.count < static_cast<std::int64_t>(r.kvs.size())) {
    return Bad(fmt::format("{}: count {} is less than the {} keys returned", at, r.count, r.kvs.size()));
  }
  return r;
}

constexpr std::string_view TargetName(CompareTarget t) {
  switch (t) {
    case CompareTarget::kCreate: return "CREATE";
    case CompareTarget::kMod: return "MOD";
    case CompareTarget::kVersion: return "VERSION";
    case CompareTarget::kValue: return "VALUE";
  }
  return "CREATE";
}

constexpr std::string_view ResultName(CompareResult r) {
  switch (r) {
    case CompareResult::kEqual: return "EQUAL";
    case CompareResult::kGreater: return "GREATER";
    case CompareResult::kLess: return "LESS";
    case CompareResult::kNotEqual: return "NOT_EQUAL";
  }
  return "EQUAL";
}

json OpJson(const Op& op) {
  switch (op.kind) {
    case Op::Kind::kPut: {
      json put{{"key", Base64Encode(op.key)}, {"value", Base64Encode(op.value)}};
      if (op.lease != 0) put["lease"] = std::to_string(op.lease);
      if (op.ignore_lease) put["ignore_lease"] = true;
      return json{{"request_put", std::move(put)}};
    }
    case Op::Kind::kDelete: {
      json del{{"key", Base64Encode(op.key)}};
      if (!op.range_end.empty()) del["range_end"] = Base64Encode(op.range_end);
      return json{{"request_delete_range", std::move(del)}};
    }
    case Op::Kind::kRange: break;
  }
  json range{{"key", Base64Encode(op.key)}};
  if (!op.range_end.empty()) range["range_end"] = Base64Encode(op.range_end);
  if (op.min_mod_revision != 0) range["min_mod_revision"] = std::to_string(op.min_mod_revision);
  if (op.count_only) range["count_only"] = true;
  return json{{"request_range", std::move(range)}};
}

Result<json> Branch(const std::vector<Op>& ops, std::string_view name) {
  if (ops.size() > kMaxTxnOps) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("a txn's {} branch holds {} operations, more than etcd's {}", name,
                            ops.size(), kMaxTxnOps));
  }
  std::set<std::string_view> written;
  json out = json::array();
  for (const Op& op : ops) {
    if (op.kind != Op::Kind::kRange && !written.insert(op.key).second) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("a txn's {} branch writes one key twice (etcd refuses it)", name));
    }
    out.push_back(OpJson(op));
  }
  return out;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                   static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Fail(ErrorCode::kMalformed, fmt::format("base64 of {} characters (not a multiple of 4)", text.size()));
  }
  std::array<int, 256> value{};
  value.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) value[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    std::uint32_t n = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 2 && (k == 3 || text[i + 3] == '=')) {
        ++pad;
        n <<= 6;
        continue;
      }
      const int v = value[static_cast<unsigned char>(c)];
      if (v < 0 || pad > 0) return Fail(ErrorCode::kMalformed, fmt::format("not base64 at character {}", i + k));
      n = (n << 6) | static_cast<std::uint32_t>(v);
    }
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key: etcd's "\0" range_end
}

std::string EncodeRange(const RangeRequest& r) {
  json j{{"key", Base64Encode(r.key)}};
  if (!r.range_end.empty()) j["range_end"] = Base64Encode(r.range_end);
  if (r.revision != 0) j["revision"] = std::to_string(r.revision);
  if (r.serializable) j["serializable"] = true;
  if (r.limit != 0) j["limit"] = std::to_string(r.limit);
  if (r.min_mod_revision != 0) j["min_mod_revision"] = std::to_string(r.min_mod_revision);
  if (r.count_only) j["count_only"] = true;
  return j.dump();
}

std::string EncodePut(std::string_view key, std::string_view value, std::int64_t lease) {
  json j{{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  if (lease != 0) j["lease"] = std::to_string(lease);
  return j.dump();
}

std::string EncodeDelete(std::string_view key, std::string_view range_end) {
  json j{{"key", Base64Encode(key)}};
  if (!range_end.empty()) j["range_end"] = Base64Encode(range_end);
  return j.dump();
}

Result<std::string> EncodeTxn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                              const std::vector<Op>& failure) {
  json cmp = json::array();
  for (const Compare& c : compares) {
    json one{{"key", Base64Encode(c.key)}, {"target", TargetName(c.target)}, {"result", ResultName(c.result)}};
    if (!c.range_end.empty()) one["range_end"] = Base64Encode(c.range_end);
    switch (c.target) {
      case CompareTarget::kCreate: one["create_revision"] = std::to_string(c.number); break;
      case CompareTarget::kMod: one["mod_revision"] = std::to_string(c.number); break;
      case CompareTarget::kVersion: one["version"] = std::to_string(c.number); break;
      case CompareTarget::kValue: one["value"] = Base64Encode(c.value); break;
    }
    cmp.push_back(std::move(one));
  }
  // The branches are built first: an early return from inside a braced initializer would
  // skip the destruction of the elements already made.
  json ok = BERTH_TRY(Branch(success, "success"));
  json not_ok = BERTH_TRY(Branch(failure, "failure"));
  json j{{"compare", std::move(cmp)}, {"success", std::move(ok)}, {"failure", std::move(not_ok)}};
  return j.dump();
}

Result<RangeResult> DecodeRange(std::string_view body, int http_status) {
  const json doc = BERTH_TRY(Parse(body, http_status));
  return ReadRange(doc, "range");
}

Result<std::int64_t> DecodePut(std::string_view body, int http_status) {
  const json doc = BERTH_TRY(Parse(body, http_status));
  return HeaderRevision(doc, "put");
}

Result<std::int64_t> DecodeDelete(std::string_view body, int http_status) {
  const json doc = BERTH_TRY(Parse(body, http_status));
  BERTH_TRY(HeaderRevision(doc, "deleterange"));
  return Int(doc, "deleted", "deleterange");
}

Result<TxnResult> DecodeTxn(std::string_view body, int http_status) {
  const json doc = BERTH_TRY(Parse(body, http_status));
  TxnResult t;
  t.revision = BERTH_TRY(HeaderRevision(doc, "txn"));
  if (auto ok = doc.find("succeeded"); ok != doc.end()) {
    if (!ok->is_boolean()) return Bad("txn.succeeded is not a boolean");
    t.succeeded = ok->get<bool>();
  }
  if (auto responses = doc.find("responses"); responses != doc.end()) {
    if (!responses->is_array()) return Bad("txn.responses is not an array");
    if (responses->size() > kMaxTxnOps) {
      return Bad(fmt::format("{} txn responses, more than the {} a txn may hold", responses->size(), kMaxTxnOps));
    }
    for (std::size_t i = 0; i < responses->size(); ++i) {
      const json& r = (*responses)[i];
      const std::string where = fmt::format("txn.responses[{}]", i);
      if (!r.is_object() || r.size() != 1) return Bad(fmt::format("{} is not one response", where));
      OpResult out;
      if (auto range = r.find("response_range"); range != r.end() && range->is_object()) {
        out.kind = Op::Kind::kRange;
        out.range = BERTH_TRY(ReadRange(*range, where));
      } else if (auto put = r.find("response_put"); put != r.end() && put->is_object()) {
        out.kind = Op::Kind::kPut;
      } else if (auto del = r.find("response_delete_range"); del != r.end() && del->is_object()) {
        out.kind = Op::Kind::kDelete;
        out.deleted = BERTH_TRY(Int(*del, "deleted", where));
      } else {
        return Bad(fmt::format("{} is no range, put or delete answer", where));
      }
      t.responses.push_back(std::move(out));
    }
  }
  return t;
}

std::string EncodeLeaseGrant(std::int64_t ttl_seconds) {
  return json{{"TTL", std::to_string(ttl_seconds)}}.dump();
}

std::string EncodeLeaseId(std::int64_t id) { return json{{"ID", std::to_string(id)}}.dump(); }

Result<Lease> DecodeLeaseGrant(std::string_view body, int http_status) {
  const json doc = BERTH_TRY(Parse(body, http_status));
  Lease l;
  l.id = BERTH_TRY(Int(doc, "ID", "lease grant"));
  l.ttl = BERTH_TRY(Int(doc, "TTL", "lease grant"));
  if (l.id == 0 || l.ttl <= 0) return Bad("a lease grant without an ID or a TTL");
  return l;
}

Result<Lease> DecodeLeaseKeepAlive(std::string_view body, int http_status) {
  const json doc = BERTH_TRY(Parse(body, http_status));
  auto result = doc.find("result");
  if (result == doc.end() || !result->is_object()) return Bad("a keepalive answer without a result");
  Lease l;
  l.id = BERTH_TRY(Int(*result, "ID", "keepalive.result"));
  l.ttl = BERTH_TRY(Int(*result, "TTL", "keepalive.result"));
  if (l.ttl < 0) l.ttl = 0;
  return l;
}

Result<std::int64_t> DecodeLeaseTimeToLive(std::string_view body, int http_status) {
  const json doc = BERTH_TRY(Parse(body, http_status));
  const std::int64_t ttl = BERTH_TRY(Int(doc, "TTL", "timetolive"));
  return ttl < 0 ? -1 : ttl;  // an absent TTL (zero omitted) is a lease about to go: 0
}

std::string EncodeWatchCreate(std::string_view key, std::string_view range_end,
                              std::int64_t start_revision) {
  json create{{"key", Base64Encode(key)}};
  if (!range_end.empty()) create["range_end"] = Base64Encode(range_end);
  if (start_revision > 0) create["start_revision"] = std::to_string(start_revision);
  return json{{"create_request", std::move(create)}}.dump();
}

Result<WatchMessage> DecodeWatchMessage(std::string_view line) {
  const json doc = BERTH_TRY(Parse(line, 200));
  auto result = doc.find("result");
  if (result == doc.end() || !result->is_object()) return Bad("a watch message without a result");
  WatchMessage m;
  if (auto h = result->find("header"); h != result->end() && h->is_object()) {
    m.revision = BERTH_TRY(Int(*h, "revision", "watch.header"));
  }
  auto flag = [&](const char* name) -> Result<bool> {
    auto it = result->find(name);
    if (it == result->end()) return false;
    if (!it->is_boolean()) return Bad(fmt::format("watch.{} is not true or false", name));
    return it->get<bool>();
  };
  m.created = BERTH_TRY(flag("created"));
  m.canceled = BERTH_TRY(flag("canceled"));
  m.compact_revision = BERTH_TRY(Int(*result, "compact_revision", "watch"));
  if (auto ev = result->find("events"); ev != result->end()) {
    if (!ev->is_array()) return Bad("watch.events is not a list");
    m.events = ev->size();
    for (const json& e : *ev) {
      if (!e.is_object()) return Bad("a watch event is not an object");
      auto kv = e.find("kv");
      if (kv == e.end() || !kv->is_object()) return Bad("a watch event without a kv");
      m.last_event_revision = std::max(m.last_event_revision, BERTH_TRY(Int(*kv, "mod_revision", "watch.event.kv")));
    }
  }
  return m;
}

Result<MemberStatus> DecodeStatus(std::string_view body, int http_status) {
  const json doc = BERTH_TRY(Parse(body, http_status));
  MemberStatus s;
  auto h = doc.find("header");
  if (h == doc.end() || !h->is_object()) return Bad("status has no header");
  s.member_id = BERTH_TRY(UInt(*h, "member_id", "status.header"));
  s.revision = BERTH_TRY(Int(*h, "revision", "status.header"));
  s.raft_term = BERTH_TRY(Int(*h, "raft_term", "status.header"));
  s.leader = BERTH_TRY(UInt(doc, "leader", "status"));
  s.db_size = BERTH_TRY(Int(doc, doc.contains("db_size") ? "db_size" : "dbSize", "status"));
  if (auto v = doc.find("version"); v != doc.end()) {
    if (!v->is_string()) return Bad("status.version is not text");
    s.version = TerminalSafe(v->get<std::string>(), 32);
  }
  return s;
}

std::string EncodeAuthenticate(std::string_view user, std::string_view password) {
  return json{{"name", user}, {"password", password}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::string> DecodeAuthenticate(std::string_view body, int http_status) {
  const json doc = BERTH_TRY(Parse(body, http_status));
  auto token = doc.find("token");
  if (token == doc.end() || !token->is_string() || token->get_ref<const std::string&>().empty()) {
    return Bad("an authenticate answer without a token");
  }
  const std::string& t = token->get_ref<const std::string&>();
  if (t.size() > kMaxTokenBytes) return Bad(fmt::format("a token of {} bytes", t.size()));
  for (char c : t) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e) return Bad("a token with a byte that cannot go in an HTTP header");
  }
  return t;
}

AuthRefusal ClassifyAuthRefusal(std::string_view body, int http_status) {
  if (http_status == 200) return AuthRefusal::kNone;
  if (http_status == 400 && body.starts_with("CommonName of client sending a request against gateway")) {
    return AuthRefusal::kCommonNameRefused;
  }
  if (body.size() > kMaxResponseBytes || !CheckJsonDepth(body, kMaxResponseDepth, "etcd's answer")) {
    return AuthRefusal::kNone;
  }
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return AuthRefusal::kNone;
  auto code = Int(doc, "code", "error");
  auto err = doc.find("error");
  if (!code || err == doc.end() || !err->is_string()) return AuthRefusal::kNone;
  const std::string& text = err->get_ref<const std::string&>();
  auto says = [&](std::string_view what) { return text.find(what) != std::string::npos; };
  if (*code == 16 || says("invalid auth token") || says("revision of auth store is old")) {
    return AuthRefusal::kTokenInvalid;
  }
  if (says("user name is empty")) return AuthRefusal::kNoToken;
  if (says("authentication failed, invalid user ID or password")) return AuthRefusal::kBadCredentials;
  if (*code == 7 || says("permission denied")) return AuthRefusal::kPermissionDenied;
  if (says("authentication is not enabled")) return AuthRefusal::kAuthNotEnabled;
  return AuthRefusal::kNone;
}

}  // namespace berth::registry::etcd

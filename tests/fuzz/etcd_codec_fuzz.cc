// Fuzz target: the etcd gateway's answers are untrusted bytes. No decoder may crash or throw,
// a decoded range never holds more keys than it counts, and a token is never empty or
// over its cap.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "registry/etcd_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  namespace etcd = berth::registry::etcd;
  if (auto r = etcd::DecodeRange(body); r && r->count < static_cast<std::int64_t>(r->kvs.size())) {
    __builtin_trap();
  }
  if (auto t = etcd::DecodeTxn(body); t && t->responses.size() > etcd::kMaxTxnOps) __builtin_trap();
  (void)etcd::DecodePut(body);
  (void)etcd::DecodeDelete(body);
  (void)etcd::Base64Decode(body);
  if (auto l = etcd::DecodeLeaseGrant(body); l && (l->id == 0 || l->ttl <= 0)) __builtin_trap();
  if (auto k = etcd::DecodeLeaseKeepAlive(body); k && k->ttl < 0) __builtin_trap();
  (void)etcd::DecodeStatus(body);
  if (auto t = etcd::DecodeLeaseTimeToLive(body); t && *t < -1) __builtin_trap();
  if (auto w = etcd::DecodeWatchMessage(body); w && w->last_event_revision > 0 && w->events == 0) {
    __builtin_trap();
  }
  if (auto token = etcd::DecodeAuthenticate(body);
      token && (token->empty() || token->size() > etcd::kMaxTokenBytes)) {
    __builtin_trap();
  }
  for (int status : {200, 400, 401, 403, 500}) (void)etcd::ClassifyAuthRefusal(body, status);
  return 0;
}

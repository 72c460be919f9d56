// Fuzz target: the values under an etcd prefix are untrusted bytes (anyone with write access
// to etcd can put anything there). No decoder may crash or throw; what decodes encodes back to
// a value that decodes to the same record.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "registry/etcd_records.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view value(reinterpret_cast<const char*>(data), size);
  namespace etcd = berth::registry::etcd;
  if (auto s = etcd::DecodeService(value, "k")) {
    auto again = etcd::DecodeService(etcd::EncodeService(*s), "k");
    if (!again || !berth::registry::SameService(again->service, s->service) ||
        again->reason != s->reason || again->revision != s->revision) {
      __builtin_trap();
    }
  }
  if (auto g = etcd::DecodeGroup(value, "k")) {
    auto again = etcd::DecodeGroup(etcd::EncodeGroup(*g), "k");
    if (!again || !(*again == *g)) __builtin_trap();
  }
  if (auto f = etcd::DecodeFamily(value, "k")) {
    auto again = etcd::DecodeFamily(etcd::EncodeFamily(*f), "k");
    if (!again || !(*again == *f)) __builtin_trap();
  }
  if (auto h = etcd::DecodeHostScans(value, "k")) {
    auto again = etcd::DecodeHostScans(etcd::EncodeHostScans(*h), "k");
    if (!again || again->observations.size() != h->observations.size() ||
        again->scans != h->scans) {
      __builtin_trap();
    }
  }
  if (auto p = etcd::DecodePresence(value, "k")) {
    auto again = etcd::DecodePresence(etcd::EncodePresence(*p), "k");
    if (!again || !(*again == *p)) __builtin_trap();
  }
  if (auto d = etcd::DecodeHostReport(value, "k")) {
    auto again = etcd::DecodeHostReport(etcd::EncodeHostReport(d->report, d->findings), "k");
    if (!again || !(again->report == d->report) || again->findings.size() != d->findings.size()) {
      __builtin_trap();
    }
  }
  if (auto part = etcd::FromKeyPart(value)) {
    if (etcd::FromKeyPart(etcd::KeyPart(*part)) != *part) __builtin_trap();
  }
  return 0;
}

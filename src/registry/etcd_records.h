// The registry's records as the etcd store keeps them (docs/etcd-store.md): one JSON value
// per service, group and family, and one document per host holding what its scans saw. The
// values come back from the network, so decoding is bounded (size, depth) and checks every
// field; a value that does not decode is an error naming its key, never a guess. Pure
// functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "registry/model.h"

namespace berth::registry::etcd {

// A stored value larger than this is refused before it is parsed.
inline constexpr std::size_t kMaxRecordBytes = 1 << 20;
// The scans a host document remembers (the latest ones); its observations are bounded too.
inline constexpr std::size_t kMaxScansKept = 256;
inline constexpr std::size_t kMaxObservations = 4096;

// `revision` is stored only when it must survive a copy into a new generation (apply keeps
// an unchanged service's revision); 0 is left out and the key's mod_revision stands for it.
std::string EncodeService(const ServiceRecord& r);
// `key` names the value in messages. Failure: kMalformed.
[[nodiscard]] Result<ServiceRecord> DecodeService(std::string_view value, std::string_view key);
std::string EncodeGroup(const Group& g);
[[nodiscard]] Result<Group> DecodeGroup(std::string_view value, std::string_view key);
std::string EncodeFamily(const Family& f);
[[nodiscard]] Result<Family> DecodeFamily(std::string_view value, std::string_view key);

// What the scans of one host saw: the times of its latest scans (ascending) and one
// observation per (proto, port, command), `host` left empty (the key holds it).
struct HostScans {
  std::vector<std::int64_t> scans;
  std::vector<Observation> observations;
};
std::string EncodeHostScans(const HostScans& h);
[[nodiscard]] Result<HostScans> DecodeHostScans(std::string_view value, std::string_view key);

// The fleet's records (docs/fleet.md), kept the same way by both stores: a host's presence,
// and its report with the findings of its last scan. At most kMaxFindings findings.
inline constexpr std::size_t kMaxFindings = 4096;
std::string EncodePresence(const HostPresence& p);
[[nodiscard]] Result<HostPresence> DecodePresence(std::string_view value, std::string_view key);
struct HostReportDoc {
  HostReport report;
  std::vector<Finding> findings;
};
std::string EncodeHostReport(const HostReport& r, const std::vector<Finding>& findings);
[[nodiscard]] Result<HostReportDoc> DecodeHostReport(std::string_view value, std::string_view key);

// A name as one key part: bytes outside [A-Za-z0-9._-] (a '/' above all) as %XX.
std::string KeyPart(std::string_view name);
// The inverse. Failure: kMalformed for a bad escape.
[[nodiscard]] Result<std::string> FromKeyPart(std::string_view part);

}  // namespace berth::registry::etcd

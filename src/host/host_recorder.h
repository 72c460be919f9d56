// RecordHost: scans the live machine (as LiveHost does) and writes what the scan read, raw,
// into a recorded dump directory (docs/recorded-hosts.md) that RecordedHost replays: the
// sock_diag replies as the kernel sent them, the port sysctls, and a mini /proc holding only
// the owners of the recorded sockets. Call from one thread (it runs a scan).
#pragma once

#include <cstddef>
#include <string>

#include "core/host_source.h"
#include "host/live_host.h"

namespace berth {

struct RecordStats {
  std::size_t sockets = 0;        // in the live snapshot
  std::size_t processes = 0;      // owner processes written under proc/
  std::size_t owners = 0;         // fd symlinks written
  std::size_t diag_bytes = 0;     // raw sock_diag bytes written (tcp.nl + udp.nl)
  std::size_t missing_files = 0;  // owner cgroup/status files gone before they were copied
  bool partial = false;           // the live scan itself was partial (see its warnings)
};

// Scans with `live` and `query` and records the result in `dir`, which must not exist or be
// an empty directory (it is created 0755; its parent must exist). The `recording` file is
// written last, so a directory left by a failure is refused by RecordedHost as incomplete.
// What RecordedHost(dir).Take(query) then returns equals LiveHost(live).Take(query) at the
// time of the recording (differences: docs/recorded-hosts.md).
// Failure: kConflict when `dir` exists and is not an empty directory; the errno Error naming
// the path that could not be written; ScanHost's failures (a namespace that cannot be
// entered, no sock_diag).
[[nodiscard]] Result<RecordStats> RecordHost(const std::string& dir,
                                             const LiveHost::Options& live,
                                             const HostQuery& query);

}  // namespace berth

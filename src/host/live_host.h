// LiveHost: the HostSource of this machine (or one of its network namespaces): port
// sysctls, NETLINK_SOCK_DIAG and the /proc owner walk, through ScanHost. One thread.
#pragma once

#include <string>

#include "core/host_source.h"
#include "host/scanner.h"

namespace berth {

class LiveHost final : public HostSource {
 public:
  struct Options {
    std::string netns;      // "" for ours; a name under /run/netns or a path
    OwnerWalkOptions walk;  // threads, stop early
  };
  LiveHost() = default;
  explicit LiveHost(Options options) : options_(std::move(options)) {}

  // As ScanHost; the hostname is always filled ("localhost" when it cannot be read).
  [[nodiscard]] Result<HostSnapshot> Take(const HostQuery& query) override;
  // Where the time of the last Take went (for --timing).
  const ScanStats& last_stats() const { return stats_; }

 private:
  Options options_;
  ScanStats stats_;
};

// The ScanHost options a LiveHost with `live` uses for `query` (shared with RecordHost).
ScanOptions ToScanOptions(const LiveHost::Options& live, const HostQuery& query);

// This host's name ("localhost" when gethostname fails).
std::string LocalHostName();

}  // namespace berth

#include "host/live_host.h"

#include <unistd.h>

namespace berth {

std::string LocalHostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

ScanOptions ToScanOptions(const LiveHost::Options& live, const HostQuery& query) {
  ScanOptions scan;
  scan.all_states = query.all_states;
  scan.tcp = query.tcp;
  scan.udp = query.udp;
  scan.resolve_owners = query.resolve_owners;
  scan.walk = live.walk;
  scan.netns = live.netns;
  return scan;
}

Result<HostSnapshot> LiveHost::Take(const HostQuery& query) {
  stats_ = {};
  HostSnapshot snap = BERTH_TRY(ScanHost(ToScanOptions(options_, query), &stats_));
  if (snap.hostname.empty()) snap.hostname = LocalHostName();
  return snap;
}

}  // namespace berth

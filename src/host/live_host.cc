#include "host/live_host.h"

#include <unistd.h>

namespace berth {

std::string LocalHostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

Result<HostSnapshot> LiveHost::Take(const HostQuery& query) {
  ScanOptions scan;
  scan.all_states = query.all_states;
  scan.tcp = query.tcp;
  scan.udp = query.udp;
  scan.resolve_owners = query.resolve_owners;
  scan.walk = options_.walk;
  scan.netns = options_.netns;
  stats_ = {};
  HostSnapshot snap = BERTH_TRY(ScanHost(scan, &stats_));
  if (snap.hostname.empty()) snap.hostname = LocalHostName();
  return snap;
}

}  // namespace berth

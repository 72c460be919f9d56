// HostSource: where a HostSnapshot comes from. The live machine (src/host/live_host.h:
// netlink, /proc, sysctls) or a recording of one (src/host/recorded_host.h: `berth scan
// --json` output, or a recorded netlink dump with its /proc owners and sysctls), so the
// whole scan -> audit -> record -> render pipeline runs in a test without root. Later:
// other hosts' exports (a Windows collector, agents). A source is used by one thread.
#pragma once

#include "base/error.h"
#include "core/socket.h"

namespace berth {

// Which sockets a snapshot should hold.
struct HostQuery {
  bool all_states = false;     // false: TCP LISTEN and unconnected bound UDP (what servers hold)
  bool tcp = true;
  bool udp = true;
  bool resolve_owners = true;  // false: no owners (--no-procs)
};

class HostSource {
 public:
  virtual ~HostSource() = default;
  // A snapshot holding the sockets `query` asks for. Failure: the source's own (a namespace
  // that cannot be entered, a recording that cannot be read), with a message saying what to
  // do. A part that cannot be read leaves the snapshot partial with a warning instead.
  [[nodiscard]] virtual Result<HostSnapshot> Take(const HostQuery& query) = 0;
};

}  // namespace berth

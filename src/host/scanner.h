// Taking a HostSnapshot of one network namespace: its port sysctls, its inet sockets
// (NETLINK_SOCK_DIAG, state filter in the request) and, optionally, their owners (/proc).
// Another namespace is entered on a short-lived thread, so the caller's stays unchanged.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/socket.h"
#include "host/proc_owners.h"

namespace berth {

// The raw inputs a scan read, kept for a recording (src/host/host_recorder.h): what the
// kernel sent, before decoding, so a replay runs the same decoders.
struct ScanCapture {
  std::vector<std::byte> tcp_diag;  // sock_diag reply buffers: the IPv4 dump, then IPv6
  std::vector<std::byte> udp_diag;
  std::vector<std::pair<std::string, std::string>> sysctls;  // "tcp_tw_reuse" -> "2\n"
};

struct ScanOptions {
  bool all_states = false;      // false: TCP LISTEN and unconnected UDP (what servers hold)
  bool tcp = true;
  bool udp = true;
  bool resolve_owners = true;   // false: --no-procs
  OwnerWalkOptions walk;
  std::string netns;            // "" for ours; a name under /run/netns or a path
  ScanCapture* capture = nullptr;  // set: also keep the raw inputs here (read in the netns)
  // With every state dumped and at least this many sockets in the namespace (its sockstat
  // counts), the TCP dump (both families) runs on two threads: local ports below 32768 on
  // one, the rest on the other (the kernel fills each half; a million sockets' dump is most
  // of a scan). Each
  // half walks the kernel's whole table: more CPU in all, less time on two cores or more.
  std::size_t split_dump_at = 262144;  // at 210,000 sockets the halves measured no gain
};

struct ScanStats {
  double netlink_seconds = 0;
  double owners_seconds = 0;  // the walk, and loading the BPF one
  // The owner walk ran while the sockets were dumped (the BPF walk on a second thread, the
  // /proc walk on its workers): how long the scan then waited for it (for /proc, this thread
  // walking too). owners_seconds is the walk's own time.
  bool owners_beside_dump = false;
  double owners_waited_seconds = 0;
  OwnerWalkStats walk;
};

// Failure: kNotFound / kPermissionDenied / kInvalidArgument for a namespace that cannot be
// entered (the message says how to list or name one); kUnavailable when the kernel has
// no sock_diag. A table that fails to dump (e.g. no udp_diag module) leaves the snapshot
// partial with a warning instead.
[[nodiscard]] Result<HostSnapshot> ScanHost(const ScanOptions& options, ScanStats* stats = nullptr);

// Sorts sockets the way ScanHost returns them: by (proto, local port, local address, peer,
// inode), so snapshots of the same sockets compare equal whatever their source.
void SortSockets(HostSnapshot& snap);

// "/run/netns/NAME" for a bare name, the path itself otherwise.
std::string NetnsPath(const std::string& spec);

}  // namespace berth

// Taking a HostSnapshot of one network namespace: its port sysctls, its inet sockets
// (NETLINK_SOCK_DIAG, state filter in the request) and, optionally, their owners (/proc).
// Another namespace is entered on a short-lived thread, so the caller's stays unchanged.
#pragma once

#include <string>

#include "core/socket.h"
#include "host/proc_owners.h"

namespace berth {

struct ScanOptions {
  bool all_states = false;      // false: TCP LISTEN and unconnected UDP (what servers hold)
  bool tcp = true;
  bool udp = true;
  bool resolve_owners = true;   // false: --no-procs
  OwnerWalkOptions walk;
  std::string netns;            // "" for ours; a name under /run/netns or a path
};

struct ScanStats {
  double netlink_seconds = 0;
  double owners_seconds = 0;
  OwnerWalkStats walk;
};

// Failure: kNotFound / kPermissionDenied / kInvalidArgument for a namespace that cannot be
// entered (the message says how to list or name one); kUnavailable when the kernel has
// no sock_diag. A table that fails to dump (e.g. no udp_diag module) leaves the snapshot
// partial with a warning instead.
[[nodiscard]] Result<HostSnapshot> ScanHost(const ScanOptions& options, ScanStats* stats = nullptr);

// "/run/netns/NAME" for a bare name, the path itself otherwise.
std::string NetnsPath(const std::string& spec);

}  // namespace berth

// Remedies: for the dynamic services of one host, the exact change that pins each one
// (nfs.conf lines for NFS side daemons, the IPAll settings for a SQL Server instance, the
// per-service setting or the restricted RPC range for MS-RPC). Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "probe/probe_model.h"

namespace berth::probe {

struct Remedy {
  Mapper mapper = Mapper::kRpc;
  std::string subject;  // what it pins ("rpc.mountd (100005)", "SQL Server instance SQLEXPRESS")
  std::string text;     // the change, several lines, ready to paste
};

// The static ports berth recommends for the NFS side daemons. 20048 is IANA's "mountd";
// statd and lockd have no IANA port, so they take 32765-32767, the block just below
// Linux's default ephemeral range (32768-60999), where no kernel will hand them out.
inline constexpr Port kMountdPort = 20048;
inline constexpr Port kStatdPort = 32765;
inline constexpr Port kStatdOutgoingPort = 32766;
inline constexpr Port kLockdPort = 32767;

std::vector<Remedy> Remedies(const HostReport& report);

}  // namespace berth::probe

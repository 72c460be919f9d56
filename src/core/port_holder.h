// Who holds a port: the server sockets of a snapshot on one port and the processes owning
// them, and the sentence that names them ("python3 (pid 4242, unit web.service, user app) on
// 127.0.0.1:32106/tcp"). Used by `berth adopt` to identify a listener. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/service.h"
#include "core/socket.h"

namespace berth {

// One server socket on the port and the processes holding it.
struct PortHolder {
  Protocol proto = Protocol::kTcp;
  std::string endpoint;                // "127.0.0.1:32106", "*:32106"
  std::uint32_t uid = 0;               // the socket's owner uid
  std::vector<ProcessInfo> processes;  // empty: not visible (another user's, no root)
};

// The server sockets of `snap` on `port` (or any port of `ports`) for the protocols `proto`
// covers, in socket order, each with its distinct owning processes.
std::vector<PortHolder> HoldersOf(const HostSnapshot& snap, PortRange ports, ServiceProto proto);
inline std::vector<PortHolder> HoldersOf(const HostSnapshot& snap, Port port, ServiceProto proto) {
  return HoldersOf(snap, PortRange{port, port}, proto);
}

// "python3 (pid 4242, unit web.service, user app) on 127.0.0.1:32106/tcp", or "a process of
// uid 105 (hidden from this user) on *:32106/tcp". Not terminal-safe: callers print it so.
std::string DescribeHolder(const PortHolder& holder);

}  // namespace berth

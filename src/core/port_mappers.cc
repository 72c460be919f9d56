#include "core/port_mappers.h"

#include "core/nfs_ports.h"

namespace berth {

std::string PortMapperFix(const PortMapper& m) {
  if (m.name != kRpcbindTcp.name) return std::string(m.fix);
  std::string fix = "pin each RPC service in /etc/nfs.conf, then restart nfs-server and rpc-statd:\n";
  for (const NfsDaemon& d : NfsDaemons()) {
    if (d.dynamic_by_default) fix += NfsConfLines(d);
  }
  return fix + "if no NFSv3 or NIS client needs the mapper: systemctl disable --now "
               "rpcbind.service rpcbind.socket";
}

}  // namespace berth

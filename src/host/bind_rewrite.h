// What `berth pin` changes in a pinned process tree's binds, shared by its engines (the
// cgroup BPF program in bind_bpf.h and the seccomp supervisor in seccomp_bind.h): a bind of
// the chosen protocols to port 0 (or to a port of `from`) is moved to `to`. Plain value.
#pragma once

#include "core/port.h"

namespace berth {

struct BindRewrite {
  Port to = 0;         // the registered static port
  PortSet from;        // further ports moved to `to` (a server's "dynamic" ports); may be empty
  bool tcp = true;     // rewrite binds of TCP sockets
  bool udp = false;    // rewrite binds of UDP sockets

  // True when a bind of this protocol to `port` is to be moved to `to`.
  bool Matches(Protocol proto, Port port) const {
    if (!(proto == Protocol::kTcp ? tcp : udp)) return false;
    return port == 0 || from.contains(port);
  }
};

}  // namespace berth

// What `berth pin` changes in a pinned process tree's binds, shared by its engines (the
// cgroup BPF program in bind_bpf.h and the seccomp supervisor in seccomp_bind.h): a bind of a
// pinned protocol to port 0 (or to a port of `from`) is moved to a static port. One service is
// one port per protocol; with several (`--ports`), the listeners take them in the order they
// bind: the k-th moved bind of a protocol and address family gets that protocol's k-th port,
// and every bind past the last gets the last (which is then taken: EADDRINUSE). Counting per
// family keeps a listener's IPv4 and IPv6 sockets on the same port. Plain value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/port.h"

namespace berth {

enum class BindFamily { kInet4, kInet6 };

// Where the engines count a protocol and family's moved binds (the BPF program's map key):
// TCP IPv4 0, TCP IPv6 1, UDP IPv4 2, UDP IPv6 3.
constexpr int CounterSlot(Protocol proto, BindFamily family) {
  return (proto == Protocol::kTcp ? 0 : 2) + (family == BindFamily::kInet4 ? 0 : 1);
}

struct BindRewrite {
  std::vector<Port> tcp;  // the static ports of TCP listeners, in bind order; empty: TCP untouched
  std::vector<Port> udp;  // the same for UDP
  PortSet from;           // further ports moved like port 0 (a server's "dynamic" ports); may be empty

  std::span<const Port> PortsOf(Protocol proto) const { return proto == Protocol::kTcp ? tcp : udp; }

  // True when a bind of this protocol to `port` is to be moved.
  bool Matches(Protocol proto, Port port) const {
    if (PortsOf(proto).empty()) return false;
    return port == 0 || from.contains(port);
  }

  // The port for the bind that is the `nth` (from 0) moved bind of its protocol and family.
  // PortsOf(proto) must not be empty.
  Port PortFor(Protocol proto, std::size_t nth) const {
    const std::span<const Port> ports = PortsOf(proto);
    return ports[nth < ports.size() ? nth : ports.size() - 1];
  }
};

// A bind past the last port of its protocol (with one service pinned: a second listener). The
// cgroup engine's program tells it (as its counter slot and the bind's rank, 8 bytes).
struct BindOverflow {
  Protocol proto = Protocol::kTcp;
  BindFamily family = BindFamily::kInet4;
  std::uint32_t rank = 0;  // from 0: 1 for the second bind when one port is pinned
  Port port = 0;           // the port it was given: the protocol's last
};

}  // namespace berth

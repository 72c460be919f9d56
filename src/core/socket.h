// The neutral record of a host's sockets and their owners, filled by src/host (netlink and
// /proc) or by a test, and read by the audit, the pressure analysis and the renderers.
// Plain values; a HostSnapshot is built by one thread and then only read.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/classify.h"
#include "core/port.h"

namespace berth {

// Linux TCP states as the kernel numbers them (include/net/tcp_states.h).
enum class SocketState : std::uint8_t {
  kEstablished = 1,
  kSynSent,
  kSynRecv,
  kFinWait1,
  kFinWait2,
  kTimeWait,
  kClose,
  kCloseWait,
  kLastAck,
  kListen,
  kClosing,
  kNewSynRecv,
};

// ss's names: LISTEN, ESTAB, TIME-WAIT...; an unconnected UDP socket is UNCONN.
std::string_view StateName(SocketState s, Protocol proto);

struct IpAddress {
  std::uint8_t family = 4;              // 4 or 6
  std::array<std::uint8_t, 16> bytes{};  // IPv4 uses the first 4

  bool is_any() const;
  bool is_loopback() const;
  std::string Format() const;  // "127.0.0.1", "::1" (no brackets)
  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.family == b.family && a.bytes == b.bytes;
  }
  friend bool operator<(const IpAddress& a, const IpAddress& b) {
    if (a.family != b.family) return a.family < b.family;
    return std::memcmp(a.bytes.data(), b.bytes.data(), a.bytes.size()) < 0;
  }
};

// "127.0.0.1:22", "[::1]:22", "*:22" for a wildcard.
std::string FormatEndpoint(const IpAddress& a, Port p);

struct SocketRecord {
  Protocol proto = Protocol::kTcp;
  SocketState state = SocketState::kListen;
  bool v6only = false;
  IpAddress local;
  IpAddress remote;
  Port local_port = 0;
  Port remote_port = 0;
  std::uint32_t ifindex = 0;  // bound device, 0 for none
  std::uint32_t uid = 0;
  std::uint64_t inode = 0;    // 0 for TIME_WAIT and request sockets
  std::uint32_t rqueue = 0;   // for listeners: current accept queue
  std::uint32_t wqueue = 0;   // for listeners: backlog

  // A TCP listener or a bound, unconnected UDP socket: what a server holds.
  bool is_server() const {
    return proto == Protocol::kTcp ? state == SocketState::kListen
                                   : state == SocketState::kClose && local_port != 0;
  }
};

struct ProcessInfo {
  int pid = 0;
  std::uint32_t uid = 0;
  std::string user;       // name, or the uid as text
  std::string command;    // /proc/PID/comm
  std::string unit;       // systemd unit, e.g. "ssh.service", or ""
  std::string container;  // container id (64 hex or shorter), or ""
};

struct SocketOwner {
  std::uint32_t socket;   // index into HostSnapshot::sockets
  std::uint32_t process;  // index into HostSnapshot::processes
  int fd;
};

// Which walk found the sockets' owners (host/proc_owners.h): a task_file BPF iterator or the
// /proc/PID/fd links. kAuto (options only): the BPF walk when it can run, else /proc.
// kNone (snapshots only): no walk ran here (--no-procs, or a recording).
enum class OwnerWalk : std::uint8_t { kNone, kAuto, kBpf, kProc };
std::string_view OwnerWalkName(OwnerWalk walk);  // "none", "auto", "bpf", "proc"

struct HostSnapshot {
  std::string hostname;
  std::string netns;  // "" for the caller's own namespace
  HostPortConfig config;
  std::vector<SocketRecord> sockets;
  std::vector<ProcessInfo> processes;
  std::vector<SocketOwner> owners;  // sorted by (socket, process)
  std::vector<std::pair<std::uint32_t, std::string>> interfaces;  // ifindex -> name
  bool owners_resolved = false;  // false with --no-procs
  OwnerWalk owners_walk = OwnerWalk::kNone;  // kBpf or kProc when a live walk ran
  std::string owners_walk_fallback;  // the BPF walk was wanted but could not run: why
  bool partial = false;          // something could not be read; see warnings
  std::vector<std::string> warnings;

  std::string_view InterfaceName(std::uint32_t ifindex) const;
};

}  // namespace berth

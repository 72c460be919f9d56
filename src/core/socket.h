// The neutral record of a host's sockets and their owners, filled by src/host (netlink and
// /proc) or by a test, and read by the audit, the pressure analysis and the renderers.
// Plain values; a HostSnapshot is built by one thread and then only read.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
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

// "127.0.0.1:22", "[::1]:22"; a wildcard is "0.0.0.0:22" or "[::]:22".
std::string FormatEndpoint(const IpAddress& a, Port p);
// The same, appended to `out` (a caller formatting many reuses one buffer).
void AppendEndpoint(std::string& out, const IpAddress& a, Port p);
// The length of what AppendEndpoint writes before the ':' ("127.0.0.1", "[::1]"), and of the
// port after it: a table measures a million endpoints without writing them.
std::size_t EndpointAddressWidth(const IpAddress& a);
std::size_t PortWidth(Port p);

// The addresses of one snapshot's sockets, each kept once; a socket names its two by index.
// A busy host's million connections use few local addresses and, mostly, few peers: 4 bytes
// an address instead of 17 is what keeps a scan of a million sockets in 64 MiB. Index 0 is
// IpAddress{} (0.0.0.0), so a default SocketRecord has a valid address.
class AddressTable {
 public:
  AddressTable();
  // The index of `a`, adding it when new.
  std::uint32_t Intern(const IpAddress& a);
  // `index` must come from this table (or a copy of it); an unknown one reads as 0.0.0.0.
  const IpAddress& operator[](std::uint32_t index) const {
    return index < list_.size() ? list_[index] : list_[0];
  }
  std::size_t size() const { return list_.size(); }

 private:
  std::size_t Slot(const IpAddress& a) const;
  std::vector<IpAddress> list_;
  std::vector<std::uint32_t> slots_;  // open addressing: index + 1, 0 for empty
};

// 28 bytes: a scan of a million sockets holds a million of these.
struct SocketRecord {
  Protocol proto = Protocol::kTcp;
  SocketState state = SocketState::kListen;
  bool v6only : 1 = false;
  // The owner's uid and the bound device (SO_BINDTODEVICE), interned: an index into
  // HostSnapshot::attrs (HostSnapshot::Uid, HostSnapshot::InterfaceName, set with
  // HostSnapshot::SetUid and ::SetInterface). 0: uid 0, no device.
  std::uint16_t attrs : 15 = 0;
  Port local_port = 0;
  Port remote_port = 0;
  std::uint32_t local = 0;   // index into HostSnapshot::addresses (HostSnapshot::Local)
  std::uint32_t remote = 0;  // likewise (HostSnapshot::Remote); 0.0.0.0 or :: when unconnected
  std::uint32_t inode = 0;    // 0 for TIME_WAIT and request sockets (the kernel's is 32 bits)
  std::uint32_t rqueue = 0;   // for listeners: current accept queue
  std::uint32_t wqueue = 0;   // for listeners: backlog

  // A TCP listener or a bound, unconnected UDP socket: what a server holds.
  bool is_server() const {
    return proto == Protocol::kTcp ? state == SocketState::kListen
                                   : state == SocketState::kClose && local_port != 0;
  }
};
static_assert(sizeof(SocketRecord) == 28);

// What SocketRecord::attrs indexes: a distinct (owner uid, bound device) pair. Sockets share
// few of them (a host's servers run under a handful of uids, few bind a device), so a socket
// pays 15 bits for both instead of 6 bytes.
struct SocketAttrs {
  std::uint32_t uid = 0;
  std::uint16_t iface = 0;  // 1 + an index into HostSnapshot::interfaces, 0 for no device
  friend bool operator==(const SocketAttrs&, const SocketAttrs&) = default;
};
// The uid of sockets past the 32,767th distinct (uid, device) pair, which the record cannot
// index: (uid_t)-1, with a warning in the snapshot.
constexpr std::uint32_t kUnknownUid = 0xFFFFFFFFu;

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
  AddressTable addresses;             // what SocketRecord::local and ::remote index
  std::vector<SocketRecord> sockets;
  std::vector<ProcessInfo> processes;
  std::vector<SocketOwner> owners;  // sorted by (socket, process)
  // The bound devices sockets name (SocketRecord::iface - 1): kernel ifindex -> name ("" until
  // the scanner names it).
  std::vector<std::pair<std::uint32_t, std::string>> interfaces;
  std::vector<SocketAttrs> attrs{SocketAttrs{}};  // what SocketRecord::attrs indexes
  bool owners_resolved = false;  // false with --no-procs
  OwnerWalk owners_walk = OwnerWalk::kNone;  // kBpf or kProc when a live walk ran
  std::string owners_walk_fallback;  // the BPF walk was wanted but could not run: why
  bool partial = false;          // something could not be read; see warnings
  std::vector<std::string> warnings;

  // The socket's owner uid and bound device.
  const SocketAttrs& Attrs(const SocketRecord& s) const;
  std::uint32_t Uid(const SocketRecord& s) const { return Attrs(s).uid; }
  void SetUid(SocketRecord& s, std::uint32_t uid);
  // The name of the socket's bound device, "" for none.
  std::string_view InterfaceName(const SocketRecord& s) const;
  bool HasInterface(const SocketRecord& s) const { return Attrs(s).iface != 0; }
  // The owners of sockets[socket] (binary search in `owners`): its primary owner, the lowest
  // pid, first. No per-socket array: a million-socket scan cannot spare 4 bytes a socket twice.
  std::span<const SocketOwner> OwnersOf(std::uint32_t socket) const;
  // The index in `processes` of the socket's primary owner, -1 for none.
  int PrimaryOwner(std::uint32_t socket) const {
    const auto o = OwnersOf(socket);
    return o.empty() ? -1 : static_cast<int>(o.front().process);
  }
  // Sets the socket's bound device to the one with kernel index `ifindex` (added to
  // `interfaces` when new; none for ifindex 0, and past 32,767 devices, which no host binds
  // sockets to).
  void SetInterface(SocketRecord& s, std::uint32_t ifindex);

  // Interning of `attrs` (SetUid, SetInterface): the last pair given, and every pair's index.
  std::uint16_t attrs_last_ = 0;
  std::unordered_map<std::uint64_t, std::uint16_t> attrs_index_;
  const IpAddress& Local(const SocketRecord& s) const { return addresses[s.local]; }
  const IpAddress& Remote(const SocketRecord& s) const { return addresses[s.remote]; }
  // Sets a socket's addresses (interned here).
  void SetAddresses(SocketRecord& s, const IpAddress& local, const IpAddress& remote) {
    s.local = addresses.Intern(local);
    s.remote = addresses.Intern(remote);
  }
};

}  // namespace berth

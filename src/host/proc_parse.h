// Pure parsers for /proc text: fd link targets, cgroup membership, socket counts, a thread's
// thread group. Fuzzed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

// "socket:[12345]" -> 12345; anything else (files, pipes, "socket:[" garbage) -> nullopt.
std::optional<std::uint64_t> ParseSocketLink(std::string_view link);

struct CgroupInfo {
  std::string unit;       // "ssh.service", "session-3.scope", or ""
  std::string container;  // "0123...cdef" (docker, containerd, cri-o, podman) or "lxc:NAME"
};

// Parses /proc/PID/cgroup (v2 "0::/path" preferred, else v1 "name=systemd").
CgroupInfo ParseCgroup(std::string_view text);

// How many sockets a dump of every state will return, from /proc/net/sockstat and sockstat6
// ("TCP: inuse N ... tw N", "TCP6: inuse N", "UDP: inuse N", "UDP6: inuse N"): the
// namespace's own counts, read to size the socket table once instead of doubling it. A hint
// only: 0 for anything unreadable, each count capped at 2^26.
std::size_t SockstatSockets(std::string_view sockstat, std::string_view sockstat6, bool tcp, bool udp);

// The thread group id (the process's pid) of a thread, from its /proc/TID/status: the value of
// the one line that starts with "Tgid:", spaces or tabs, then 1 to 10 decimal digits and
// nothing else, between 1 and 2^31-1. nullopt when that line is missing, appears twice, or is
// anything else (a status text is bounded by its reader; nothing here allocates).
std::optional<std::int32_t> ParseStatusTgid(std::string_view status);

}  // namespace berth

// Pure parsers for /proc text: fd link targets and cgroup membership. Fuzzed.
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

}  // namespace berth

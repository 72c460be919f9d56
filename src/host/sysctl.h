// Reading this network namespace's port sysctls from /proc/sys (the values of the calling
// thread's namespace at the time of the call). The parsers are pure and fuzzed.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "core/classify.h"

namespace berth {

// The port sysctls under net/ipv4 that ReadHostPortConfig reads.
inline constexpr std::array<std::string_view, 5> kPortSysctlNames = {
    "ip_local_port_range", "ip_local_reserved_ports", "ip_unprivileged_port_start",
    "tcp_tw_reuse", "tcp_timestamps"};

// "32768\t60999\n" -> {32768, 60999}. Failure: kMalformed saying what was expected.
[[nodiscard]] Result<PortRange> ParseLocalPortRange(std::string_view text);
// "3\n" -> 3. Failure: kMalformed.
[[nodiscard]] Result<int> ParseSysctlInt(std::string_view text);

// Reads the four port sysctls. A value that cannot be read keeps the kernel default and
// adds a line to `warnings` naming the file and what to do.
HostPortConfig ReadHostPortConfig(std::vector<std::string>& warnings,
                                  std::string_view proc_sys = "/proc/sys");

}  // namespace berth

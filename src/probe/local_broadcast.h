// The IPv4 broadcast addresses of this network namespace's interfaces, for `berth probe
// --broadcast`: the only addresses berth broadcasts to, and addresses it refuses as plain
// targets. ReadLocalBroadcasts asks the kernel (getifaddrs); the rest is pure, so the checks
// are tested on lists built by hand. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::probe {

// One IPv4 address of an interface that is up and has IFF_BROADCAST. Addresses are in host
// byte order.
struct LocalBroadcast {
  std::string interface;  // "br0"
  std::uint32_t address = 0;
  std::uint32_t netmask = 0;
  std::uint32_t broadcast = 0;  // ifa_broadaddr
};

// "198.18.0.255" from a host-order address.
std::string Ipv4Text(std::uint32_t address);
// "198.18.0.0/24": the subnet of `b` (address & netmask).
std::string SubnetText(const LocalBroadcast& b);
// True when `address` (host order) lies in `b`'s subnet.
bool InSubnet(const LocalBroadcast& b, std::uint32_t address);

// Every IPv4 address with a broadcast address (not 0.0.0.0) on an interface that is up, in
// getifaddrs order. Failure: getifaddrs failed (kInternal and the like, from errno).
[[nodiscard]] Result<std::vector<LocalBroadcast>> ReadLocalBroadcasts();

// The entry whose broadcast address is `address` (numeric IPv4). Failure (kInvalidArgument):
// anything else, with a message that lists the local broadcast addresses or says there are none.
[[nodiscard]] Result<LocalBroadcast> ChooseBroadcast(std::span<const LocalBroadcast> local,
                                                     std::string_view address);

// The entry whose broadcast address is `address`, if any; nullopt also for a non-IPv4 text.
std::optional<LocalBroadcast> BroadcastOwner(std::span<const LocalBroadcast> local, std::string_view address);

}  // namespace berth::probe

// Local broadcast addresses: see local_broadcast.h.
#include "probe/local_broadcast.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace berth::probe {
namespace {

struct IfAddrsFree {
  void operator()(ifaddrs* p) const { ::freeifaddrs(p); }
};

std::uint32_t HostOrder(const sockaddr* sa) {
  sockaddr_in v4{};
  std::memcpy(&v4, sa, sizeof v4);
  return ntohl(v4.sin_addr.s_addr);
}

std::optional<std::uint32_t> ParseIpv4(std::string_view text) {
  const std::string s(text);
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

}  // namespace

std::string Ipv4Text(std::uint32_t address) {
  return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 0xff, (address >> 8) & 0xff, address & 0xff);
}

std::string SubnetText(const LocalBroadcast& b) {
  return fmt::format("{}/{}", Ipv4Text(b.address & b.netmask), __builtin_popcount(b.netmask));
}

bool InSubnet(const LocalBroadcast& b, std::uint32_t address) {
  return (address & b.netmask) == (b.address & b.netmask);
}

Result<std::vector<LocalBroadcast>> ReadLocalBroadcasts() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return std::unexpected(ErrnoError(errno, "getifaddrs"));
  std::unique_ptr<ifaddrs, IfAddrsFree> owned(list);
  std::vector<LocalBroadcast> out;
  for (const ifaddrs* i = list; i; i = i->ifa_next) {
    // ifa_broadaddr shares its storage with ifa_dstaddr: it is a broadcast address only
    // under IFF_BROADCAST.
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_netmask || !i->ifa_broadaddr) continue;
    if (!(i->ifa_flags & IFF_UP) || !(i->ifa_flags & IFF_BROADCAST)) continue;
    LocalBroadcast b{i->ifa_name, HostOrder(i->ifa_addr), HostOrder(i->ifa_netmask), HostOrder(i->ifa_broadaddr)};
    if (b.broadcast != 0) out.push_back(std::move(b));
  }
  return out;
}

Result<LocalBroadcast> ChooseBroadcast(std::span<const LocalBroadcast> local, std::string_view address) {
  if (auto owner = BroadcastOwner(local, address)) return *owner;
  std::vector<std::string> known;
  for (const LocalBroadcast& b : local) {
    std::string one = fmt::format("{} ({})", Ipv4Text(b.broadcast), b.interface);
    if (std::find(known.begin(), known.end(), one) == known.end()) known.push_back(std::move(one));
  }  // (two addresses of one subnet share a broadcast address: listed once)
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("--broadcast {}: not the broadcast address of an interface that is up here; {}",
                          address,
                          known.empty() ? std::string("this network namespace has no local broadcast addresses")
                                        : fmt::format("the local broadcast addresses are {}", fmt::join(known, ", "))));
}

std::optional<LocalBroadcast> BroadcastOwner(std::span<const LocalBroadcast> local, std::string_view address) {
  const auto a = ParseIpv4(address);
  if (!a) return std::nullopt;
  for (const LocalBroadcast& b : local) {
    if (b.broadcast == *a) return b;
  }
  return std::nullopt;
}

}  // namespace berth::probe

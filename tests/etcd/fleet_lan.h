// A small LAN of network namespaces for fleet tests (berth agent on several hosts, one etcd
// cluster, berth serve): namespace "lan" holds a bridge with 198.18.0.1/24, where the etcd
// members and berth serve listen; each host namespace has a veth to that bridge with
// 198.18.0.(10+i)/24 and its own ports, sysctls and processes' sockets, as a separate host
// would. Every address is inside namespaces this object creates (RFC 2544's benchmark range),
// and the destructor deletes them all (veths go with their namespace), also on failure.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <fmt/format.h>

#include "support/test_support.h"

namespace berth::test {

// Runs f() on a thread that entered `ns` (sockets it opens are that namespace's): its result,
// or nullopt when the namespace cannot be entered.
template <class F>
auto InNetns(const Netns& ns, F f) -> std::optional<decltype(f())> {
  std::optional<decltype(f())> out;
  std::thread t([&] {
    if (ns.EnterThread()) out.emplace(f());
  });
  t.join();
  return out;
}

class FleetLan {
 public:
  static constexpr const char* kLanIp = "198.18.0.1";

  // nullptr with the reason in `why` when a namespace or link cannot be made (needs root and
  // iproute2).
  static std::unique_ptr<FleetLan> Create(int hosts, std::string& why) {
    auto lan = Netns::Create("lan");
    if (!lan) {
      why = "cannot create a network namespace (needs root and iproute2)";
      return nullptr;
    }
    std::unique_ptr<FleetLan> out(new FleetLan(std::move(*lan)));
    auto step = [&](const Netns& ns, std::vector<std::string> argv) {
      const CommandResult r = ns.Exec(argv);
      if (r.exit_code != 0 && why.empty()) {
        why = fmt::format("in {}: {} failed: {}", ns.name(), fmt::join(argv, " "), r.err);
      }
      return r.exit_code == 0;
    };
    if (!step(out->lan_, {"ip", "link", "add", "br0", "type", "bridge"}) ||
        !step(out->lan_, {"ip", "addr", "add", std::string(kLanIp) + "/24", "dev", "br0"}) ||
        !step(out->lan_, {"ip", "link", "set", "br0", "up"})) {
      return nullptr;
    }
    for (int i = 0; i < hosts; ++i) {
      auto host = Netns::Create(fmt::format("h{}", i + 1));
      if (!host) {
        why = "cannot create a host network namespace";
        return nullptr;
      }
      const std::string there = fmt::format("v{}", i + 1);
      // The pair is made in the host namespace, its far end moved into the LAN's.
      if (!step(*host, {"ip", "link", "add", "eth0", "type", "veth", "peer", "name", there}) ||
          !step(*host, {"ip", "link", "set", there, "netns", out->lan_.name()}) ||
          !step(out->lan_, {"ip", "link", "set", there, "master", "br0"}) ||
          !step(out->lan_, {"ip", "link", "set", there, "up"}) ||
          !step(*host, {"ip", "addr", "add", HostIp(i) + "/24", "dev", "eth0"}) ||
          !step(*host, {"ip", "link", "set", "eth0", "up"})) {
        return nullptr;
      }
      out->hosts_.push_back(std::move(*host));
    }
    return out;
  }

  const Netns& lan() const { return lan_; }
  const Netns& host(int i) const { return hosts_.at(static_cast<std::size_t>(i)); }
  int hosts() const { return static_cast<int>(hosts_.size()); }
  static std::string HostIp(int i) { return fmt::format("198.18.0.{}", 10 + i + 1); }

 private:
  explicit FleetLan(Netns lan) : lan_(std::move(lan)) {}
  Netns lan_;
  std::vector<Netns> hosts_;
};

}  // namespace berth::test

#include "core/windows_host.h"

#include <algorithm>

namespace berth::windows {

bool SqlInstance::dynamic() const {
  return tcp_dynamic_ports.find_first_not_of(" \t") != std::string::npos;
}

bool SameWindowsName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

PortRange DynamicRange(const WindowsHost& host, Protocol proto) {
  for (const PortBlock& b : host.dynamic) {
    if (b.proto == proto && b.family == 4) return b.range;
  }
  return kDefaultDynamicRange;
}

PortSet DynamicPorts(const WindowsHost& host, Protocol proto) {
  PortSet out;
  for (const PortBlock& b : host.dynamic) {
    if (b.proto == proto) out.Add(b.range);
  }
  if (out.empty()) out.Add(kDefaultDynamicRange);
  return out;
}

PortSet ExcludedPorts(const WindowsHost& host, Protocol proto) {
  PortSet out;
  for (const PortBlock& b : host.excluded) {
    if (b.proto == proto) out.Add(b.range);
  }
  return out;
}

bool NetshAccepts(PortRange r) { return r.low >= kNetshMinStart && r.size() >= kNetshMinPorts; }

std::optional<PortRange> ChooseDynamicRange(PortRange current, const PortSet& avoid) {
  const auto clear = [&](PortRange r) { return NetshAccepts(r) && avoid.Intersect(r).empty(); };
  if (clear(current)) return current;
  if (clear(kDefaultDynamicRange)) return kDefaultDynamicRange;
  // The longest run of the default range that avoids every port of `avoid`.
  PortSet free{kDefaultDynamicRange};
  free.Subtract(avoid);
  std::optional<PortRange> best;
  for (PortRange r : free.ranges()) {
    if (clear(r) && (!best || r.size() > best->size())) best = r;
  }
  return best;
}

bool IsBroadRule(const FirewallRule& rule, const PortSet& dynamic) {
  if (!rule.enabled || !rule.inbound || !rule.allow) return false;
  return rule.ports.count() >= 1024 || rule.ports.Intersect(dynamic).count() >= 64;
}

}  // namespace berth::windows

// Ports, protocols, ranges and sets of ranges: the value types every layer shares.
// PortSet keeps its ranges sorted, disjoint and non-adjacent, so equal sets compare equal
// and Format() is canonical. All types are values; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth {

using Port = std::uint16_t;

enum class Protocol : std::uint8_t { kTcp, kUdp };

std::string_view ProtocolName(Protocol p);  // "tcp" / "udp"
// Accepts "tcp" or "udp" (any case). Failure: kInvalidArgument naming the input.
Result<Protocol> ParseProtocol(std::string_view text);

// An inclusive range low..high. Invariant: low <= high.
struct PortRange {
  Port low = 0;
  Port high = 0;

  std::uint32_t size() const { return std::uint32_t{high} - low + 1; }
  bool contains(Port p) const { return low <= p && p <= high; }
  bool overlaps(PortRange o) const { return low <= o.high && o.low <= high; }
  friend bool operator==(PortRange, PortRange) = default;
};

// "1433" or "1433-1436". Failure: kInvalidArgument saying what is allowed.
Result<PortRange> ParsePortRange(std::string_view text);
// "1433" for a single port, else low, `sep`, high: "49152-49407" (nft, firewalld, Windows),
// "49152:49407" (iptables, ufw).
std::string FormatRange(PortRange r, char sep = '-');

class PortSet {
 public:
  PortSet() = default;
  PortSet(std::initializer_list<PortRange> ranges);

  // Parses the kernel's list format and ours: "1,2-4,10-10" (commas and/or blanks
  // between items; empty means the empty set). Failure: kInvalidArgument naming the item.
  static Result<PortSet> Parse(std::string_view text);

  void Add(Port p) { Add(PortRange{p, p}); }
  void Add(PortRange r);
  void Add(const PortSet& other);
  void Subtract(PortRange r);
  void Subtract(const PortSet& other);
  PortSet Intersect(const PortSet& other) const;
  PortSet Intersect(PortRange r) const;

  bool contains(Port p) const;
  bool empty() const { return ranges_.empty(); }
  std::uint32_t count() const;  // number of ports in the set
  const std::vector<PortRange>& ranges() const { return ranges_; }

  // Canonical text, "1433-1436,50051"; "" for the empty set.
  std::string Format() const;

  friend bool operator==(const PortSet&, const PortSet&) = default;

 private:
  std::vector<PortRange> ranges_;
};

}  // namespace berth

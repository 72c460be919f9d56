#include "core/socket.h"

#include <arpa/inet.h>

#include <charconv>

#include <fmt/core.h>

namespace berth {

std::string_view StateName(SocketState s, Protocol proto) {
  switch (s) {
    case SocketState::kEstablished: return "ESTAB";
    case SocketState::kSynSent: return "SYN-SENT";
    case SocketState::kSynRecv: return "SYN-RECV";
    case SocketState::kFinWait1: return "FIN-WAIT-1";
    case SocketState::kFinWait2: return "FIN-WAIT-2";
    case SocketState::kTimeWait: return "TIME-WAIT";
    case SocketState::kClose: return proto == Protocol::kUdp ? "UNCONN" : "CLOSE";
    case SocketState::kCloseWait: return "CLOSE-WAIT";
    case SocketState::kLastAck: return "LAST-ACK";
    case SocketState::kListen: return "LISTEN";
    case SocketState::kClosing: return "CLOSING";
    case SocketState::kNewSynRecv: return "NEW-SYN-RECV";
  }
  return "UNKNOWN";
}

AddressTable::AddressTable() : list_{IpAddress{}}, slots_(16, 0) { slots_[Slot(list_[0])] = 1; }

std::size_t AddressTable::Slot(const IpAddress& a) const {
  std::uint64_t lo = 0, hi = 0;
  std::memcpy(&lo, a.bytes.data(), 8);
  std::memcpy(&hi, a.bytes.data() + 8, 8);
  std::uint64_t h = (lo ^ (hi * 0x9E3779B97F4A7C15ull) ^ a.family) * 0xBF58476D1CE4E5B9ull;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = static_cast<std::size_t>(h >> 29) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == 0 || list_[slots_[i] - 1] == a) return i;
  }
}

std::uint32_t AddressTable::Intern(const IpAddress& a) {
  std::size_t i = Slot(a);
  if (slots_[i] != 0) return slots_[i] - 1;
  const auto index = static_cast<std::uint32_t>(list_.size());
  list_.push_back(a);
  if (list_.size() * 3 > slots_.size() * 2) {  // keep the load under 2/3
    slots_.assign(slots_.size() * 2, 0);
    for (std::uint32_t k = 0; k < list_.size(); ++k) slots_[Slot(list_[k])] = k + 1;
  } else {
    slots_[i] = index + 1;
  }
  return index;
}

bool IpAddress::is_any() const {
  const std::size_t n = family == 4 ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

bool IpAddress::is_loopback() const {
  if (family == 4) return bytes[0] == 127;
  for (std::size_t i = 0; i < 15; ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes[15] == 1;
}

std::string IpAddress::Format() const {
  if (family == 4) {  // inet_ntop formats IPv4 with sprintf: a tenth of a large scan's time
    return fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]);
  }
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf) == nullptr) {
    return "?";
  }
  return buf;
}

// Without fmt: a scan's text table formats two endpoints a row, twice (measure, then print),
// and at a million sockets the format string's interpretation showed in the profile.
void AppendEndpoint(std::string& out, const IpAddress& a, Port p) {
  if (a.is_any()) {
    out += a.family == 4 ? "0.0.0.0" : "[::]";
  } else if (a.family == 6) {
    out += '[';
    out += a.Format();
    out += ']';
  } else {
    out += a.Format();
  }
  char port[8];
  const auto end = std::to_chars(port, port + sizeof port, p).ptr;
  out += ':';
  out.append(port, end);
}

std::string FormatEndpoint(const IpAddress& a, Port p) {
  std::string out;
  out.reserve(a.family == 6 ? 48 : 22);
  AppendEndpoint(out, a, p);
  return out;
}

std::string_view HostSnapshot::InterfaceName(const SocketRecord& s) const {
  if (s.iface == 0 || s.iface > interfaces.size()) return {};
  return interfaces[s.iface - 1u].second;
}

void HostSnapshot::SetInterface(SocketRecord& s, std::uint32_t ifindex) {
  s.iface = 0;
  if (ifindex == 0) return;
  std::size_t i = 0;
  while (i < interfaces.size() && interfaces[i].first != ifindex) ++i;
  if (i == interfaces.size()) {
    if (interfaces.size() >= 0x7fff) return;
    interfaces.emplace_back(ifindex, "");
  }
  s.iface = static_cast<std::uint16_t>((i + 1) & 0x7fff);
}

std::string_view OwnerWalkName(OwnerWalk walk) {
  switch (walk) {
    case OwnerWalk::kNone: return "none";
    case OwnerWalk::kAuto: return "auto";
    case OwnerWalk::kBpf: return "bpf";
    case OwnerWalk::kProc: return "proc";
  }
  return "?";
}

}  // namespace berth

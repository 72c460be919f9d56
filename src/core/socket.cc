#include "core/socket.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

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

namespace {

// inet_ntop formats IPv4 with sprintf, and fmt interprets a format string: at a million
// sockets either showed in the profile.
void AppendIpv4(std::string& out, const std::array<std::uint8_t, 16>& b) {
  char text[16];  // "255.255.255.255"
  std::size_t n = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    if (k > 0) text[n++] = '.';
    const unsigned v = b[k];
    if (v >= 100) text[n++] = static_cast<char>('0' + v / 100);
    if (v >= 10) text[n++] = static_cast<char>('0' + v / 10 % 10);
    text[n++] = static_cast<char>('0' + v % 10);
  }
  out.append(text, n);
}

}  // namespace

std::string IpAddress::Format() const {
  if (family == 4) {
    std::string out;
    AppendIpv4(out, bytes);
    return out;
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
    AppendIpv4(out, a.bytes);
  }
  char port[8];
  const auto end = std::to_chars(port, port + sizeof port, p).ptr;
  out += ':';
  out.append(port, end);
}

std::size_t EndpointAddressWidth(const IpAddress& a) {
  if (a.is_any()) return a.family == 4 ? 7 : 4;  // "0.0.0.0", "[::]"
  if (a.family == 6) return a.Format().size() + 2;
  std::size_t n = 3;  // the dots
  for (std::size_t k = 0; k < 4; ++k) n += a.bytes[k] >= 100 ? 3 : a.bytes[k] >= 10 ? 2 : 1;
  return n;
}

std::size_t PortWidth(Port p) { return p >= 10000 ? 5 : p >= 1000 ? 4 : p >= 100 ? 3 : p >= 10 ? 2 : 1; }

std::string FormatEndpoint(const IpAddress& a, Port p) {
  std::string out;
  out.reserve(a.family == 6 ? 48 : 22);
  AppendEndpoint(out, a, p);
  return out;
}

namespace {

// SocketRecord::attrs's last value is never a pair's index: it marks a socket whose pair came
// after the table was full.
constexpr std::uint16_t kAttrsFull = 0x7fff;
constexpr std::string_view kAttrsFullWarning =
    "the sockets have more than 32,766 distinct pairs of owner uid and bound device, more than "
    "berth can index: the sockets past them show uid 4294967295 (unknown) and no device";

void InternAttrs(HostSnapshot& snap, SocketRecord& s, SocketAttrs want) {
  if (snap.attrs.empty()) snap.attrs.emplace_back();
  if (snap.attrs_last_ < snap.attrs.size() && snap.attrs[snap.attrs_last_] == want) {
    s.attrs = snap.attrs_last_ & 0x7fff;  // most sockets repeat the last socket's pair
    return;
  }
  const std::uint64_t key = std::uint64_t{want.uid} << 16 | want.iface;
  std::uint16_t index = 0;
  if (want == snap.attrs[0]) {
    index = 0;
  } else if (auto it = snap.attrs_index_.find(key); it != snap.attrs_index_.end()) {
    index = it->second;
  } else if (snap.attrs.size() < kAttrsFull) {
    index = static_cast<std::uint16_t>(snap.attrs.size());
    snap.attrs.push_back(want);
    snap.attrs_index_.emplace(key, index);
  } else {
    if (std::find(snap.warnings.begin(), snap.warnings.end(), kAttrsFullWarning) == snap.warnings.end()) {
      snap.warnings.emplace_back(kAttrsFullWarning);
    }
    snap.partial = true;
    s.attrs = kAttrsFull;
    return;
  }
  snap.attrs_last_ = index;
  s.attrs = index & 0x7fff;
}

}  // namespace

const SocketAttrs& HostSnapshot::Attrs(const SocketRecord& s) const {
  static const SocketAttrs kNone{};
  static const SocketAttrs kUnknown{.uid = kUnknownUid, .iface = 0};
  if (s.attrs < attrs.size()) return attrs[s.attrs];
  return s.attrs == kAttrsFull ? kUnknown : kNone;
}

std::string_view HostSnapshot::InterfaceName(const SocketRecord& s) const {
  const std::uint16_t iface = Attrs(s).iface;
  if (iface == 0 || iface > interfaces.size()) return {};
  return interfaces[iface - 1u].second;
}

void HostSnapshot::SetUid(SocketRecord& s, std::uint32_t uid) {
  SocketAttrs want = Attrs(s);
  want.uid = uid;
  InternAttrs(*this, s, want);
}

void HostSnapshot::SetInterface(SocketRecord& s, std::uint32_t ifindex) {
  SocketAttrs want = Attrs(s);
  want.iface = 0;
  if (ifindex != 0) {
    std::size_t i = 0;
    while (i < interfaces.size() && interfaces[i].first != ifindex) ++i;
    if (i == interfaces.size() && interfaces.size() < 0x7fff) interfaces.emplace_back(ifindex, "");
    if (i < interfaces.size()) want.iface = static_cast<std::uint16_t>(i + 1);
  }
  InternAttrs(*this, s, want);
}

std::span<const SocketOwner> HostSnapshot::OwnersOf(std::uint32_t socket) const {
  const auto first = std::lower_bound(owners.begin(), owners.end(), socket,
                                      [](const SocketOwner& o, std::uint32_t i) { return o.socket < i; });
  auto last = first;
  while (last != owners.end() && last->socket == socket) ++last;
  return {first, last};
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

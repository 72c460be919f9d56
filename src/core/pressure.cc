#include "core/pressure.h"

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/core.h>

namespace berth {

PressureReport AnalyzePressure(const HostSnapshot& snap) {
  const HostPortConfig& cfg = snap.config;
  PressureReport report;

  PortSet listening;  // TCP ports servers hold (their accepted sockets share them)
  for (const SocketRecord& s : snap.sockets) {
    if (s.proto == Protocol::kTcp && s.state == SocketState::kListen) listening.Add(s.local_port);
  }
  PortSet usable{cfg.ephemeral};
  usable.Subtract(cfg.reserved);
  usable.Subtract(listening);
  report.usable = usable.count();

  using Key = std::tuple<IpAddress, IpAddress, Port>;
  std::map<Key, PressureRow> rows;
  for (const SocketRecord& s : snap.sockets) {
    if (s.proto != Protocol::kTcp || s.state == SocketState::kListen ||
        s.state == SocketState::kClose || s.remote_port == 0) {
      continue;
    }
    if (!cfg.ephemeral.contains(s.local_port) || listening.contains(s.local_port)) continue;
    auto [it, inserted] = rows.try_emplace(Key{snap.Local(s), snap.Remote(s), s.remote_port});
    PressureRow& row = it->second;
    if (inserted) {
      row.source = snap.Local(s);
      row.destination = snap.Remote(s);
      row.destination_port = s.remote_port;
    }
    ++row.sockets;
    if (s.state == SocketState::kTimeWait) ++row.time_wait;
  }

  for (auto& [key, row] : rows) {
    row.share = report.usable == 0 ? 1.0 : static_cast<double>(row.sockets) / report.usable;
    report.rows.push_back(row);
  }
  std::sort(report.rows.begin(), report.rows.end(), [](const PressureRow& a, const PressureRow& b) {
    if (a.sockets != b.sockets) return a.sockets > b.sockets;
    return std::tie(a.source, a.destination, a.destination_port) <
           std::tie(b.source, b.destination, b.destination_port);
  });

  for (const PressureRow& row : report.rows) {
    if (row.share < 0.5) break;  // sorted: the rest are lower
    const bool tw_heavy = row.time_wait * 2 >= row.sockets;
    std::string fix =
        "spread the load: more destination IPs or ports, or more source IPs; reuse connections "
        "(keep-alive, pooling); a bind()-before-connect() client should set "
        "IP_BIND_ADDRESS_NO_PORT; widen net.ipv4.ip_local_port_range only after checking that "
        "no server listens in the new part";
    if (tw_heavy) {
      const bool reuse_on =
          cfg.tcp_tw_reuse == 1 || (cfg.tcp_tw_reuse == 2 && row.destination.is_loopback());
      if (cfg.tcp_timestamps == 0) {
        // tw_reuse only reuses a TIME_WAIT port when both sides send TCP timestamps.
        fix += fmt::format("; most are in TIME_WAIT (60 s, fixed in the kernel), and "
                           "net.ipv4.tcp_timestamps is 0 here, so tcp_tw_reuse cannot help: "
                           "sysctl -w net.ipv4.tcp_timestamps=1{} lets this connecting side "
                           "reuse them safely (the peer must send timestamps too)",
                           reuse_on ? "" : " net.ipv4.tcp_tw_reuse=1");
      } else if (!reuse_on) {
        fix += "; most are in TIME_WAIT (60 s, fixed in the kernel): sysctl -w "
               "net.ipv4.tcp_tw_reuse=1 lets this connecting side reuse them safely";
      } else {
        fix += "; most are in TIME_WAIT (60 s, fixed in the kernel) and tcp_tw_reuse already "
               "applies: the remaining fix is fewer, longer-lived connections";
      }
      fix += "; net.ipv4.tcp_fin_timeout does not shorten TIME_WAIT";
    }
    report.findings.push_back(Finding{
        .id = FindingId::kEphemeralPortPressure,
        .severity = row.share >= 0.8 ? Severity::kError : Severity::kWarning,
        .subject = fmt::format("{} -> {}", row.source.Format(),
                               FormatEndpoint(row.destination, row.destination_port)),
        .proto = Protocol::kTcp,
        .ports = {},
        .pids = {},
        .why = fmt::format("{} of {} usable ephemeral ports ({:.0f} %) are held toward this "
                           "destination ({} in TIME_WAIT); at 100 % connect() fails with "
                           "EADDRNOTAVAIL",
                           row.sockets, report.usable, row.share * 100, row.time_wait),
        .fix = std::move(fix)});
  }
  return report;
}

}  // namespace berth

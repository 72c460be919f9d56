#include "core/socket_filter.h"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/core.h>

#include "base/text.h"

namespace berth {
namespace {

constexpr std::array<std::pair<std::string_view, SocketState>, 14> kStateNames{{
    {"established", SocketState::kEstablished}, {"syn-sent", SocketState::kSynSent},
    {"syn-recv", SocketState::kSynRecv},         {"fin-wait-1", SocketState::kFinWait1},
    {"fin-wait-2", SocketState::kFinWait2},      {"time-wait", SocketState::kTimeWait},
    {"closed", SocketState::kClose},             {"unconn", SocketState::kClose},
    {"close-wait", SocketState::kCloseWait},     {"last-ack", SocketState::kLastAck},
    {"listening", SocketState::kListen},         {"listen", SocketState::kListen},
    {"closing", SocketState::kClosing},          {"new-syn-recv", SocketState::kNewSynRecv},
}};

}  // namespace

bool UnitMatches(std::string_view want, std::string_view unit) {
  if (unit == want) return true;
  return want.find('.') == std::string_view::npos && unit.size() == want.size() + 8 &&
         unit.starts_with(want) && unit.ends_with(".service");
}

Result<SocketState> ParseStateName(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  for (const auto& [n, s] : kStateNames) {
    if (n == lower) return s;
  }
  std::string known;
  for (const auto& [n, s] : kStateNames) known += (known.empty() ? "" : ", ") + std::string(n);
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("unknown socket state '{}': use one of {}", TerminalSafe(name, 64), known));
}

bool Matches(const SocketFilter& f, const HostSnapshot& snap, std::size_t index) {
  const SocketRecord& s = snap.sockets[index];
  if (f.family != 0 && snap.Local(s).family != f.family) return false;
  if (!f.ports.empty() && !f.ports.contains(s.local_port)) return false;
  if (!f.states.empty() && std::find(f.states.begin(), f.states.end(), s.state) == f.states.end()) {
    return false;
  }
  if (f.processes.empty() && f.units.empty()) return true;
  for (const SocketOwner& o : snap.OwnersOf(static_cast<std::uint32_t>(index))) {
    const ProcessInfo& p = snap.processes[o.process];
    const bool process_ok =
        f.processes.empty() ||
        std::find(f.processes.begin(), f.processes.end(), p.command) != f.processes.end();
    const bool unit_ok = f.units.empty() || std::any_of(f.units.begin(), f.units.end(), [&](const std::string& u) {
                           return UnitMatches(u, p.unit);
                         });
    if (process_ok && unit_ok) return true;
  }
  return false;
}

std::vector<std::size_t> Narrow(const SocketFilter& f, HostSnapshot& snap) {
  std::vector<std::size_t> kept;
  std::vector<std::uint32_t> renumber(snap.sockets.size(), UINT32_MAX);
  for (std::size_t i = 0; i < snap.sockets.size(); ++i) {
    if (!Matches(f, snap, i)) continue;
    renumber[i] = static_cast<std::uint32_t>(kept.size());
    kept.push_back(i);
  }
  std::vector<SocketRecord> sockets;
  sockets.reserve(kept.size());
  for (std::size_t i : kept) sockets.push_back(snap.sockets[i]);
  snap.sockets = std::move(sockets);
  std::vector<SocketOwner> owners;
  for (const SocketOwner& o : snap.owners) {
    if (renumber[o.socket] == UINT32_MAX) continue;
    owners.push_back({renumber[o.socket], o.process, o.fd});
  }
  snap.owners = std::move(owners);  // still sorted: renumbering keeps the order
  return kept;
}

std::vector<Finding> FilterFindings(const SocketFilter& f, const HostSnapshot& narrowed,
                                    std::vector<Finding> findings) {
  if (!f.active()) return findings;
  std::erase_if(findings, [&](const Finding& fd) {
    if (fd.ports.empty()) return true;
    for (std::size_t i = 0; i < narrowed.sockets.size(); ++i) {
      if (!fd.ports.contains(narrowed.sockets[i].local_port)) continue;
      if (fd.pids.empty()) return false;
      for (const SocketOwner& o : narrowed.owners) {
        if (o.socket != i) continue;
        const int pid = narrowed.processes[o.process].pid;
        if (std::find(fd.pids.begin(), fd.pids.end(), pid) != fd.pids.end()) return false;
      }
    }
    return true;
  });
  return findings;
}

}  // namespace berth

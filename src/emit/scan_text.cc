#include <algorithm>
#include <array>
#include <numeric>

#include <fmt/core.h>

#include "core/classify.h"
#include "core/iana.h"
#include "emit/findings_render.h"
#include "emit/scan_render.h"
#include "emit/styled_text.h"
#include "emit/table.h"

namespace berth {
namespace {

enum Col { kProcess, kPid, kUser, kUnit, kProto, kLocal, kState, kPeer, kClass, kIana, kReg, kNumCols };
constexpr std::array<std::string_view, kNumCols> kHeaders{
    "PROCESS", "PID", "USER", "UNIT", "PROTO", "LOCAL", "STATE", "PEER", "CLASS", "IANA", "REG"};

// The table's rows: socket indices grouped by primary owner (the lowest pid; unowned last),
// in socket order within a group (sockets are sorted by proto, port, ...), from a counting
// sort in one pass over the owners (sorted by socket, then process). A row's primary owner
// is its group; the few sockets with more than one owning process are listed with the
// number of the others ("+N owners"). A million-socket table keeps 4 bytes a row.
struct Rows {
  std::vector<std::uint32_t> order;
  std::vector<std::uint32_t> group_end;  // per group (process index, then none): end in order
  std::vector<std::pair<std::uint32_t, std::uint32_t>> extra;  // (socket, other owners), sorted

  std::uint32_t ExtraOwners(std::uint32_t socket) const {
    auto it = std::lower_bound(extra.begin(), extra.end(), std::pair{socket, 0u});
    return it != extra.end() && it->first == socket ? it->second : 0;
  }
};

Rows RowOrder(const ScanView& v) {
  const HostSnapshot& snap = *v.snap;
  const std::size_t none = snap.processes.size();
  Rows rows;
  std::vector<std::uint32_t> start(none + 2, 0);
  auto each = [&](auto&& fn) {
    std::size_t o = 0;
    for (std::uint32_t i = 0; i < snap.sockets.size(); ++i) {
      while (o < snap.owners.size() && snap.owners[o].socket < i) ++o;
      if (!v.all_states && !snap.sockets[i].is_server()) continue;
      const bool owned = o < snap.owners.size() && snap.owners[o].socket == i &&
                         snap.owners[o].process < none;
      fn(i, owned ? snap.owners[o].process : none, o);
    }
  };
  each([&](std::uint32_t i, std::size_t key, std::size_t o) {
    ++start[key + 1];
    if (key == none) return;
    std::uint32_t others = 0;
    for (std::size_t k = o + 1; k < snap.owners.size() && snap.owners[k].socket == i; ++k) {
      if (snap.owners[k].process != snap.owners[k - 1].process) ++others;
    }
    if (others > 0) rows.extra.emplace_back(i, others);
  });
  for (std::size_t k = 1; k < start.size(); ++k) start[k] += start[k - 1];
  rows.group_end.assign(start.begin() + 1, start.end());
  rows.order.resize(start.back());
  each([&](std::uint32_t i, std::size_t key, std::size_t) { rows.order[start[key]++] = i; });
  return rows;
}

// The cells of row n, socket i, whose primary owner is `p` (-1 for none); `prev` is the
// primary owner of row n - 1 (-2 before the first row).
void Cells(const ScanView& v, std::uint32_t i, int p, std::uint32_t extra_owners, int prev,
           std::array<std::string, kNumCols>& c, bool& group_start, bool& ephemeral) {
  const HostSnapshot& snap = *v.snap;
  const SocketRecord& s = snap.sockets[i];
  // Without a header (rows for a script) every row names its owner.
  group_start = prev != p || !v.header;
  for (auto& cell : c) cell.clear();
  if (group_start) {
    if (p >= 0) {
      const ProcessInfo& proc = snap.processes[static_cast<std::size_t>(p)];
      c[kProcess] = TerminalSafe(proc.command);
      c[kPid] = std::to_string(proc.pid);
      c[kUser] = TerminalSafe(proc.user);
      c[kUnit] = !proc.container.empty()
                     ? "container:" + TerminalSafe(proc.container.substr(0, 12))
                     : TerminalSafe(proc.unit.empty() ? "-" : proc.unit);
    } else {
      c[kProcess] = snap.owners_resolved ? "(no owner)" : "(not looked up)";
      c[kPid] = c[kUser] = c[kUnit] = "-";
    }
  }
  c[kProto] = ProtocolName(s.proto);
  if (snap.Local(s).family == 6) c[kProto] += '6';
  AppendEndpoint(c[kLocal], snap.Local(s), s.local_port);
  if (snap.HasInterface(s)) {
    c[kLocal] += "%" + TerminalSafe(snap.InterfaceName(s));
  }
  if (extra_owners > 0) c[kLocal] += fmt::format(" (+{} owners)", extra_owners);
  c[kState] = StateName(s.state, s.proto);
  if (s.remote_port == 0 && snap.Remote(s).is_any()) {
    c[kPeer] = "-";
  } else {
    AppendEndpoint(c[kPeer], snap.Remote(s), s.remote_port);
  }
  const PortClass cls = ClassifyPort(s.local_port, s.proto, snap.config);
  AppendClassLabel(c[kClass], cls);
  ephemeral = cls.ephemeral;
  c[kIana] = cls.iana ? std::string(cls.iana->service) : "-";
  if (v.registry != nullptr && i < v.registry->size() && (*v.registry)[i]) {
    const RegistryMark& m = *(*v.registry)[i];
    c[kReg] = m.status == registry::RegStatus::kRegistered ? TerminalSafe(m.service)
              : m.status == registry::RegStatus::kDrifted  ? "drifted:" + TerminalSafe(m.service)
                                                           : std::string("-");
  }
}

// Two passes over the rows (measure, then print) so that a 220k-socket table is never held.
void RenderSockets(const ScanView& v, StyledText& out) {
  const Rows rows = RowOrder(v);
  const std::vector<std::uint32_t>& order = rows.order;
  const int none = static_cast<int>(v.snap->processes.size());
  std::array<bool, kNumCols> shown{};
  shown.fill(true);
  if (!v.all_states) shown[kState] = shown[kPeer] = false;
  if (v.registry == nullptr) shown[kReg] = false;
  std::vector<Column> columns;
  std::vector<int> source;  // table column -> Col
  for (int k = 0; k < kNumCols; ++k) {
    if (!shown[k]) continue;
    columns.push_back({std::string(kHeaders[k])});
    source.push_back(k);
  }
  Table table(std::move(columns));
  std::array<std::string, kNumCols> c;
  std::vector<std::string> cells(source.size());
  bool group_start = false, ephemeral = false;
  // Row n into `cells`: its group (primary owner) follows from n.
  auto row = [&](std::size_t n, int& group, int& prev) {
    while (rows.group_end[static_cast<std::size_t>(group)] <= n) ++group;
    const int primary = group < none ? group : -1;
    const std::uint32_t i = order[n];
    Cells(v, i, primary, rows.extra.empty() ? 0 : rows.ExtraOwners(i), prev, c, group_start, ephemeral);
    prev = primary;
    // Swapped, not moved: the next row's cells reuse these buffers (Cells clears them).
    for (std::size_t t = 0; t < source.size(); ++t) std::swap(cells[t], c[source[t]]);
  };
  int group = 0, prev = -2;
  for (std::size_t n = 0; n < order.size(); ++n) {
    row(n, group, prev);
    table.Measure(cells);
  }
  group = 0;
  prev = -2;
  if (v.header) {
    out.Put(table.FormatHeader([&](std::string& line, std::size_t, std::string_view text) {
      out.AppendStyled(line, kBold, text);
    }));
    out.Put("\n");
  }
  for (std::size_t n = 0; n < order.size(); ++n) {
    row(n, group, prev);
    out.Put(table.FormatRow(cells, [&](std::string& line, std::size_t t, std::string_view text) {
      const int k = source[t];
      std::string_view style;
      if (k == kClass && ephemeral) style = kYellow;
      else if (k == kReg && text.starts_with("drifted")) style = kYellow;
      else if (k == kProcess) style = kBold;
      out.AppendStyled(line, style, text);
    }));
    out.Put("\n");
  }
  if (order.empty() && v.header) {
    out.Styled(kDim, v.all_states ? "(no sockets)\n" : "(no listening sockets)\n");
  }
}

void RenderPressure(const HostSnapshot& snap, const PressureReport& p, StyledText& out) {
  out.Put("\n");
  out.Styled(kBold, fmt::format("Ephemeral-port pressure: {} usable ports per destination "
                                "(range {}-{}, minus reserved and listening ports); "
                                "tcp_tw_reuse={}\n",
                                p.usable, snap.config.ephemeral.low, snap.config.ephemeral.high,
                                snap.config.tcp_tw_reuse));
  if (p.rows.empty()) {
    out.Styled(kDim, "(no outbound TCP connections hold ephemeral ports)\n");
    return;
  }
  constexpr std::size_t kShown = 20;
  Table table({{"SOURCE"},
               {"DESTINATION"},
               {"SOCKETS", Align::kRight},
               {"TIME-WAIT", Align::kRight},
               {"SHARE", Align::kRight}});
  std::vector<std::vector<std::string>> cells;
  for (std::size_t i = 0; i < std::min(kShown, p.rows.size()); ++i) {
    const PressureRow& r = p.rows[i];
    cells.push_back({r.source.Format(), FormatEndpoint(r.destination, r.destination_port),
                     fmt::format("{}", r.sockets), fmt::format("{}", r.time_wait),
                     fmt::format("{:.1f} %", r.share * 100)});
    table.Measure(cells.back());
  }
  out.Styled(kBold, table.FormatHeader());
  out.Put("\n");
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const double share = p.rows[i].share;
    out.Styled(share >= 0.8 ? kRed : share >= 0.5 ? kYellow : "", table.FormatRow(cells[i]));
    out.Put("\n");
  }
  if (p.rows.size() > kShown) {
    out.Styled(kDim, fmt::format("({} more destinations; --json lists all)\n", p.rows.size() - kShown));
  }
}

}  // namespace

void RenderScanText(const ScanView& v, bool color, const Sink& sink) {
  const HostSnapshot& snap = *v.snap;
  StyledText out(sink, color);
  const HostPortConfig& cfg = snap.config;
  if (!v.header) {
    if (v.sockets) RenderSockets(v, out);
    return;
  }
  out.Styled(kBold, fmt::format("berth {}  {}", v.command, TerminalSafe(snap.hostname)));
  out.Put(fmt::format("  netns {}  ephemeral {}-{} ({} ports)  reserved {}\n",
                      snap.netns.empty() ? "(own)" : TerminalSafe(snap.netns), cfg.ephemeral.low,
                      cfg.ephemeral.high, cfg.ephemeral.size(),
                      cfg.reserved.empty() ? "(none)" : cfg.reserved.Format()));
  for (const std::string& w : snap.warnings) {
    out.Styled(kYellow, "note: ");
    out.Put(TerminalSafe(w, kTerminalMaxLine));
    out.Put("\n");
  }
  out.Put("\n");
  if (v.sockets) RenderSockets(v, out);
  if (v.pressure) RenderPressure(snap, *v.pressure, out);
  if (v.findings) {
    out.Flush();  // the findings section writes to the sink after what is buffered
    RenderFindingsReport(*v.findings, "Findings", color, sink, v.width);
  }
  if (snap.partial) {
    out.Styled(kYellow, "\nPARTIAL: some sockets or owners could not be read (see notes above)\n");
  }
}

}  // namespace berth

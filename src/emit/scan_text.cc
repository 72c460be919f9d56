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

struct Rows {
  std::vector<std::uint32_t> order;  // socket indices, grouped by owner
  std::vector<int> primary;          // socket -> process index, or -1
  std::vector<std::uint32_t> extra;  // socket -> number of further owners
};

Rows BuildRows(const ScanView& v) {
  const HostSnapshot& snap = *v.snap;
  Rows r;
  r.primary.assign(snap.sockets.size(), -1);
  r.extra.assign(snap.sockets.size(), 0);
  for (const SocketOwner& o : snap.owners) {
    if (r.primary[o.socket] < 0) {
      r.primary[o.socket] = static_cast<int>(o.process);
    } else if (static_cast<int>(o.process) != r.primary[o.socket]) {
      ++r.extra[o.socket];
    }
  }
  for (std::uint32_t i = 0; i < snap.sockets.size(); ++i) {
    if (v.all_states || snap.sockets[i].is_server()) r.order.push_back(i);
  }
  // Group by owner (unowned last); sockets are already sorted by (proto, port, ...).
  std::stable_sort(r.order.begin(), r.order.end(), [&](std::uint32_t a, std::uint32_t b) {
    auto key = [&](std::uint32_t i) {
      return r.primary[i] < 0 ? std::numeric_limits<int>::max() : r.primary[i];
    };
    return key(a) < key(b);
  });
  return r;
}

void Cells(const ScanView& v, const Rows& rows, std::size_t n, std::array<std::string, kNumCols>& c,
           bool& group_start, bool& ephemeral) {
  const HostSnapshot& snap = *v.snap;
  const std::uint32_t i = rows.order[n];
  const SocketRecord& s = snap.sockets[i];
  const int p = rows.primary[i];
  // Without a header (rows for a script) every row names its owner.
  group_start = n == 0 || rows.primary[rows.order[n - 1]] != p || !v.header;
  for (auto& cell : c) cell.clear();
  if (group_start) {
    if (p >= 0) {
      const ProcessInfo& proc = snap.processes[static_cast<std::size_t>(p)];
      c[kProcess] = TerminalSafe(proc.command);
      c[kPid] = fmt::format("{}", proc.pid);
      c[kUser] = TerminalSafe(proc.user);
      c[kUnit] = !proc.container.empty()
                     ? "container:" + TerminalSafe(proc.container.substr(0, 12))
                     : TerminalSafe(proc.unit.empty() ? "-" : proc.unit);
    } else {
      c[kProcess] = snap.owners_resolved ? "(no owner)" : "(not looked up)";
      c[kPid] = c[kUser] = c[kUnit] = "-";
    }
  }
  c[kProto] = fmt::format("{}{}", ProtocolName(s.proto), s.local.family == 6 ? "6" : "");
  c[kLocal] = FormatEndpoint(s.local, s.local_port);
  if (s.ifindex != 0) {
    c[kLocal] += "%" + TerminalSafe(snap.InterfaceName(s.ifindex));
  }
  if (rows.extra[i] > 0) c[kLocal] += fmt::format(" (+{} owners)", rows.extra[i]);
  c[kState] = StateName(s.state, s.proto);
  c[kPeer] = s.remote_port == 0 && s.remote.is_any() ? "-" : FormatEndpoint(s.remote, s.remote_port);
  const PortClass cls = ClassifyPort(s.local_port, s.proto, snap.config);
  c[kClass] = ClassLabel(cls);
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
  Rows rows = BuildRows(v);
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
  auto select = [&] {
    for (std::size_t t = 0; t < source.size(); ++t) cells[t] = std::move(c[source[t]]);
  };
  for (std::size_t n = 0; n < rows.order.size(); ++n) {
    Cells(v, rows, n, c, group_start, ephemeral);
    select();
    table.Measure(cells);
  }
  if (v.header) {
    out.Put(table.FormatHeader([&](std::string& line, std::size_t, std::string_view text) {
      out.AppendStyled(line, kBold, text);
    }));
    out.Put("\n");
  }
  for (std::size_t n = 0; n < rows.order.size(); ++n) {
    Cells(v, rows, n, c, group_start, ephemeral);
    select();
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
  if (rows.order.empty() && v.header) {
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

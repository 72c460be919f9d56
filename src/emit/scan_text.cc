#include <algorithm>
#include <array>
#include <numeric>
#include <utility>

#include <fmt/core.h>

#include "base/two_threads.h"
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

// The cells of socket i, whose primary owner is `p` (-1 for none); `group_start`: the first
// row of its owner's group, which names the owner.
void Cells(const ScanView& v, std::uint32_t i, int p, std::uint32_t extra_owners, bool group_start,
           std::array<std::string, kNumCols>& c, bool& ephemeral) {
  const HostSnapshot& snap = *v.snap;
  const SocketRecord& s = snap.sockets[i];
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

// The text width of each address of the snapshot as an endpoint writes it: measured once,
// not once per row (an IPv6 address goes through inet_ntop).
std::vector<std::uint8_t> AddressWidths(const HostSnapshot& snap) {
  std::vector<std::uint8_t> out(snap.addresses.size());
  for (std::uint32_t k = 0; k < out.size(); ++k) {
    out[k] = static_cast<std::uint8_t>(EndpointAddressWidth(snap.addresses[k]));
  }
  return out;
}

// Makes the cells of rows in increasing order, from any first row; one per thread.
class RowCursor {
 public:
  RowCursor(const ScanView& v, const Rows& rows, const std::vector<int>& source,
            const std::vector<std::uint8_t>* address_widths = nullptr)
      : v_(v), rows_(rows), source_(source), address_widths_(address_widths),
        cells_(source.size()), widths_(source.size()) {}

  // Widens `t` to row n's cells (n never decreases between calls). A plain row (not the
  // first of its owner's, one owner, no device, no registry mark) is measured without making
  // its text: its cells' widths follow from the record. Others are made, as Row(n) does.
  void Measure(std::size_t n, Table& t) {
    while (rows_.group_end[group_] <= n) ++group_;
    const std::size_t group_begin = group_ == 0 ? 0 : rows_.group_end[group_ - 1];
    const std::uint32_t i = rows_.order[n];
    const HostSnapshot& snap = *v_.snap;
    const SocketRecord& s = snap.sockets[i];
    const bool plain = address_widths_ != nullptr && n != group_begin && v_.header &&
                       (rows_.extra.empty() || rows_.ExtraOwners(i) == 0) && !snap.HasInterface(s) &&
                       !(v_.registry != nullptr && i < v_.registry->size() && (*v_.registry)[i]);
    if (!plain) {
      Row(n);
      t.Measure(cells_);
      return;
    }
    std::array<std::size_t, kNumCols> w{};
    const auto endpoint = [&](std::uint32_t address, Port port) {
      return std::size_t{(*address_widths_)[address]} + 1 + PortWidth(port);
    };
    w[kProto] = ProtocolName(s.proto).size() + (snap.Local(s).family == 6 ? 1 : 0);
    w[kLocal] = endpoint(s.local, s.local_port);
    w[kState] = StateName(s.state, s.proto).size();
    w[kPeer] = s.remote_port == 0 && snap.Remote(s).is_any() ? 1 : endpoint(s.remote, s.remote_port);
    const PortClass cls = ClassifyPort(s.local_port, s.proto, snap.config);
    w[kClass] = ClassLabelWidth(cls);
    w[kIana] = cls.iana ? cls.iana->service.size() : 1;
    for (std::size_t t2 = 0; t2 < source_.size(); ++t2) widths_[t2] = w[static_cast<std::size_t>(source_[t2])];
    t.MeasureWidths(widths_);
  }

  // Row n's cells into cells(); n never decreases between calls.
  void Row(std::size_t n) {
    while (rows_.group_end[group_] <= n) ++group_;
    const std::size_t none = v_.snap->processes.size();
    const int primary = group_ < none ? static_cast<int>(group_) : -1;
    const std::size_t group_begin = group_ == 0 ? 0 : rows_.group_end[group_ - 1];
    const std::uint32_t i = rows_.order[n];
    // Without a header (rows for a script) every row names its owner.
    Cells(v_, i, primary, rows_.extra.empty() ? 0 : rows_.ExtraOwners(i), n == group_begin || !v_.header, c_,
          ephemeral_);
    // Swapped, not moved: the next row's cells reuse these buffers (Cells clears them).
    for (std::size_t t = 0; t < source_.size(); ++t) std::swap(cells_[t], c_[static_cast<std::size_t>(source_[t])]);
  }
  const std::vector<std::string>& cells() const { return cells_; }
  bool ephemeral() const { return ephemeral_; }

 private:
  const ScanView& v_;
  const Rows& rows_;
  const std::vector<int>& source_;
  const std::vector<std::uint8_t>* address_widths_;
  std::size_t group_ = 0;
  std::array<std::string, kNumCols> c_;
  std::vector<std::string> cells_;
  std::vector<std::size_t> widths_;
  bool ephemeral_ = false;
};

// Rows formatted a block at a time, two blocks at once (one on a second thread), written in
// order: a million-row table keeps two blocks of text, not its rows.
constexpr std::size_t kBlockRows = 4096;

// Two passes over the rows (measure, then print) so that a 220k-socket table is never held;
// each pass split over two threads (making a row's cells is most of a large scan's rendering).
// The measure pass makes only the cells whose width it cannot tell from the record.
void RenderSockets(const ScanView& v, StyledText& out) {
  const Rows rows = RowOrder(v);
  const std::vector<std::uint32_t>& order = rows.order;
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
  {
    Table second_half = table;
    const std::size_t half = order.size() / 2;
    const std::vector<std::uint8_t> address_widths = AddressWidths(*v.snap);
    auto measure = [&](Table& t, std::size_t from, std::size_t to) {
      RowCursor cursor(v, rows, source, &address_widths);
      for (std::size_t n = from; n < to; ++n) cursor.Measure(n, t);
    };
    if (order.size() < 2 * kBlockRows) {
      measure(table, 0, order.size());  // a small table: not worth a thread
    } else {
      BesideEachOther([&] { measure(table, 0, half); }, [&] { measure(second_half, half, order.size()); });
      table.Measure(second_half);
    }
  }
  if (v.header) {
    out.Put(table.FormatHeader([&](std::string& line, std::size_t, std::string_view text) {
      out.AppendStyled(line, kBold, text);
    }));
    out.Put("\n");
  }
  // A cursor's cell writer, made once (not per row); none without colour: cells are copied.
  const auto writer = [&](const RowCursor& cursor) -> CellWriter {
    if (!out.color()) return {};
    return [&out, &source, &cursor](std::string& line, std::size_t t, std::string_view cell) {
      const int k = source[t];
      std::string_view style;
      if (k == kClass && cursor.ephemeral()) style = kYellow;
      else if (k == kReg && cell.starts_with("drifted")) style = kYellow;
      else if (k == kProcess) style = kBold;
      out.AppendStyled(line, style, cell);
    };
  };
  auto format = [&](RowCursor& cursor, const CellWriter& write, std::string& text, std::size_t from,
                    std::size_t to) {
    text.clear();
    for (std::size_t n = from; n < to; ++n) {
      cursor.Row(n);
      table.AppendRow(text, cursor.cells(), write);
      text += '\n';
    }
  };
  RowCursor even(v, rows, source), odd(v, rows, source);
  const CellWriter even_write = writer(even), odd_write = writer(odd);
  std::string even_text, odd_text;
  for (std::size_t n = 0; n < order.size(); n += 2 * kBlockRows) {
    const std::size_t mid = std::min(order.size(), n + kBlockRows);
    const std::size_t end = std::min(order.size(), n + 2 * kBlockRows);
    if (mid == end) {
      format(even, even_write, even_text, n, mid);
    } else {
      BesideEachOther([&] { format(even, even_write, even_text, n, mid); },
                      [&] { format(odd, odd_write, odd_text, mid, end); });
    }
    out.Put(even_text);
    if (mid != end) out.Put(odd_text);
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

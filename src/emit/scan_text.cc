#include <algorithm>
#include <array>
#include <numeric>

#include <fmt/core.h>

#include "core/classify.h"
#include "core/iana.h"
#include "emit/scan_render.h"

namespace berth {
namespace {

constexpr std::string_view kReset = "\033[0m";
constexpr std::string_view kBold = "\033[1m";
constexpr std::string_view kDim = "\033[2m";
constexpr std::string_view kRed = "\033[31m";
constexpr std::string_view kYellow = "\033[33m";
constexpr std::string_view kCyan = "\033[36m";

class Out {
 public:
  Out(const Sink& sink, bool color) : sink_(sink), color_(color) {}
  ~Out() { Flush(); }
  void Put(std::string_view s) {
    buf_.append(s);
    if (buf_.size() >= 1 << 16) Flush();
  }
  void Styled(std::string_view style, std::string_view s) {
    if (color_ && !style.empty()) {
      Put(style);
      Put(s);
      Put(kReset);
    } else {
      Put(s);
    }
  }
  void Pad(std::size_t n) { buf_.append(n, ' '); }
  void Flush() {
    if (!buf_.empty()) sink_(buf_);
    buf_.clear();
  }

 private:
  const Sink& sink_;
  bool color_;
  std::string buf_;
};

std::string_view SeverityStyle(Severity s) {
  switch (s) {
    case Severity::kError: return kRed;
    case Severity::kWarning: return kYellow;
    case Severity::kInfo: return kCyan;
  }
  return {};
}

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
  group_start = n == 0 || rows.primary[rows.order[n - 1]] != p;
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
    c[kReg] = m.status == "registered" ? TerminalSafe(m.service)
              : m.status == "drifted"  ? "drifted:" + TerminalSafe(m.service)
                                       : std::string("-");
  }
}

void RenderSockets(const ScanView& v, Out& out) {
  Rows rows = BuildRows(v);
  std::array<bool, kNumCols> shown{};
  shown.fill(true);
  if (!v.all_states) shown[kState] = shown[kPeer] = false;
  if (v.registry == nullptr) shown[kReg] = false;

  std::array<std::size_t, kNumCols> width{};
  for (int k = 0; k < kNumCols; ++k) width[k] = kHeaders[k].size();
  std::array<std::string, kNumCols> c;
  bool group_start = false, ephemeral = false;
  for (std::size_t n = 0; n < rows.order.size(); ++n) {
    Cells(v, rows, n, c, group_start, ephemeral);
    for (int k = 0; k < kNumCols; ++k) width[k] = std::max(width[k], c[k].size());
  }
  int last = kNumCols - 1;
  while (last > 0 && !shown[last]) --last;
  auto line = [&](auto&& cell, auto&& style) {
    for (int k = 0; k <= last; ++k) {
      if (!shown[k]) continue;
      std::string_view text = cell(k);
      out.Styled(style(k), text);
      if (k != last) out.Pad(width[k] - text.size() + 2);
    }
    out.Put("\n");
  };
  line([&](int k) { return kHeaders[k]; }, [&](int) { return kBold; });
  for (std::size_t n = 0; n < rows.order.size(); ++n) {
    Cells(v, rows, n, c, group_start, ephemeral);
    line([&](int k) -> std::string_view { return c[k]; },
         [&](int k) -> std::string_view {
           if (k == kClass && ephemeral) return kYellow;
           if (k == kReg && c[k].starts_with("drifted")) return kYellow;
           if (k == kProcess) return kBold;
           return {};
         });
  }
  if (rows.order.empty()) {
    out.Styled(kDim, v.all_states ? "(no sockets)\n" : "(no listening sockets)\n");
  }
}

void RenderFindings(const std::vector<Finding>& findings, Out& out, std::string_view title) {
  std::array<int, 3> count{};
  for (const Finding& f : findings) ++count[static_cast<int>(f.severity)];
  out.Put("\n");
  out.Styled(kBold, fmt::format("{}: {} error{}, {} warning{}, {} info\n", title, count[2],
                                count[2] == 1 ? "" : "s", count[1], count[1] == 1 ? "" : "s",
                                count[0]));
  for (const Finding& f : findings) {
    out.Put("\n");
    std::string sev = std::string(SeverityName(f.severity));
    for (char& ch : sev) ch = static_cast<char>(ch - 'a' + 'A');
    out.Styled(SeverityStyle(f.severity), fmt::format("{:<8}", sev));
    out.Styled(kBold, FindingIdName(f.id));
    out.Put(fmt::format("  {}", TerminalSafe(f.subject)));
    if (!f.ports.empty()) {
      std::string ports = f.ports.Format();
      if (ports.size() > 60) ports = ports.substr(0, ports.rfind(',', 57)) + ",...";
      out.Put(fmt::format("  {}{} {}", f.proto ? ProtocolName(*f.proto) : "",
                          f.proto ? "" : "port", ports));
    }
    out.Put("\n");
    out.Styled(kDim, "  why  ");
    out.Put(f.why);
    out.Put("\n");
    std::string_view fix = f.fix;
    bool first = true;
    while (!fix.empty()) {
      auto nl = fix.find('\n');
      out.Styled(kDim, first ? "  fix  " : "       ");
      out.Put(fix.substr(0, nl));
      out.Put("\n");
      first = false;
      fix = nl == std::string_view::npos ? std::string_view{} : fix.substr(nl + 1);
    }
  }
}

void RenderPressure(const HostSnapshot& snap, const PressureReport& p, Out& out) {
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
  std::vector<std::array<std::string, 5>> cells;
  cells.push_back({"SOURCE", "DESTINATION", "SOCKETS", "TIME-WAIT", "SHARE"});
  for (std::size_t i = 0; i < std::min(kShown, p.rows.size()); ++i) {
    const PressureRow& r = p.rows[i];
    cells.push_back({r.source.Format(), FormatEndpoint(r.destination, r.destination_port),
                     fmt::format("{}", r.sockets), fmt::format("{}", r.time_wait),
                     fmt::format("{:.1f} %", r.share * 100)});
  }
  std::array<std::size_t, 5> w{};
  for (auto& row : cells) {
    for (int k = 0; k < 5; ++k) w[k] = std::max(w[k], row[k].size());
  }
  for (std::size_t i = 0; i < cells.size(); ++i) {
    std::string line;
    for (int k = 0; k < 5; ++k) {
      const bool right = k >= 2;
      line += right ? fmt::format("{:>{}}", cells[i][k], w[k]) : fmt::format("{:<{}}", cells[i][k], w[k]);
      if (k < 4) line += "  ";
    }
    const double share = i == 0 ? 0 : p.rows[i - 1].share;
    out.Styled(i == 0 ? kBold : share >= 0.8 ? kRed : share >= 0.5 ? kYellow : "", line);
    out.Put("\n");
  }
  if (p.rows.size() > kShown) {
    out.Styled(kDim, fmt::format("({} more destinations; --json lists all)\n", p.rows.size() - kShown));
  }
}

}  // namespace

void RenderScanText(const ScanView& v, bool color, const Sink& sink) {
  const HostSnapshot& snap = *v.snap;
  Out out(sink, color);
  const HostPortConfig& cfg = snap.config;
  out.Styled(kBold, fmt::format("berth scan  {}", TerminalSafe(snap.hostname)));
  out.Put(fmt::format("  netns {}  ephemeral {}-{} ({} ports)  reserved {}\n",
                      snap.netns.empty() ? "(own)" : TerminalSafe(snap.netns), cfg.ephemeral.low,
                      cfg.ephemeral.high, cfg.ephemeral.size(),
                      cfg.reserved.empty() ? "(none)" : cfg.reserved.Format()));
  for (const std::string& w : snap.warnings) {
    out.Styled(kYellow, "note: ");
    out.Put(TerminalSafe(w));
    out.Put("\n");
  }
  out.Put("\n");
  if (v.sockets) RenderSockets(v, out);
  if (v.pressure) RenderPressure(snap, *v.pressure, out);
  if (v.findings) RenderFindings(*v.findings, out, "Findings");
  if (snap.partial) {
    out.Styled(kYellow, "\nPARTIAL: some sockets or owners could not be read (see notes above)\n");
  }
}

}  // namespace berth

#include "app/windows.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "app/host_view.h"
#include "app/registry_ops.h"
#include "base/file.h"
#include "base/text.h"
#include "core/audit_windows.h"
#include "core/port_holder.h"
#include "host/windows_parse.h"
#include "lint/probe_json_parse.h"
#include "registry/conformance.h"

namespace berth::app {
namespace {

// The group the host's ports are claimed in: the one asked for, else the one group that lists
// the host.
Result<std::string> HostGroup(registry::Store& store, const std::string& host, const std::string& asked) {
  if (!asked.empty()) return asked;
  std::vector<std::string> found;
  for (const registry::Group& g : BERTH_TRY(store.ListGroups())) {
    if (std::find(g.hosts.begin(), g.hosts.end(), host) != g.hosts.end()) found.push_back(g.name);
  }
  if (found.size() == 1) return found.front();
  if (found.empty()) {
    return Fail(ErrorCode::kNotFound,
                fmt::format("{} is in no registry group ({}): its ports are claimed in a group that "
                            "lists it",
                            host, store.Location()),
                {Hint{Remedy::kCreateGroup, "win"}});
  }
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("{} is in several registry groups ({}): name the one to claim its ports in",
                          host, fmt::join(found, ", ")));
}

// Where no port is handed to a service of the host: its dynamic ranges as collected, Windows'
// default range too (the remedy may move a range back to it), and the RPC block.
PortSet DynamicOrDefault(const windows::WindowsHost& host, const std::optional<PortRange>& rpc_block) {
  PortSet out = windows::DynamicPorts(host, Protocol::kTcp);
  if (rpc_block) out.Add(*rpc_block);  // not claimed in the registry (yet): kept out by hand
  out.Add(windows::DynamicPorts(host, Protocol::kUdp));
  out.Add(windows::kDefaultDynamicRange);
  return out;
}

// The registry request for one instance: its registered port is kept by the allocator; an
// instance with a static TcpPort keeps it (it listens there already: adopted), the default
// instance otherwise prefers 1433 (its IANA port); else the allocator places it.
registry::AssignRequest SqlRequest(const windows::SqlInstance& sql, const std::string& name,
                                   const std::string& group, const windows::WindowsHost& host) {
  registry::AssignRequest req;
  req.name = name;
  req.proto = ServiceProto::kTcp;
  req.group = group;
  // Registry text refuses control characters: the description names the instance by its label.
  req.description = fmt::format("SQL Server instance {}", name);
  if (auto r = ParsePortRange(sql.tcp_port); r && r->low == r->high && r->low != 0 &&
                                             r->low != windows::kSqlBrowserPort &&
                                             !windows::DynamicPorts(host, Protocol::kTcp).contains(r->low)) {
    req.port = r->low;
    req.adopt.Add(r->low);
    req.allow_iana = r->low == 1433;  // ms-sql-s: SQL Server's own IANA port
  } else if (sql.name == "MSSQLSERVER") {
    req.port = Port{1433};
    req.allow_iana = true;
  }
  return req;
}

Result<std::vector<registry::Assignment>> ClaimSql(const windows::WindowsHost& host, registry::Store& store,
                                                   const std::string& group, const std::optional<PortRange>& rpc_block,
                                                   std::vector<WindowsRemedyPlan::Sql>& out) {
  registry::HostView view = HostViewOf(host.snap);
  view.remote_ephemeral = DynamicOrDefault(host, rpc_block);
  std::vector<registry::Assignment> claimed;
  for (const windows::SqlInstance& sql : host.sql) {
    const std::string name = windows::SqlServiceName(sql.name);
    if (name.empty()) continue;  // nothing printable to name it by
    registry::AssignRequest req = SqlRequest(sql, name, group, host);
    std::array one{req};
    Steps<registry::Assignment> steps = Assign(store, view, one);
    if (steps.failed && req.port && !BERTH_TRY(store.GetService(name))) {
      // The preferred port breaks a rule (taken, IANA): let the allocator place it.
      req.port.reset();
      req.allow_iana = false;
      req.adopt = {};
      one[0] = req;
      steps = Assign(store, view, one);
    }
    if (steps.failed) return std::unexpected(Wrap(*steps.failed, fmt::format("{}: ", name)));
    const registry::Assignment& a = steps.done.front();
    if (a.record.service.port == windows::kSqlBrowserPort) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} is registered on {}, the SQL Server Browser's port: release it and "
                              "claim another port",
                              name, windows::kSqlBrowserPort),
                  {Hint{Remedy::kReleaseFirst, name}});
    }
    out.push_back(WindowsRemedyPlan::Sql{sql.name, sql.id, name, a.record.service.port, sql.dynamic()});
    claimed.push_back(a);
  }
  return claimed;
}

bool Runs(const windows::WindowsHost& host, std::string_view service) {
  return std::any_of(host.services.begin(), host.services.end(),
                     [&](const windows::WinService& s) { return windows::SameWindowsName(s.name, service); });
}

// The listeners on `port` that are not the process hosting `service`.
std::vector<PortHolder> OthersOn(const windows::WindowsHost& host, std::string_view service, Port port) {
  std::vector<PortHolder> holders = HoldersOf(host.snap, port, ServiceProto::kTcp);
  std::erase_if(holders, [&](const PortHolder& h) {
    return std::any_of(h.processes.begin(), h.processes.end(), [&](const ProcessInfo& p) {
      return std::any_of(host.services.begin(), host.services.end(), [&](const windows::WinService& s) {
        return s.pid == p.pid && windows::SameWindowsName(s.name, service);
      });
    });
  });
  return holders;
}

// A listener on `port` that is the process hosting `service` (WMI already standalone on its
// fixed port): adopted, not a conflict. False when nothing listens there or another does.
bool ListensAsService(const windows::WindowsHost& host, std::string_view service, Port port) {
  return !HoldersOf(host.snap, port, ServiceProto::kTcp).empty() && OthersOn(host, service, port).empty();
}

// The RPC services with a port setting of their own that the host runs (windows::kRpcPins):
// on a domain controller (NTDS runs) AD replication and Netlogon, DFS Replication, and WMI,
// each claimed in the group under the name berth probe uses (WMI as msrpc.wmi on its fixed
// port 24158).
Result<std::vector<registry::Assignment>> ClaimRpcPins(const windows::WindowsHost& host, registry::Store& store,
                                                       const std::string& group,
                                                       const std::optional<PortRange>& rpc_block,
                                                       std::vector<WindowsRemedyPlan::RpcPin>& out) {
  std::vector<registry::Assignment> claimed;
  registry::HostView view = HostViewOf(host.snap);
  view.remote_ephemeral = DynamicOrDefault(host, rpc_block);
  for (const windows::RpcPinSpec& p : windows::kRpcPins) {
    if (!Runs(host, p.windows_service)) continue;
    registry::AssignRequest req;
    req.name = p.claim;
    req.proto = ServiceProto::kTcp;
    req.group = group;
    req.description = p.method == windows::PinMethod::kRegistryDword
                          ? fmt::format("{} of the domain controller", p.value)
                          : fmt::format("the {} service's static RPC port", p.windows_service);
    if (p.fixed_port != 0) {
      req.port = p.fixed_port;
      if (ListensAsService(host, p.windows_service, p.fixed_port)) req.adopt.Add(p.fixed_port);
    }
    std::array one{req};
    Steps<registry::Assignment> steps = Assign(store, view, one);
    if (steps.failed) return std::unexpected(Wrap(*steps.failed, fmt::format("{}: ", p.claim)));
    out.push_back({std::string(p.claim), std::string(p.key), std::string(p.value),
                   steps.done.front().record.service.port, p.method});
    claimed.push_back(steps.done.front());
  }
  return claimed;
}

// A fixed port Windows gives a pinned service (WMI's 24158) held by another claim of the
// group, or by another program's listener on the host: refused before anything is claimed,
// naming the holder.
Result<void> CheckFixedPins(const windows::WindowsHost& host, const std::vector<registry::Claim>& claims) {
  for (const windows::RpcPinSpec& p : windows::kRpcPins) {
    if (p.fixed_port == 0 || !Runs(host, p.windows_service)) continue;
    if (const std::vector<PortHolder> others = OthersOn(host, p.windows_service, p.fixed_port); !others.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} runs on {}: its fixed port {}/tcp ({}) is held there by {}; "
                              "{} cannot move to it: move that program to another port first",
                              p.windows_service, host.snap.hostname, p.fixed_port, p.claim,
                              DescribeHolder(others.front()), p.windows_service));
    }
    for (const registry::Claim& c : claims) {
      if (c.port == p.fixed_port && c.slot == Protocol::kTcp && c.service != p.claim) {
        return Fail(ErrorCode::kInvalidArgument,
                    fmt::format("{} runs on {}: its fixed port {}/tcp ({}) is registered to {} in "
                                "group {}; move {} to another port (berth release {}, then assign "
                                "it again) so that {} can be pinned",
                                p.windows_service, host.snap.hostname, p.fixed_port, p.claim,
                                c.service, c.group, c.service, c.service, p.claim),
                    {Hint{Remedy::kReleaseFirst, c.service}});
      }
    }
  }
  return {};
}

// Claims the RPC block asked for by --rpc-ports as the group's range claim rpc.dynamic
// (KB 154596's block is the user's choice: IANA's names for other products do not refuse it;
// every other rule of a range claim applies).
Result<registry::Assignment> ClaimRpcBlock(const windows::WindowsHost& host, registry::Store& store,
                                           const std::string& group, PortRange block) {
  registry::HostView view = HostViewOf(host.snap);
  view.remote_ephemeral = windows::DynamicPorts(host, Protocol::kTcp);  // as CheckRpcBlock
  view.remote_ephemeral.Add(windows::DynamicPorts(host, Protocol::kUdp));
  registry::AssignRequest req;
  req.name = std::string(windows::kRpcBlockService);
  req.proto = ServiceProto::kTcp;
  req.group = group;
  req.port = block.low;
  req.size = block.size();
  req.allow_iana = true;
  req.description = "MS-RPC dynamic port block (Rpc\\Internet Ports)";
  std::array one{req};
  Steps<registry::Assignment> steps = Assign(store, view, one);
  if (steps.failed) {
    return std::unexpected(Wrap(*steps.failed, fmt::format("{}: ", windows::kRpcBlockService)));
  }
  return steps.done.front();
}

Result<void> CheckRpcBlock(const windows::WindowsHost& host, PortRange block, const std::vector<registry::Claim>& claims) {
  if (block.low < windows::kNetshMinStart || block.size() < windows::kRpcBlockMinPorts) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("RPC block {}-{}: give at least {} ports from {} up (KB 154596)", block.low,
                            block.high, windows::kRpcBlockMinPorts, windows::kNetshMinStart));
  }
  if (block.contains(windows::kSqlBrowserPort)) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("RPC block {}-{} holds {}, the SQL Server Browser's port: choose a block "
                            "above it",
                            block.low, block.high, windows::kSqlBrowserPort));
  }
  for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
    const PortSet inside = windows::DynamicPorts(host, p).Intersect(block);
    if (!inside.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("RPC block {}-{} overlaps {}'s {} dynamic range at {}: RPC and outbound "
                              "connections would take the same ports; choose a block outside it",
                              block.low, block.high, host.snap.hostname, ProtocolName(p), inside.Format()));
    }
  }
  for (const registry::Claim& c : claims) {
    if (block.contains(c.port) && c.service != windows::kRpcBlockService) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("RPC block {}-{} holds port {}, claimed by {} in group {}: choose a block "
                              "free of registered ports",
                              block.low, block.high, c.port, c.service, c.group));
    }
  }
  return {};
}

}  // namespace

Result<windows::WindowsHost> LoadWindowsHost(const std::string& path) {
  const std::string bytes = BERTH_TRY(ReadWholeFile(path));
  return ParseWindowsCollection(bytes, path);
}

Result<RemedyHost> LoadRemedyHost(const std::string& path, std::string_view host) {
  const std::string bytes = BERTH_TRY(ReadWholeFile(path));
  if (LooksLikeWindowsCollection(bytes)) {
    return RemedyHost{BERTH_TRY(ParseWindowsCollection(bytes, path)), false};
  }
  auto probed = lint::ParseProbeInstances(bytes, path);
  if (!probed) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("{} is neither a collected Windows host nor a berth probe --json "
                            "document: {}",
                            path, probed.error().message));
  }
  // A host is known by its computer name when the SQL Server Browser gave it.
  auto name_of = [](const lint::ProbedInstance& p) {
    return p.server_name.empty() ? p.target : p.server_name;
  };
  std::set<std::string> all, chosen;
  std::vector<const lint::ProbedInstance*> mine;
  for (const lint::ProbedInstance& p : *probed) {
    all.insert(name_of(p));
    if (host.empty() || windows::SameWindowsName(host, p.target) ||
        windows::SameWindowsName(host, p.address) || windows::SameWindowsName(host, p.server_name)) {
      chosen.insert(name_of(p));
      mine.push_back(&p);
    }
  }
  if (mine.empty()) {
    return Fail(ErrorCode::kNotFound,
                host.empty() ? fmt::format("{} holds no SQL Server instance with a TCP port: nothing "
                                           "to remedy",
                                           path)
                             : fmt::format("{} holds no SQL Server instance of {} (it holds {})", path,
                                           TerminalSafe(host, 255),
                                           all.empty() ? std::string("none")
                                                       : TerminalSafe(fmt::format("{}", fmt::join(all, ", ")), 1000)));
  }
  if (chosen.size() > 1) {
    return Fail(ErrorCode::kConflict,
                fmt::format("{} holds SQL Server instances of several hosts ({}): name the one to "
                            "remedy",
                            path, TerminalSafe(fmt::format("{}", fmt::join(chosen, ", ")), 1000)));
  }
  RemedyHost out;
  out.from_probe = true;
  out.host.snap.hostname = *chosen.begin();
  std::set<std::string> seen;  // a host probed twice (a target and a broadcast) lists each once
  for (const lint::ProbedInstance* p : mine) {
    if (!seen.insert(p->instance).second) continue;
    windows::SqlInstance sql;
    sql.name = p->instance;  // its id is looked up on the host by the script
    (p->dynamic ? sql.tcp_dynamic_ports : sql.tcp_port) = std::to_string(p->port);
    out.host.sql.push_back(std::move(sql));
  }
  return out;
}

bool IsWindowsCollection(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  auto bytes = ReadWholeFile(path);
  return bytes && LooksLikeWindowsCollection(*bytes);
}

Result<ScanResult> ScanWindows(const ScanRequest& request, windows::WindowsHost host, std::string_view remedy,
                               const ScanRegistry& reg, const Clock& clock) {
  ScanResult r;
  r.findings = windows::AuditWindowsHost(host, remedy);
  r.snap = std::move(host.snap);
  ScanRequest other = request;
  other.scope = HostScope::kOtherHost;  // not the machine berth runs on: no default group
  // No agent runs there: the scan is the host's report in the fleet view.
  other.collected = CollectedHost{};
  // A date the store cannot keep (before 1970, past 2^40 s) is as good as none.
  if (host.collected && *host.collected > 0 && *host.collected / 1000 < (std::int64_t{1} << 40)) {
    other.collected->collected = *host.collected / 1000;
  }
  return FinishScan(other, reg, clock, std::move(r));
}

Result<WindowsRemedyResult> PlanWindowsRemedy(const windows::WindowsHost& host, registry::Store& store,
                                              const WindowsRemedyRequest& request) {
  WindowsRemedyResult out;
  WindowsRemedyPlan& plan = out.plan;
  plan.host = host.snap.hostname;
  plan.group = BERTH_TRY(HostGroup(store, host.snap.hostname, request.group));
  // The RPC block first: a refused block claims nothing. The group's range claim is the
  // block when there is one; a block asked for must then be that one.
  std::optional<PortRange> block = request.rpc_block;
  if (auto claim = BERTH_TRY(store.GetService(windows::kRpcBlockService));
      claim && claim->service.group == plan.group && claim->service.size > 1) {
    const PortRange held = PortsOf(claim->service);
    if (block && *block != held) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("RPC block {}: group {} holds {} for its RPC block ({}): use that "
                              "one, or release it and claim the new block",
                              FormatRange(*block), plan.group, FormatRange(held),
                              windows::kRpcBlockService),
                  {Hint{Remedy::kReleaseFirst, std::string(windows::kRpcBlockService)}});
    }
    block = held;
    plan.rpc_block_claimed = true;
  }
  // Every check before the first write: a refused block or pin leaves the registry as it was.
  const std::vector<registry::Claim> claims = BERTH_TRY(store.ListClaims(plan.group));
  if (block) BERTH_TRY(CheckRpcBlock(host, *block, claims));
  BERTH_TRY(CheckFixedPins(host, claims));
  if (block && !plan.rpc_block_claimed) {
    out.claimed.push_back(BERTH_TRY(ClaimRpcBlock(host, store, plan.group, *block)));
    plan.rpc_block_claimed = true;
  }
  plan.rpc_block = block;
  for (registry::Assignment& a : BERTH_TRY(ClaimSql(host, store, plan.group, plan.rpc_block, plan.sql))) {
    out.claimed.push_back(std::move(a));
  }
  for (registry::Assignment& a : BERTH_TRY(ClaimRpcPins(host, store, plan.group, plan.rpc_block, plan.rpc_pins))) {
    out.claimed.push_back(std::move(a));
  }
  plan.restart_note = std::any_of(plan.sql.begin(), plan.sql.end(), [](const auto& s) { return s.was_dynamic; });

  PortSet avoid;
  if (plan.rpc_block) avoid.Add(*plan.rpc_block);
  for (const windows::PortBlock& b : host.dynamic) {
    const auto target = windows::ChooseDynamicRange(b.range, avoid);
    if (!target) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("no dynamic range of at least {} ports fits beside the RPC block",
                              windows::kNetshMinPorts));
    }
    if (*target != b.range) plan.dynamic_moves.push_back({b.proto, b.family, *target, false});
  }

  const auto doc = BERTH_TRY(store.Export());
  // The services of the groups that list the host (not the default group's: that one is the
  // machine berth runs on).
  std::vector<Service> services;
  for (const Service& s : doc.services) {
    const auto g = std::find_if(doc.groups.begin(), doc.groups.end(),
                                [&](const registry::Group& grp) { return grp.name == s.group; });
    if (g != doc.groups.end() &&
        std::find(g->hosts.begin(), g->hosts.end(), host.snap.hostname) != g->hosts.end()) {
      services.push_back(s);
    }
  }
  const registry::PortsByProto registered = registry::RegisteredPorts(services);
  for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
    const PortSet& ports = p == Protocol::kTcp ? registered.tcp : registered.udp;
    // Where the ranges end up: the moved ones, else as collected.
    for (const windows::PortBlock& b : host.dynamic) {
      if (b.proto != p) continue;
      PortRange range = b.range;
      for (const windows::PortBlock& m : plan.dynamic_moves) {
        if (m.proto == b.proto && m.family == b.family) range = m.range;
      }
      PortSet inside = ports.Intersect(range);
      inside.Subtract(windows::ExcludedPorts(host, p));
      for (PortRange r : inside.ranges()) plan.exclusions.push_back({p, b.family, r, false});
    }
  }
  plan.open_tcp = registered.tcp;
  plan.open_udp = registered.udp;
  if (plan.rpc_block) {
    plan.open_tcp.Add(*plan.rpc_block);
    plan.open_tcp.Add(windows::kEndpointMapperPort);
  }
  for (const windows::FirewallRule& r : host.firewall) {
    const PortSet dyn = windows::DynamicPorts(host, r.protocol == "UDP" ? Protocol::kUdp : Protocol::kTcp);
    if (windows::IsBroadRule(r, dyn)) plan.legacy.push_back(r);
  }
  return out;
}

}  // namespace berth::app

// berth probe: ask remote port mappers (rpcbind, SQL Server Browser, MS-RPC endpoint mapper)
// which services they hand out, flag the dynamic ones and print how to pin each.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <span>

#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "probe/engine.h"
#include "probe/epm_client.h"
#include "probe/local_broadcast.h"
#include "probe/remedy.h"
#include "emit/probe_render.h"
#include "probe/rpc_client.h"
#include "probe/ssrp_client.h"
#include "probe/targets.h"

namespace berth::cli {
namespace {

struct ProbeFlags {
  std::vector<std::string> targets;
  std::string list_file;
  bool rpc = false, mssql = false, msrpc = false;
  double timeout = 1.0;
  int retries = 1;
  double rate = 1000;
  std::size_t concurrency = 512;
  std::size_t max_targets = probe::kDefaultMaxTargets;
  std::string ephemeral = "32768-65535";
  std::vector<std::string> instances;
  std::vector<std::string> broadcasts;
  std::uint32_t max_ents = 500;
  std::size_t max_calls = 1000;
  bool json = false;
  bool register_found = false;
  bool no_registry = false;
  std::string db;
};

// Static ports for the dynamic services found (docs/probe.md, "Static ports"): the port the
// registry holds for the service's name, or else the one its allocator proposes (never
// claimed here). Reads the registry (--db, BERTH_DB or the default one; a missing one reads
// as empty) and this host's view, with the targets' ephemeral range kept out.
Result<void> ProposeStaticPorts(std::vector<probe::HostReport>& hosts, const std::string& db,
                                const PortSet& target_ephemeral) {
  bool any = false;
  for (const auto& h : hosts) {
    for (const auto& s : h.services) any = any || probe::WishFor(s).has_value();
  }
  if (!any) return {};
  auto store = BERTH_TRY(OpenRegistry(db, registry::OpenMode::kRead));
  registry::HostView view = BERTH_TRY(TakeHostView());
  view.remote_ephemeral = target_ephemeral;
  registry::Allocator allocator(*store, std::move(view));
  for (probe::HostReport& h : hosts) {
    for (probe::ServiceRecord& s : h.services) {
      auto wish = probe::WishFor(s);
      if (!wish) continue;
      registry::AssignRequest req;
      req.name = wish->name;
      req.proto = wish->proto;
      req.port = wish->preferred;
      req.allow_iana = wish->allow_iana;
      auto p = BERTH_TRY(allocator.Propose(req));
      s.static_port = probe::StaticPort{wish->name, p.record.service.proto, p.record.service.port,
                                        p.registered, p.registered ? "registered" : p.record.reason};
    }
  }
  return {};
}

// --register: each host's TCP/UDP services become observations of that host in the
// registry (keyed by host, protocol, port and a "command" naming the mapper's entry).
Result<std::size_t> RegisterFindings(const std::vector<probe::HostReport>& hosts, const std::string& db) {
  auto store = BERTH_TRY(OpenRegistry(db, registry::OpenMode::kWrite));
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::size_t recorded = 0;
  for (const probe::HostReport& h : hosts) {
    std::vector<registry::Observation> seen;
    for (const probe::ServiceRecord& s : h.services) {
      if (s.port == 0) continue;
      registry::Observation o;
      o.host = h.target;
      o.proto = s.transport;
      o.port = s.port;
      switch (s.mapper) {
        case probe::Mapper::kRpc:
          o.command = fmt::format("rpc {} {} v{} {}", s.program, s.name, s.version, s.netid);
          break;
        case probe::Mapper::kSsrp:
          o.command = fmt::format("mssql {}{}", s.instance, s.dac ? " DAC" : "");
          break;
        case probe::Mapper::kEpm:
          o.command = fmt::format("msrpc {} v{} {}", s.interface_uuid, s.interface_version, s.annotation);
          break;
      }
      seen.push_back(std::move(o));
    }
    if (seen.empty()) continue;
    recorded += seen.size();
    BERTH_TRY(store->RecordScan(h.target, now, seen));
  }
  return recorded;
}

// The targets to probe one by one. A local broadcast address is never one of them: named
// on its own it is refused (it needs --broadcast), and inside a CIDR block it is skipped, so
// that probing a local subnet still works. With only --broadcast there are none.
Result<std::vector<probe::ProbeTarget>> UnicastTargets(const ProbeFlags& f,
                                                       std::span<const probe::LocalBroadcast> local) {
  if (f.targets.empty() && f.list_file.empty() && !f.broadcasts.empty()) return std::vector<probe::ProbeTarget>{};
  auto all = BERTH_TRY(probe::ExpandTargets(f.targets, f.list_file, f.max_targets));
  std::vector<probe::ProbeTarget> out;
  out.reserve(all.size());
  for (probe::ProbeTarget& t : all) {
    const auto owner = probe::BroadcastOwner(local, t.address);
    if (!owner) {
      out.push_back(std::move(t));
    } else if (t.given.find('/') == std::string::npos) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} is the broadcast address of {}: use --broadcast {}",
                              t.given == t.address ? t.address : fmt::format("{} ({})", t.given, t.address),
                              owner->interface, t.address));
    } else {
      fmt::print(stderr, "berth: note: {} (in {}) is the broadcast address of {}: skipped (use --broadcast {})\n",
                 t.address, t.given, owner->interface, t.address);
    }
  }
  return out;
}

// Lets the engine hold one socket per conversation in flight.
void RaiseFdLimit(std::size_t want) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  const rlim_t need = static_cast<rlim_t>(want + 64);
  if (lim.rlim_cur >= need) return;
  lim.rlim_cur = std::min(need, lim.rlim_max);
  (void)::setrlimit(RLIMIT_NOFILE, &lim);
}

int Run(ProbeFlags& f) {
  if (!f.rpc && !f.mssql && !f.msrpc) f.rpc = f.mssql = f.msrpc = true;
  if (f.timeout <= 0 || f.timeout > 60) return PrintError("--timeout must be between 0 and 60 seconds");
  if (f.retries < 0 || f.retries > 5) return PrintError("--retries must be between 0 and 5");
  if (f.rate <= 0) return PrintError("--rate must be positive (packets per second)");
  if (f.max_calls == 0 || f.max_calls > 100000) return PrintError("--max-calls must be 1..100000");
  if (f.register_found && f.no_registry) return PrintError("--register and --no-registry contradict each other");
  if (f.concurrency == 0 || f.concurrency > 65536) return PrintError("--concurrency must be 1..65536");
  auto ephemeral = PortSet::Parse(f.ephemeral);
  if (!ephemeral) return PrintError(fmt::format("--ephemeral-range: {}", ephemeral.error().message));
  auto local = probe::ReadLocalBroadcasts();
  if (!local) return PrintError(local.error());
  std::vector<probe::LocalBroadcast> broadcasts;
  for (const std::string& b : f.broadcasts) {
    auto chosen = probe::ChooseBroadcast(*local, b);
    if (!chosen) return PrintError(chosen.error());
    const bool repeated = std::any_of(broadcasts.begin(), broadcasts.end(),
                                      [&](const probe::LocalBroadcast& x) { return x.broadcast == chosen->broadcast; });
    if (!repeated) broadcasts.push_back(*chosen);
  }
  auto targets = UnicastTargets(f, *local);
  if (!targets) return PrintError(targets.error());

  probe::EngineOptions opt;
  opt.timeout_ms = static_cast<int>(f.timeout * 1000);
  opt.udp_retries = f.retries;
  opt.rate = f.rate;
  opt.concurrency = f.concurrency;
  RaiseFdLimit(opt.concurrency);
  probe::Engine engine(opt);

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<probe::HostReport>> reports;
  reports.reserve(targets->size());
  for (const probe::ProbeTarget& t : *targets) {
    auto host = probe::MakeEndpoint(t.address, 0);
    if (!host) return PrintError(host.error());
    auto report = std::make_shared<probe::HostReport>();
    report->target = t.given.find('/') == std::string::npos ? t.given : t.address;
    report->address = t.address;
    if (f.rpc) probe::AddRpcProbe(engine, *host, *ephemeral, report);
    if (f.mssql) probe::AddSsrpProbe(engine, *host, *ephemeral, f.instances, report);
    if (f.msrpc) probe::AddEpmProbe(engine, *host, *ephemeral, report, {f.max_ents, f.max_calls, 4 << 20});
    reports.push_back(std::move(report));
  }
  // A broadcast is always SQL Server Browser discovery, whatever --rpc/--msrpc select.
  std::vector<std::shared_ptr<probe::SsrpBroadcastResult>> found;
  for (const probe::LocalBroadcast& b : broadcasts) found.push_back(probe::AddSsrpBroadcast(engine, b, *ephemeral));
  if (auto ran = engine.Run(); !ran) return PrintError(ran.error());
  for (const auto& b : found) {  // each broadcast, then the hosts that answered it
    reports.push_back(b->broadcast);
    reports.insert(reports.end(), b->responders.begin(), b->responders.end());
  }

  std::vector<probe::HostReport> hosts;
  hosts.reserve(reports.size());
  probe::ProbeSummary summary;
  summary.targets = targets->size() + broadcasts.size();  // responders were not asked for
  bool any_dynamic = false;
  for (auto& r : reports) {
    if (!probe::Interesting(*r)) ++summary.silent;
    for (const auto& s : r->services) any_dynamic = any_dynamic || s.dynamic;
    hosts.push_back(std::move(*r));
  }
  if (!f.no_registry) {
    if (auto proposed = ProposeStaticPorts(hosts, f.db, *ephemeral); !proposed) {
      if (f.register_found) return PrintError(fmt::format("--register: {}", proposed.error().message));
      fmt::print(stderr, "berth: warning: registry not used for static ports ({}); --no-registry skips it\n",
                 proposed.error().message);
    }
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Sink sink = [](std::string_view s) { WriteStdout(s); };
  if (f.json) probe::RenderProbeJson(hosts, summary, sink);
  else probe::RenderProbeText(hosts, summary, sink);
  if (f.register_found) {
    auto recorded = RegisterFindings(hosts, f.db);
    if (!recorded) return PrintError(fmt::format("--register: {}", recorded.error().message));
    if (!f.json) WriteStdout(fmt::format("registered {} observations\n", *recorded));
  }
  return any_dynamic ? 1 : 0;
}

}  // namespace

void RewriteProbeArgs(int argc, char** argv) {
  static char kLong[] = "--input-list";
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "-iL") argv[i] = kLong;
  }
}

void AddProbeCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<ProbeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "probe",
      "Ask remote port mappers (ONC RPC rpcbind on 111, SQL Server Browser on udp 1434, MS-RPC "
      "endpoint mapper on tcp 135) what they hand out, flag services on dynamic ports, and print "
      "the change that pins each one. Sends only to the targets given, and to a local broadcast "
      "address only when it is named with --broadcast.");
  cmd->add_option("targets", f->targets, "host names, addresses or CIDR blocks (e.g. 192.0.2.0/24)");
  cmd->add_option("--input-list", f->list_file, "(-iL) read more targets from FILE (whitespace-separated, # comments)");
  cmd->add_flag("--rpc", f->rpc, "probe ONC RPC rpcbind/portmap (tcp 111)");
  cmd->add_flag("--mssql", f->mssql, "probe the SQL Server Browser (udp 1434)");
  cmd->add_flag("--msrpc", f->msrpc, "probe the MS-RPC endpoint mapper (tcp 135)");
  cmd->add_option("--timeout", f->timeout, "seconds to wait for each answer (UDP resends are spread inside it)")->capture_default_str();
  cmd->add_option("--retries", f->retries, "resends of an unanswered UDP request")->capture_default_str();
  cmd->add_option("--rate", f->rate, "new packets per second, across all targets")->capture_default_str();
  cmd->add_option("--concurrency", f->concurrency, "conversations in flight at once")->capture_default_str();
  cmd->add_option("--max-targets", f->max_targets, "refuse target lists larger than this")->capture_default_str();
  cmd->add_option("--ephemeral-range", f->ephemeral,
                  "ports that count as dynamic on the targets (default: Linux 32768-60999 plus "
                  "Windows/IANA 49152-65535)")->capture_default_str();
  cmd->add_option("--instance", f->instances,
                  "ask the SQL Server Browser for this instance only (CLNT_UCAST_INST; repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--broadcast", f->broadcasts,
                  "send one SQL Server Browser CLNT_BCAST_EX (0x02) to udp 1434 at ADDR, the "
                  "broadcast address (\"brd\" in ip -4 addr) of an interface that is up here; each "
                  "Browser answering from inside that subnet is probed like a target. SQL Server "
                  "only; repeatable. Without it berth never sends to a broadcast address "
                  "(docs/probe.md)")
      ->type_name("ADDR")
      ->allow_extra_args(false);
  cmd->add_option("--max-ents", f->max_ents, "entries per ept_lookup call (1..500)")->capture_default_str();
  cmd->add_option("--max-calls", f->max_calls,
                  "ept_lookup calls per endpoint mapper before the walk is abandoned (its lookup "
                  "handle is then released with lookup_handle_free)")
      ->capture_default_str();
  cmd->add_flag("--register", f->register_found,
                "record what was found as observations of each host in the registry");
  cmd->add_flag("--no-registry", f->no_registry,
                "do not read the registry: remedies show <PORT> where no convention gives a port");
  AddDbOption(cmd, f->db);
  cmd->add_flag("--json", f->json, "print JSON (schema berth.probe/1, docs/probe.md)");
  cmd->footer(
      "Static ports: each dynamic service that can be pinned on its own gets a registry name "
      "(nfs.mountd, mssql.INSTANCE, msrpc.netlogon...) and the port the registry holds for it, or "
      "a free port the allocator proposes (not claimed: the remedy prints the berth assign line).\n"
      "Exit status: 0 nothing dynamic found, 1 dynamic services found, 2 error.\n"
      "Examples:\n"
      "  berth probe nfs1                      all three mappers on one host\n"
      "  berth probe --rpc 192.0.2.0/24        rpcbind on a subnet\n"
      "  berth probe --broadcast 192.0.2.255   SQL Server Browsers on the local subnet\n"
      "  berth probe --json -iL hosts.txt | jq '.hosts[].remedies'");
  cmd->callback([f, &exit_code] { exit_code = Run(*f); });
}

}  // namespace berth::cli

// berth probe: ask remote port mappers (rpcbind, SQL Server Browser, MS-RPC endpoint mapper)
// which services they hand out, flag the dynamic ones and print how to pin each.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include <fmt/core.h>

#include "app/probe.h"
#include "base/clock.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "emit/probe_render.h"
#include "probe/targets.h"

namespace berth::cli {
namespace {

struct ProbeFlags {
  std::vector<std::string> targets;
  std::string list_file;
  bool rpc = false, mssql = false, msrpc = false;
  double timeout = 1.0;
  bool fixed_timeout = false;
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
  StoreFlags store;
};

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

  app::ProbeRequest req;
  req.targets = f.targets;
  req.list_file = f.list_file;
  req.rpc = f.rpc;
  req.mssql = f.mssql;
  req.msrpc = f.msrpc;
  req.timeout_ms = static_cast<int>(f.timeout * 1000);
  req.adaptive_timeouts = !f.fixed_timeout;
  req.udp_retries = f.retries;
  req.rate = f.rate;
  req.concurrency = f.concurrency;
  req.max_targets = f.max_targets;
  req.ephemeral = *ephemeral;
  req.instances = f.instances;
  req.broadcasts = f.broadcasts;
  req.max_ents = f.max_ents;
  req.max_calls = f.max_calls;
  if (::isatty(STDERR_FILENO) == 1) {
    // On a terminal, a run that takes seconds says how far it is, on one line it rewrites
    // and clears at the end; redirected, stderr gets nothing.
    req.on_progress = [](std::size_t ended, std::size_t total) {
      if (ended >= total) {
        fmt::print(stderr, "\r\x1b[K");
      } else {
        fmt::print(stderr, "\rberth: probing: {} of {} exchanges done\x1b[K", ended, total);
      }
      std::fflush(stderr);
    };
  }

  const auto t0 = std::chrono::steady_clock::now();
  auto run = app::RunProbe(req);
  if (!run) return PrintError(run.error());
  for (const auto& s : run->skipped_broadcasts) {
    fmt::print(stderr, "berth: note: {} (in {}) is the broadcast address of {}: skipped (use --broadcast {})\n",
               s.address, s.block, s.interface, s.address);
  }
  // Static ports (docs/probe.md, "Static ports"): read the registry (a missing one reads as
  // empty) and this host's view, with the targets' ephemeral range kept out.
  if (!f.no_registry && app::WantsStaticPorts(run->hosts)) {
    auto proposed = [&]() -> Result<void> {
      auto store = BERTH_TRY(OpenRegistry(f.store, registry::OpenMode::kRead));
      registry::HostView view = BERTH_TRY(TakeHostView());
      return app::ProposeStaticPorts(run->hosts, *store, std::move(view), *ephemeral);
    }();
    if (!proposed) {
      if (f.register_found) return PrintError(Wrap(proposed.error(), "--register: "));
      fmt::print(stderr, "berth: warning: registry not used for static ports ({}); --no-registry skips it\n",
                 proposed.error().message);
    }
  }
  run->summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Sink sink = [](std::string_view s) { WriteStdout(s); };
  if (f.json) probe::RenderProbeJson(run->hosts, run->summary, sink);
  else probe::RenderProbeText(run->hosts, run->summary, sink);
  if (f.register_found) {
    auto recorded = [&]() -> Result<std::size_t> {
      auto store = BERTH_TRY(OpenRegistry(f.store, registry::OpenMode::kWrite));
      return app::RecordProbe(run->hosts, *store, SystemClock());
    }();
    if (!recorded) return PrintError(Wrap(recorded.error(), "--register: "));
    if (!f.json) WriteStdout(fmt::format("registered {} observations\n", *recorded));
  }
  return run->any_dynamic ? 1 : 0;
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
  cmd->add_flag("--fixed-timeout", f->fixed_timeout,
                "wait the whole --timeout for every silent target (default: once a few peers have "
                "answered, wait as their round trips say, --timeout at most)");
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
  AddStoreOptions(cmd, f->store);
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

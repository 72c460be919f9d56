#include "app/probe.h"

#include <sys/resource.h>

#include <algorithm>

#include <fmt/core.h>

#include "probe/engine.h"
#include "probe/epm_client.h"
#include "probe/local_broadcast.h"
#include "probe/remedy.h"
#include "probe/rpc_client.h"
#include "probe/ssrp_client.h"
#include "probe/targets.h"

namespace berth::app {
namespace {

// The targets to probe one by one. A local broadcast address is never one of them: named on
// its own it is refused, and inside a CIDR block it is skipped, so that probing a local subnet
// still works. With only broadcasts there are none.
Result<std::vector<probe::ProbeTarget>> UnicastTargets(const ProbeRequest& req,
                                                       std::span<const probe::LocalBroadcast> local,
                                                       ProbeRun& run) {
  if (req.targets.empty() && req.list_file.empty() && !req.broadcasts.empty()) {
    return std::vector<probe::ProbeTarget>{};
  }
  auto all = BERTH_TRY(probe::ExpandTargets(req.targets, req.list_file, req.max_targets));
  std::vector<probe::ProbeTarget> out;
  out.reserve(all.size());
  for (probe::ProbeTarget& t : all) {
    const auto owner = probe::BroadcastOwner(local, t.address);
    if (!owner) {
      out.push_back(std::move(t));
    } else if (t.given.find('/') == std::string::npos) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} is the broadcast address of {}",
                              t.given == t.address ? t.address : fmt::format("{} ({})", t.given, t.address),
                              owner->interface),
                  {{Remedy::kUseBroadcast, t.address}});
    } else {
      run.skipped_broadcasts.push_back({t.address, t.given, owner->interface});
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

std::string ObservedCommand(const probe::ServiceRecord& s) {
  switch (s.mapper) {
    case probe::Mapper::kRpc: return fmt::format("rpc {} {} v{} {}", s.program, s.name, s.version, s.netid);
    case probe::Mapper::kSsrp: return fmt::format("mssql {}{}", s.instance, s.dac ? " DAC" : "");
    case probe::Mapper::kEpm:
      return fmt::format("msrpc {} v{} {}", s.interface_uuid, s.interface_version, s.annotation);
  }
  return "";
}

}  // namespace

Result<ProbeRun> RunProbe(const ProbeRequest& req) {
  ProbeRun run;
  const auto local = BERTH_TRY(probe::ReadLocalBroadcasts());
  std::vector<probe::LocalBroadcast> broadcasts;
  for (const std::string& b : req.broadcasts) {
    const probe::LocalBroadcast chosen = BERTH_TRY(probe::ChooseBroadcast(local, b));
    const bool repeated = std::any_of(broadcasts.begin(), broadcasts.end(), [&](const probe::LocalBroadcast& x) {
      return x.broadcast == chosen.broadcast;
    });
    if (!repeated) broadcasts.push_back(chosen);
  }
  const auto targets = BERTH_TRY(UnicastTargets(req, local, run));

  probe::EngineOptions opt;
  opt.timeout_ms = req.timeout_ms;
  opt.adaptive = req.adaptive_timeouts;
  opt.udp_retries = req.udp_retries;
  opt.rate = req.rate;
  opt.concurrency = req.concurrency;
  opt.on_progress = req.on_progress;
  RaiseFdLimit(opt.concurrency);
  probe::Engine engine(opt);

  std::vector<std::shared_ptr<probe::HostReport>> reports;
  reports.reserve(targets.size());
  for (const probe::ProbeTarget& t : targets) {
    const auto host = BERTH_TRY(probe::MakeEndpoint(t.address, 0));
    auto report = std::make_shared<probe::HostReport>();
    report->target = t.given.find('/') == std::string::npos ? t.given : t.address;
    report->address = t.address;
    if (req.rpc) probe::AddRpcProbe(engine, host, req.ephemeral, report);
    if (req.mssql) probe::AddSsrpProbe(engine, host, req.ephemeral, req.instances, report);
    if (req.msrpc) probe::AddEpmProbe(engine, host, req.ephemeral, report, {req.max_ents, req.max_calls, 4 << 20});
    reports.push_back(std::move(report));
  }
  // A broadcast is always SQL Server Browser discovery, whatever mappers are selected.
  std::vector<std::shared_ptr<probe::SsrpBroadcastResult>> found;
  for (const probe::LocalBroadcast& b : broadcasts) found.push_back(probe::AddSsrpBroadcast(engine, b, req.ephemeral));
  BERTH_TRY(engine.Run());
  for (const auto& b : found) {  // each broadcast, then the hosts that answered it
    reports.push_back(b->broadcast);
    reports.insert(reports.end(), b->responders.begin(), b->responders.end());
  }

  run.hosts.reserve(reports.size());
  run.summary.targets = targets.size() + broadcasts.size();  // responders were not asked for
  const probe::Engine::Stats& st = engine.stats();
  run.summary.timing = probe::ProbeTiming{req.adaptive_timeouts, req.timeout_ms, st.timeouts, st.shortened,
                                          st.shortest_wait_ms, st.longest_wait_ms, st.rtt_samples,
                                          st.srtt_ms, st.rttvar_ms, st.max_rtt_ms};
  for (auto& r : reports) {
    if (!probe::Interesting(*r)) ++run.summary.silent;
    for (const auto& s : r->services) run.any_dynamic = run.any_dynamic || s.dynamic;
    run.hosts.push_back(std::move(*r));
  }
  return run;
}

bool WantsStaticPorts(const std::vector<probe::HostReport>& hosts) {
  for (const auto& h : hosts) {
    for (const auto& s : h.services) {
      if (probe::WishFor(s)) return true;
    }
  }
  return false;
}

Result<void> ProposeStaticPorts(std::vector<probe::HostReport>& hosts, registry::Store& store,
                                registry::HostView host, const PortSet& target_ephemeral) {
  host.remote_ephemeral = target_ephemeral;
  registry::Allocator allocator(store, std::move(host));
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

Result<std::size_t> RecordProbe(const std::vector<probe::HostReport>& hosts, registry::Store& store,
                                const Clock& clock) {
  const std::int64_t now = clock.UnixSeconds();
  std::size_t recorded = 0;
  for (const probe::HostReport& h : hosts) {
    std::vector<registry::Observation> seen;
    for (const probe::ServiceRecord& s : h.services) {
      if (s.port == 0) continue;
      registry::Observation o;
      o.host = h.target;
      o.proto = s.transport;
      o.port = s.port;
      o.command = ObservedCommand(s);
      seen.push_back(std::move(o));
    }
    if (seen.empty()) continue;
    recorded += seen.size();
    BERTH_TRY(store.RecordScan(h.target, now, seen));
  }
  return recorded;
}

}  // namespace berth::app

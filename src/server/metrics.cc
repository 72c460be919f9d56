#include "server/metrics.h"

#include <fmt/core.h>

#include <map>
#include <set>
#include <tuple>

#include "base/text.h"
#include "core/finding_id.h"
#include "server/drift.h"

namespace berth::server {
namespace {

void Family(std::string& out, std::string_view name, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
}

std::string GroupOf(const registry::HostReport& r) {
  return r.group.empty() ? std::string(registry::kDefaultGroup) : r.group;
}

}  // namespace

std::string MetricLabelValue(std::string_view value) {
  std::string out;
  for (char c : CommentText(value)) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

std::string RenderMetrics(const FleetSnapshot& snap, std::span<const JudgedHost> hosts,
                          std::int64_t now, std::string_view store_problem) {
  std::string out;
  const auto L = [](std::string_view v) { return MetricLabelValue(v); };

  Family(out, "berth_store_up", "1 when the registry store answered the last read, else 0.");
  out += fmt::format("berth_store_up {}\n", store_problem.empty() ? 1 : 0);
  Family(out, "berth_store_stale", "1 when the data was read without a quorum and may be stale.");
  out += fmt::format("berth_store_stale {}\n", snap.stale_read.empty() ? 0 : 1);
  Family(out, "berth_registry_revision", "The registry revision the data was read at.");
  out += fmt::format("berth_registry_revision {}\n", snap.revision);

  Family(out, "berth_host_state",
         "1 for the state each host is in (up, stale, down or collected), 0 for the others.");
  for (const JudgedHost& h : hosts) {
    for (HostState s : {HostState::kUp, HostState::kStale, HostState::kDown, HostState::kCollected}) {
      out += fmt::format("berth_host_state{{host=\"{}\",group=\"{}\",state=\"{}\"}} {}\n",
                         L(h.host->report.host), L(GroupOf(h.host->report)), HostStateName(s),
                         h.verdict.state == s ? 1 : 0);
    }
  }

  Family(out, "berth_agent_sync_age_seconds",
         "Seconds since the host's agent reported its last scan.");
  for (const JudgedHost& h : hosts) {
    if (const auto age = SyncAge(h.host->report, now)) {
      out += fmt::format("berth_agent_sync_age_seconds{{host=\"{}\"}} {}\n",
                         L(h.host->report.host), *age);
    }
  }

  Family(out, "berth_host_findings",
         "Findings the host's agent last reported, by finding id and severity.");
  for (const auto& [host, findings] : snap.findings) {
    std::map<std::pair<std::string_view, std::string_view>, int> counts;
    for (const Finding& f : findings) ++counts[{FindingIdName(f.id), SeverityName(f.severity)}];
    for (const auto& [key, n] : counts) {
      out += fmt::format("berth_host_findings{{host=\"{}\",id=\"{}\",severity=\"{}\"}} {}\n",
                         L(host), key.first, key.second, n);
    }
  }

  Family(out, "berth_host_ephemeral_listeners",
         "Listeners the host's last scan saw inside its ephemeral port range.");
  for (const JudgedHost& h : hosts) {
    const registry::HostReport& r = h.host->report;
    int n = 0;
    if (const auto it = snap.observations.find(r.host); it != snap.observations.end()) {
      for (const registry::Observation& o : it->second) {
        if (r.ephemeral.high != 0 && r.ephemeral.contains(o.port)) ++n;
      }
    }
    out += fmt::format("berth_host_ephemeral_listeners{{host=\"{}\"}} {}\n", L(r.host), n);
  }

  std::map<std::string, int> registered;
  for (const registry::ServiceRecord& s : snap.services) ++registered[s.service.group];
  Family(out, "berth_registered_services", "Services registered in the group.");
  for (const auto& [group, n] : registered) {
    out += fmt::format("berth_registered_services{{group=\"{}\"}} {}\n", L(group), n);
  }
  std::map<std::string, std::set<std::string>> drifted;
  for (const Drift& d : FindDrift(snap)) drifted[d.group].insert(d.service);
  Family(out, "berth_drifted_services",
         "Registered services seen on another port or not listening on any host of the group.");
  for (const auto& [group, n] : registered) {
    const auto it = drifted.find(group);
    out += fmt::format("berth_drifted_services{{group=\"{}\"}} {}\n", L(group),
                       it == drifted.end() ? 0 : it->second.size());
  }
  return out;
}

}  // namespace berth::server

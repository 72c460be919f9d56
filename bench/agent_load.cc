// The fleet's write load (issue 12, docs/benchmarks.md "Fleet agents"): N simulated agents,
// each with L listeners, against a three-member etcd cluster on loopback that this program
// starts (client ports 25379, 25381, 25383) and stops by PID, or against --store URL.
// Every agent has its own lease, renewed at the real cadence (every interval; TTL 3 x
// interval), and each interval judges its host (the real digest, app::AgentDigest) and
// writes through the real app::WriteAgentReport, so a host whose listeners do not change
// writes nothing. The same hosts then run the naive design (every observation and the report
// rewritten every interval), in the same run. Write transactions are read from etcd's
// revision (SQLite: the change counter), so nothing the simulator forgets to count escapes;
// keepalives and reports are counted by the simulator.
// Usage: agent_load [HOSTS=500] [LISTENERS=50] [INTERVAL_S=30] [INTERVALS=2] [--store URL]
// Exit 1 when the steady state writes anything (the target), 2 on an error.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "app/agent.h"
#include "app/agent_report.h"
#include "bench_etcd_cluster.h"
#include "registry/etcd_client.h"
#include "registry/etcd_records.h"
#include "registry/store_url.h"

namespace {

using namespace berth;
using SteadyClock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "agent_load: %s\n", what.c_str());
  std::exit(2);
}
template <class T>
T Must(Result<T> r, std::string_view what) {
  if (!r) Die(fmt::format("{}: {}", what, r.error().message));
  return std::move(*r);
}
void Must(Result<void> r, std::string_view what) {
  if (!r) Die(fmt::format("{}: {}", what, r.error().message));
}

constexpr int kThreads = 8;
constexpr int kFirstPort = 25379;

// Host i's scan as its agent would judge it: L TCP listeners, one unregistered-listener
// finding per ten of them.
app::AgentScan HostScan(int i, int listeners, std::int64_t now) {
  app::AgentScan s;
  s.report.host = fmt::format("bench-host-{:04}", i);
  s.report.group = "default";
  s.report.ephemeral = PortRange{32768, 60999};
  s.report.scanned = now;
  s.registry_revision = 1;
  for (int l = 0; l < listeners; ++l) {
    const Port port = static_cast<Port>(20000 + l);
    s.observations.push_back(registry::Observation{s.report.host, "", Protocol::kTcp, port,
                                                   1000 + l, fmt::format("svc{}", l), 0, 0});
    if (l % 10 == 0) {
      Finding f;
      f.id = FindingId::kUnregisteredListener;
      f.severity = Severity::kInfo;
      f.subject = fmt::format("svc{} (pid {})", l, 1000 + l);
      f.proto = Protocol::kTcp;
      f.ports.Add(port);
      f.why = fmt::format("{}/tcp is not in the registry", port);
      f.fix = fmt::format("berth adopt svc{} --port {}", l, port);
      s.findings.push_back(std::move(f));
    }
  }
  s.report.listeners = static_cast<std::uint32_t>(listeners);
  s.report.digest = app::AgentDigest(s);
  return s;
}

struct Host {
  app::AgentScan scan;
  app::StoredReport stored;
  std::int64_t lease = 0;
};

struct Counts {
  std::atomic<long> keepalives{0}, reports{0}, unchanged{0}, errors{0};
};

// One simulator thread: its share of the hosts, each acting once per interval at its own
// offset (spread evenly), for `intervals` intervals. `naive`: rewrite everything each time.
void Play(registry::Store& store, std::vector<Host*> hosts, std::chrono::seconds interval,
          int intervals, bool naive, Counts& c) {
  const auto start = SteadyClock::now();
  for (int k = 0; k < intervals; ++k) {
    for (std::size_t j = 0; j < hosts.size(); ++j) {
      std::this_thread::sleep_until(start + interval * k + interval * j / hosts.size());
      Host& h = *hosts[j];
      auto alive = store.KeepAlive(h.lease);
      if (!alive || !*alive) ++c.errors;
      ++c.keepalives;
      h.scan.report.scanned += interval.count();
      h.scan.report.digest = app::AgentDigest(h.scan);  // what the agent computes per scan
      auto wrote = app::WriteAgentReport(store, h.scan, naive, h.stored);
      if (!wrote) {
        ++c.errors;
      } else if (*wrote == app::WriteReason::kUnchanged) {
        ++c.unchanged;
      } else {
        ++c.reports;
      }
    }
  }
}

// The bytes one report write sends: the report with its findings and the host's observations.
std::size_t ReportBytes(const app::AgentScan& s) {
  registry::etcd::HostScans h;
  h.scans = {s.report.scanned};
  h.observations = s.observations;
  return registry::etcd::EncodeHostReport(s.report, s.findings).size() +
         registry::etcd::EncodeHostScans(h).size();
}

struct Phase {
  double seconds = 0;  // nominal: intervals x interval
  std::int64_t txns = 0;  // write transactions: etcd revisions (SQLite: the change counter)
  long keepalives = 0, reports = 0, unchanged = 0, errors = 0;
  double txns_per_s() const { return static_cast<double>(txns) / seconds; }
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> pos;
  std::string url;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--store" && i + 1 < argc) url = argv[++i]; else pos.push_back(a);
  }
  const int n = pos.size() > 0 ? std::atoi(pos[0].c_str()) : 500;
  const int listeners = pos.size() > 1 ? std::atoi(pos[1].c_str()) : 50;
  const std::chrono::seconds interval(pos.size() > 2 ? std::atoi(pos[2].c_str()) : 30);
  const int intervals = pos.size() > 3 ? std::atoi(pos[3].c_str()) : 2;
  if (n < 1 || listeners < 0 || interval.count() < 1 || intervals < 1) Die("bad arguments");

  std::unique_ptr<bench::EtcdCluster> cluster;
  std::filesystem::path dir;
  if (url.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "berth-agent-load-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp failed");
    dir = tmpl;
    cluster = std::make_unique<bench::EtcdCluster>(dir, kFirstPort);
    if (!cluster->Up()) Die("the etcd cluster did not elect a leader within 20 s (is etcd-server installed?)");
    url = fmt::format("etcd://{},{},{}/agent-load", cluster->Endpoint(0), cluster->Endpoint(1),
                      cluster->Endpoint(2));
  }
  const auto where = Must(registry::ParseStoreUrl(url), "--store");
  auto open = [&] { return Must(registry::OpenStore(where, registry::OpenMode::kWrite), "opening the store"); };
  // Write transactions: etcd's store revision, or SQLite's change counter.
  auto probe_store = open();
  auto write_txns = [&]() -> std::int64_t {
    if (cluster) {
      registry::etcd::Client c(cluster->Endpoints(), HttpLimits{5000, 10000, 1 << 20});
      return Must(c.Status(0, 5000), "etcd status").revision;
    }
    return Must(probe_store->WaitForChange(0, 0), "change counter");
  };

  fmt::print("agent_load: {} hosts x {} listeners, interval {} s (lease TTL {} s), {} on {}\n", n,
              listeners, interval.count(), app::AgentLeaseTtl(interval),
              intervals == 1 ? "1 interval" : fmt::format("{} intervals", intervals), url);
  std::vector<Host> hosts(static_cast<std::size_t>(n));
  std::vector<std::unique_ptr<registry::Store>> stores;
  for (int t = 0; t < kThreads; ++t) stores.push_back(open());
  // Start-up: every agent grants its lease, writes its presence and its first report.
  auto t0 = SteadyClock::now();
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < n; i += kThreads) {
          Host& h = hosts[static_cast<std::size_t>(i)];
          h.scan = HostScan(i, listeners, 1'800'000'000);
          h.lease = Must(stores[t]->GrantLease(app::AgentLeaseTtl(interval)), "grant");
          Must(stores[t]->PutPresence({.host = h.scan.report.host,
                                       .lease = h.lease,
                                       .ttl = app::AgentLeaseTtl(interval),
                                       .interval = interval.count(),
                                       .refresh = app::AgentOptions{}.refresh_every,
                                       .started = 1'800'000'000,
                                       .version = "bench"}),
               "presence");
          Must(app::WriteAgentReport(*stores[t], h.scan, false, h.stored), "first report");
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  const std::size_t bytes = ReportBytes(hosts[0].scan);
  fmt::print("start-up: {} leases, presences and first reports in {:.1f} s; one report write "
             "is {} bytes\n",
             n, std::chrono::duration<double>(SteadyClock::now() - t0).count(), bytes);

  auto run = [&](bool naive) {
    Counts c;
    const std::int64_t before = write_txns();
    const auto start = SteadyClock::now();
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      std::vector<Host*> mine;
      for (int i = t; i < n; i += kThreads) mine.push_back(&hosts[static_cast<std::size_t>(i)]);
      threads.emplace_back([&, t, mine] { Play(*stores[t], mine, interval, intervals, naive, c); });
    }
    for (auto& th : threads) th.join();
    Phase p;
    p.seconds = static_cast<double>(interval.count() * intervals);
    const double took = std::chrono::duration<double>(SteadyClock::now() - start).count();
    p.txns = write_txns() - before;
    p.keepalives = c.keepalives;
    p.reports = c.reports;
    p.unchanged = c.unchanged;
    p.errors = c.errors;
    fmt::print("{:<32} {:>7} keepalives ({:>6.1f}/s)  {:>6} reports written  {:>7} write txns "
               "({:>7.2f}/s, {:>9.0f} bytes/s)  {} errors  ({:.1f} s)\n",
               naive ? "naive (rewrite every interval):" : "berth agent (write on change):",
               p.keepalives, static_cast<double>(p.keepalives) / p.seconds, p.reports, p.txns,
               p.txns_per_s(), static_cast<double>(p.reports) * static_cast<double>(bytes) / p.seconds,
               p.errors, took);
    return p;
  };
  const Phase agent = run(false);
  const Phase naive = run(true);
  // Each report write is one txn of two keys (PREFIX/fleet/reports/HOST, PREFIX/hosts/HOST).
  const double refresh = static_cast<double>(n) / (10.0 * static_cast<double>(interval.count()));
  fmt::print("steady state: {:.2f} write txns/s (target 0) vs naive {:.2f}/s ({:.0f} vs {:.0f} "
             "bytes/s); the full refresh (every 10th scan, computed) adds {:.2f} txns/s, {:.0f} "
             "bytes/s on average\n",
             agent.txns_per_s(), naive.txns_per_s(),
             static_cast<double>(agent.reports) * static_cast<double>(bytes) / agent.seconds,
             static_cast<double>(naive.reports) * static_cast<double>(bytes) / naive.seconds, refresh,
             refresh * static_cast<double>(bytes));
  fmt::print("writes, naive / berth agent with its refresh: {:.1f}x\n",
             naive.txns_per_s() / (agent.txns_per_s() + refresh));
  for (Host& h : hosts) (void)stores[0]->RevokeLease(h.lease);
  if (!dir.empty()) {
    cluster.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  if (agent.errors != 0 || naive.errors != 0) return 2;
  return agent.txns == 0 ? 0 : 1;
}

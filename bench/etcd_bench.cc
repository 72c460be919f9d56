// The etcd store's figures (issue 11, docs/benchmarks.md), in one run on one machine, against a
// three-member etcd cluster on loopback that this program starts (client ports 24379, 24381,
// 24383; data in a temp dir) and stops by PID:
//   N assigns from 1 client and from 16 concurrent clients (threads, each its own store),
//   N lookups by name, apply of a 2N-service registry,
//   the floor: the same N claims as raw txns (compare create_revision == 0, put the record and
//   the claim: what curl or etcdctl would send) through the same HTTP client, from 1 client and
//   from 16 (the cluster's own ceiling on this machine), and N raw linearizable reads,
//   and the same operations on a SQLite registry beside them.
// Every assign goes through the Allocator in one Atomically() step, as `berth assign` does,
// minus process start and the host scan. Usage: etcd_bench [N] (default 10000). Exit 1 when
// a target (berth/raw per claim <= 1.5, 16 clients >= 4x faster than 1) is missed.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "bench_etcd_cluster.h"
#include "registry/allocator.h"
#include "registry/etcd_client.h"
#include "registry/etcd_codec.h"
#include "registry/etcd_records.h"
#include "registry/etcd_store.h"
#include "registry/sqlite_store.h"

namespace {

using namespace berth::registry;
using berth::Port;
using berth::ServiceProto;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "etcd_bench: %s\n", what.c_str());
  std::exit(2);
}
template <class T>
T Must(berth::Result<T> r) {
  if (!r) Die(r.error().message);
  return std::move(*r);
}
void Must(berth::Result<void> r) {
  if (!r) Die(r.error().message);
}

constexpr int kFirstPort = 24379;
std::string Endpoint(int i) { return fmt::format("127.0.0.1:{}", kFirstPort + 2 * i); }


std::unique_ptr<EtcdStore> OpenEtcd(const std::string& prefix) {
  EtcdOptions o;
  o.endpoints = {Endpoint(0), Endpoint(1), Endpoint(2)};
  o.prefix = prefix;
  o.url = "etcd://" + o.endpoints[0] + prefix;
  o.deadline_ms = 30000;
  return Must(EtcdStore::Open(o, OpenMode::kWrite));
}

AssignRequest Request(const std::string& name) {
  AssignRequest r;
  r.name = name;
  r.group = "bench";
  r.allow_iana = true;
  return r;
}

Group BenchGroup() {
  Group g;
  g.name = "bench";
  g.hosts = {"bench-host"};
  g.range = {1024, 65535};
  return g;
}

HostView OtherHost() {
  HostView h;
  h.hostname = "not-bench-host";
  return h;
}

// `n` assigns of names[from, from + n) through one store, one Atomically step each.
void AssignAll(Store& store, const std::vector<std::string>& names, std::size_t from, std::size_t n) {
  Allocator alloc(store, OtherHost());
  for (std::size_t i = from; i < from + n; ++i) {
    const AssignRequest req = Request(names[i]);
    store.Prefetch(HintFor(std::span(&req, 1)));  // as berth assign does
    Must(store.Atomically([&]() -> berth::Result<void> {
      alloc.Reload();  // as berth assign does: the body may run again after a lost race
      BERTH_TRY(alloc.Assign(req));
      return {};
    }));
  }
}

// `n` claims as raw txns (compare create_revision == 0 on the service and the claim key, put
// both: what curl or etcdctl would send), names and ports [from, from + n), under `prefix`.
void RawClaims(const std::string& prefix, int from, int n) {
  etcd::Client client({Endpoint(0), Endpoint(1), Endpoint(2)}, berth::HttpLimits{5000, 30000, 4 << 20});
  for (int i = from; i < from + n; ++i) {
    ServiceRecord r;
    r.service.name = fmt::format("raw{}", i);
    r.service.group = "bench";
    r.service.port = static_cast<Port>(1024 + i);
    const std::string svc = fmt::format("{}/g/1/services/raw{}", prefix, i);
    const std::string claim = fmt::format("{}/g/1/claims/bench/tcp/{:05}", prefix, 1024 + i);
    auto t = Must(client.Txn(
        {{svc, "", etcd::CompareTarget::kCreate, etcd::CompareResult::kEqual, 0, ""},
         {claim, "", etcd::CompareTarget::kCreate, etcd::CompareResult::kEqual, 0, ""}},
        {{etcd::Op::Kind::kPut, svc, "", etcd::EncodeService(r), 0, false, 0, false},
         {etcd::Op::Kind::kPut, claim, "", r.service.name, 0, false, 0, false}},
        {{etcd::Op::Kind::kRange, svc, "", "", 0, false, 0, false}}));
    if (!t.succeeded) Die("a raw claim lost");
  }
}

struct Figures {
  double assign1 = 0, assign16 = 0, lookup = 0, apply = 0;
  double calls1 = 0, calls16 = 0;  // requests to etcd per assign (0 for SQLite)
};

// Requests the store sent to etcd so far (0 for SQLite).
std::size_t Calls(Store& store) {
  auto* etcd = dynamic_cast<EtcdStore*>(&store);
  return etcd == nullptr ? 0 : etcd->calls();
}

Figures Measure(const std::function<std::unique_ptr<Store>(const std::string&)>& open, int n) {
  Figures f;
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back(fmt::format("svc{}.bench", i));
  {
    auto store = open("/one");
    Must(store->PutGroup(BenchGroup()));
    const std::size_t calls = Calls(*store);
    auto t0 = Clock::now();
    AssignAll(*store, names, 0, static_cast<std::size_t>(n));
    f.assign1 = Seconds(t0);
    f.calls1 = static_cast<double>(Calls(*store) - calls) / n;
    std::vector<std::size_t> order(names.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(42));
    t0 = Clock::now();
    for (std::size_t i : order) {
      if (!Must(store->GetService(names[i]))) Die("a lookup found nothing");
    }
    f.lookup = Seconds(t0);
  }
  {
    auto first = open("/sixteen");
    Must(first->PutGroup(BenchGroup()));
    std::vector<std::unique_ptr<Store>> stores;
    for (int c = 0; c < 16; ++c) stores.push_back(open("/sixteen"));
    std::vector<std::thread> threads;
    const std::size_t per = static_cast<std::size_t>(n) / 16;
    std::size_t calls = 0;
    for (auto& st : stores) calls += Calls(*st);
    auto t0 = Clock::now();
    for (std::size_t c = 0; c < 16; ++c) {
      threads.emplace_back([&, c] { AssignAll(*stores[c], names, c * per, per); });
    }
    for (auto& t : threads) t.join();
    f.assign16 = Seconds(t0);
    std::size_t after = 0;
    for (auto& st : stores) after += Calls(*st);
    f.calls16 = static_cast<double>(after - calls) / static_cast<double>(per * 16);
    auto claims = Must(first->ListClaims("bench"));
    if (claims.size() != per * 16) Die(fmt::format("16 clients: {} claims, not {}", claims.size(), per * 16));
  }
  {
    RegistryDoc doc;
    doc.groups = {BenchGroup()};
    for (int i = 0; i < 2 * n; ++i) {
      berth::Service s;
      s.name = fmt::format("a{}", i);
      s.group = "bench";
      s.port = static_cast<Port>(1024 + i % 60000);
      s.proto = i < 60000 ? ServiceProto::kTcp : ServiceProto::kUdp;
      doc.services.push_back(std::move(s));
    }
    auto store = open("/apply");
    auto t0 = Clock::now();
    Must(store->Replace(doc, "bench"));
    f.apply = Seconds(t0);
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  if (n < 16) Die("N must be at least 16");
  std::string tmpl = (std::filesystem::temp_directory_path() / "berth-etcd-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp failed");
  const std::filesystem::path dir = tmpl;
  Figures e, s;
  double raw = 0, raw16 = 0, raw_read = 0;
  {
    berth::bench::EtcdCluster cluster(dir, kFirstPort);
    if (!cluster.Up()) Die("the etcd cluster did not elect a leader within 20 s (is etcd-server installed?)");
    // The floor: the claim txn alone, as a raw request per claim, from 1 client and from 16
    // at once (what this machine's cluster can take at all), and a raw linearizable read of one
    // key (what an assign must do before it can choose a port).
    auto t0 = Clock::now();
    RawClaims("/raw1", 0, n);
    raw = Seconds(t0);
    t0 = Clock::now();
    {
      std::vector<std::thread> threads;
      const int per = n / 16;
      for (int c = 0; c < 16; ++c) threads.emplace_back([&, c] { RawClaims("/raw16", c * per, per); });
      for (auto& t : threads) t.join();
    }
    raw16 = Seconds(t0);
    t0 = Clock::now();
    {
      etcd::Client client({Endpoint(0), Endpoint(1), Endpoint(2)}, berth::HttpLimits{5000, 30000, 4 << 20});
      for (int i = 0; i < n; ++i) {
        etcd::RangeRequest req;
        req.key = fmt::format("/raw1/g/1/services/raw{}", i);
        if (Must(client.Range(req)).kvs.empty()) Die("a raw read found nothing");
      }
    }
    raw_read = Seconds(t0);
    e = Measure([](const std::string& prefix) -> std::unique_ptr<Store> { return OpenEtcd(prefix); }, n);
  }
  s = Measure([&](const std::string& prefix) -> std::unique_ptr<Store> {
    return Must(SqliteStore::Open((dir / (prefix.substr(1) + ".db")).string(), OpenMode::kWrite));
  }, n);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  const double per_claim_ratio = e.assign1 / raw;
  const double speedup = e.assign1 / e.assign16;
  fmt::print("etcd store benchmark: {} assigns, {} lookups, apply of {} services; 3 etcd members on loopback\n",
             n, n, 2 * n);
  fmt::print("{:<46} {:>10} {:>10} {:>12} {:>10}\n", "operation", "etcd s", "etcd us/op", "sqlite s", "etcd/sqlite");
  auto row = [&](std::string_view what, double es, double ss, int ops) {
    fmt::print("{:<46} {:>10.3f} {:>10.1f} {:>12.3f} {:>10.1f}\n", what, es, es * 1e6 / ops, ss, ss > 0 ? es / ss : 0);
  };
  row("assign, 1 client", e.assign1, s.assign1, n);
  row("assign, 16 clients at once", e.assign16, s.assign16, n);
  row("lookup by name", e.lookup, s.lookup, n);
  row(fmt::format("apply of {} services", 2 * n), e.apply, s.apply, 2 * n);
  row("floor: raw claim txn, 1 client", raw, 0, n);
  row("floor: raw claim txn, 16 clients at once", raw16, 0, n);
  row("floor: raw linearizable read of one key", raw_read, 0, n);
  fmt::print("berth assign / raw txn per claim: {:.2f}x (target <= 1.5)\n", per_claim_ratio);
  fmt::print("berth assign / (raw read + raw txn) per claim: {:.2f}x (an assign reads before it "
             "chooses)\n", e.assign1 / (raw + raw_read));
  fmt::print("16 clients vs 1, total time: {:.2f}x faster (target >= 4); raw txns on this machine: "
             "{:.2f}x\n", speedup, raw / raw16);
  fmt::print("requests to etcd per assign: {:.2f} from 1 client, {:.2f} from 16 (1 is a commit alone; "
             "each lost commit adds one)\n", e.calls1, e.calls16);
  const bool ok = per_claim_ratio <= 1.5 && speedup >= 4;
  fmt::print("{}\n", ok ? "all targets met" : "TARGET MISSED");
  return ok ? 0 : 1;
}

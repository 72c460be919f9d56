// The registry's figures (docs/benchmarks.md), in one run on one machine:
//   100,000 assigns into an empty registry through the library (target <= 10 s),
//   100,000 lookups by name (target <= 1 s),
//   apply of a 100,000-service berth.toml (target <= 10 s),
// and the same 100,000 allocations through a Kubernetes-style in-memory bitmap (one bit per
// port, hash start, scan to the next free bit, no storage) as the floor to compare against.
// Usage: registry_bench [N]   (default 100000). Prints a table; exit 1 if a target is missed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "registry/allocator.h"
#include "registry/berth_toml.h"
#include "registry/sqlite_store.h"

namespace {

using berth::Port;
using berth::ServiceProto;
using namespace berth::registry;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

[[noreturn]] void Die(const berth::Error& e) {
  std::fprintf(stderr, "registry_bench: %s\n", e.message.c_str());
  std::exit(2);
}

template <class T>
T Must(berth::Result<T> r) {
  if (!r) Die(r.error());
  return std::move(*r);
}
void Must(berth::Result<void> r) {
  if (!r) Die(r.error());
}

// Kubernetes' allocator in miniature: a bitmap of the range, a start offset, the next free bit.
class BitmapAllocator {
 public:
  BitmapAllocator(Port low, Port high) : low_(low), bits_(std::uint32_t{high} - low + 1) {}
  std::optional<Port> Allocate(std::uint64_t start) {
    const std::size_t n = bits_.size();
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = (start % n + i) % n;
      if (!bits_[at]) {
        bits_[at] = true;
        return static_cast<Port>(low_ + at);
      }
    }
    return std::nullopt;
  }

 private:
  Port low_;
  std::vector<bool> bits_;
};

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 100000;
  std::string tmpl = (std::filesystem::temp_directory_path() / "berth-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return 2;
  const std::filesystem::path dir = tmpl;

  // Half the services TCP, half UDP, in one group spanning 1024-65535 on hosts that are not
  // this one (no ephemeral range, no listeners): 2 x 64,512 slots for 100,000 claims.
  Group g;
  g.name = "bench";
  g.hosts = {"bench-host"};
  g.range = {1024, 65535};
  HostView host;
  host.hostname = "not-bench-host";
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) names.push_back(fmt::format("svc{}.bench", i));
  auto proto_of = [](int i) { return i % 2 == 0 ? ServiceProto::kTcp : ServiceProto::kUdp; };

  // 1. assign through the library: one transaction per name, as `berth assign` does.
  auto store = Must(SqliteStore::Open((dir / "assign.db").string(), OpenMode::kWrite));
  Must(store->PutGroup(g));
  Allocator alloc(*store, host);
  std::vector<Port> assigned(static_cast<std::size_t>(n));
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    AssignRequest req;
    req.name = names[static_cast<std::size_t>(i)];
    req.proto = proto_of(i);
    req.group = "bench";
    req.allow_iana = true;
    assigned[static_cast<std::size_t>(i)] = Must(alloc.Assign(req)).record.service.port;
  }
  const double assign_s = Seconds(t0);

  // 2. lookups by name, in a shuffled order.
  std::vector<int> order(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(42));
  t0 = Clock::now();
  std::size_t found = 0;
  for (int i : order) {
    auto r = Must(store->GetService(names[static_cast<std::size_t>(i)]));
    found += r && r->service.port == assigned[static_cast<std::size_t>(i)] ? 1 : 0;
  }
  const double lookup_s = Seconds(t0);
  if (found != static_cast<std::size_t>(n)) {
    std::fprintf(stderr, "registry_bench: %zu of %d lookups returned the assigned port\n", found, n);
    return 2;
  }

  // 3. the floor: the same allocations in memory, one bitmap per protocol.
  BitmapAllocator tcp(1024, 65535), udp(1024, 65535);
  std::vector<Port> floor_ports(static_cast<std::size_t>(n));
  t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    BitmapAllocator& b = proto_of(i) == ServiceProto::kTcp ? tcp : udp;
    floor_ports[static_cast<std::size_t>(i)] = *b.Allocate(NameHash(names[static_cast<std::size_t>(i)]));
  }
  const double bitmap_s = Seconds(t0);
  const bool same_ports = floor_ports == assigned;

  // 4. apply of a file with every service (what `berth apply` does: parse, then one
  //    transaction), into a fresh registry.
  const RegistryDoc doc = Must(store->Export());
  const std::string text = FormatBerthToml(doc);
  t0 = Clock::now();
  RegistryDoc parsed = Must(ParseBerthToml(text, "bench.toml"));
  const double parse_s = Seconds(t0);
  auto fresh = Must(SqliteStore::Open((dir / "apply.db").string(), OpenMode::kWrite));
  auto t1 = Clock::now();
  Must(fresh->Replace(parsed, "bench"));
  const double write_s = Seconds(t1);
  const double apply_s = Seconds(t0);

  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  const bool ok = assign_s <= 10 && lookup_s <= 1 && apply_s <= 10;
  fmt::print("registry benchmark: {} services ({} TCP + {} UDP, group range 1024-65535)\n", n,
             (n + 1) / 2, n / 2);
  fmt::print("{:<44} {:>10} {:>12} {:>10}\n", "operation", "total s", "per op us", "target s");
  auto row = [&](std::string_view what, double s, std::string_view target) {
    fmt::print("{:<44} {:>10.3f} {:>12.2f} {:>10}\n", what, s, s * 1e6 / n, target);
  };
  row("assign (library, one transaction each)", assign_s, "10");
  row("lookup by name", lookup_s, "1");
  row(fmt::format("apply {}-service file (parse {:.2f} + write {:.2f})", n, parse_s, write_s), apply_s, "10");
  row("floor: in-memory bitmap allocation", bitmap_s, "-");
  fmt::print("assign / bitmap floor: {:.0f}x; same ports as the bitmap: {}\n",
             bitmap_s > 0 ? assign_s / bitmap_s : 0.0, same_ports ? "yes" : "no");
  fmt::print("{}\n", ok ? "all targets met" : "TARGET MISSED");
  return ok ? 0 : 1;
}

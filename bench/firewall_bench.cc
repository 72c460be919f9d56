// make bench: nftables generation and loading for 10,000 registered ports (docs/enforce.md).
// Targets: generation <= 100 ms, `nft -f` into a fresh network namespace <= 1 s, and a rule
// count that does not grow with the port count; compared in the same run with one rule per
// port loaded the same way. Loading needs root; the namespaces are deleted on exit.
// Usage: firewall_bench [PORTS]   (default 10000)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "emit/firewall.h"
#include "base/file.h"
#include "host/firewall_apply.h"

namespace {

using berth::RunTool;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<berth::Service> Services(int n) {
  std::vector<berth::Service> out;
  for (int i = 0; i < n; ++i) {
    berth::Service s;
    s.name = fmt::format("svc{}", i);
    s.port = static_cast<berth::Port>(10000 + 2 * i % 55000);  // never adjacent: one element each
    s.proto = i % 5 == 0 ? berth::ServiceProto::kBoth : berth::ServiceProto::kTcp;
    if (i % 10 == 3) s.sources = {fmt::format("10.{}.0.0/16", i % 250)};
    s.description = "benchmark service";
    out.push_back(std::move(s));
  }
  return out;
}

std::string RenderNft(const std::vector<berth::Service>& services) {
  std::string out;
  auto r = berth::RenderFirewall(berth::FirewallFormat::kNft, services, {},
                                 [&out](std::string_view s) { out += s; });
  if (!r) {
    fmt::print(stderr, "render: {}\n", r.error().message);
    std::exit(2);
  }
  return out;
}

// The naive design: one rule per port and protocol, same table shape otherwise.
std::string RenderPerPort(const std::vector<berth::Service>& services) {
  std::string out = "table inet flat\ndelete table inet flat\ntable inet flat {\n\tchain input {\n"
                    "\t\ttype filter hook input priority filter; policy drop;\n"
                    "\t\tiif \"lo\" accept\n\t\tct state established,related accept\n";
  for (const berth::Service& s : services) {
    for (auto p : {berth::Protocol::kTcp, berth::Protocol::kUdp}) {
      if (!berth::Covers(s.proto, p)) continue;
      const std::string proto(berth::ProtocolName(p));
      if (s.sources.empty()) {
        out += fmt::format("\t\t{} dport {} accept\n", proto, s.port);
      } else {
        for (const auto& src : s.sources) {
          out += fmt::format("\t\tip saddr {} {} dport {} accept\n", src, proto, s.port);
        }
      }
    }
  }
  return out + "\t}\n}\n";
}

struct Netns {
  std::string name = fmt::format("berth-bench-fw-{}", ::getpid());
  bool ok = false;
  Netns() {
    (void)RunTool({"ip", "netns", "del", name});
    auto r = RunTool({"ip", "netns", "add", name});
    ok = r && r->exit_code == 0;
  }
  ~Netns() { (void)RunTool({"ip", "netns", "del", name}); }
};

// Median wall time of `nft -f file` into a fresh namespace, and the rules it holds after.
std::pair<double, long> Load(const std::string& file, int reps) {
  std::vector<double> times;
  long rules = -1;
  for (int i = 0; i < reps; ++i) {
    Netns ns;
    if (!ns.ok) return {-1, -1};
    const auto t0 = Clock::now();
    auto r = RunTool({"ip", "netns", "exec", ns.name, "nft", "-f", file});
    times.push_back(Ms(Clock::now() - t0));
    if (!r || r->exit_code != 0) {
      fmt::print(stderr, "nft -f {} failed: {}\n", file, r ? r->err : r.error().message);
      return {-1, -1};
    }
    auto list = RunTool({"ip", "netns", "exec", ns.name, "nft", "-a", "list", "ruleset"});
    rules = 0;
    for (std::size_t pos = 0; list && (pos = list->out.find("# handle", pos)) != std::string::npos; ++pos) {
      const std::size_t line = list->out.rfind('\n', pos);
      const std::string_view text(list->out.data() + line + 1, pos - line - 1);
      if (text.find(" accept") != std::string_view::npos || text.find(" drop") != std::string_view::npos) {
        ++rules;
      }
    }
  }
  return {Median(times), rules};
}

}  // namespace

int main(int argc, char** argv) {
  const int ports = argc > 1 ? std::atoi(argv[1]) : 10000;
  const auto services = Services(ports);
  const auto small = Services(100);

  std::vector<double> gen;
  std::string nft;
  for (int i = 0; i < 21; ++i) {
    const auto t0 = Clock::now();
    nft = RenderNft(services);
    gen.push_back(Ms(Clock::now() - t0));
  }
  const double gen_ms = Median(gen);
  fmt::print("firewall bench: {} services ({} with a source CIDR), nftables\n", ports, (ports + 6) / 10);
  fmt::print("  generation (median of 21):       {:8.2f} ms  (target <= 100 ms)  {} bytes\n",
             gen_ms, nft.size());

  char tmpl[] = "/tmp/berth-fw-bench-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const std::string sets_file = dir + "/sets.nft", flat_file = dir + "/flat.nft",
                    small_file = dir + "/small.nft";
  (void)berth::WriteFileAtomic(sets_file, nft);
  (void)berth::WriteFileAtomic(flat_file, RenderPerPort(services));
  (void)berth::WriteFileAtomic(small_file, RenderNft(small));
  int rc = gen_ms <= 100 ? 0 : 1;
  if (::geteuid() != 0) {
    fmt::print("  nft -f: skipped (needs root for a private network namespace)\n");
  } else {
    const auto [sets_ms, sets_rules] = Load(sets_file, 5);
    const auto [small_ms, small_rules] = Load(small_file, 5);
    const auto [flat_ms, flat_rules] = Load(flat_file, 3);
    fmt::print("  nft -f, berth sets (median of 5): {:8.2f} ms  (target <= 1000 ms)  {} rules\n",
               sets_ms, sets_rules);
    fmt::print("  nft -f, 100 services (median 5):  {:8.2f} ms                       {} rules\n",
               small_ms, small_rules);
    fmt::print("  nft -f, one rule per port (med 3):{:8.2f} ms                       {} rules\n",
               flat_ms, flat_rules);
    if (sets_ms > 0 && flat_ms > 0) {
      fmt::print("  ratio: one-rule-per-port loads {:.1f}x slower and holds {:.0f}x more rules\n",
                 flat_ms / sets_ms, static_cast<double>(flat_rules) / std::max(1L, sets_rules));
    }
    if (sets_ms < 0 || sets_ms > 1000 || sets_rules != small_rules) rc = 1;
    fmt::print("  rule count independent of port count: {}\n",
               sets_rules == small_rules ? "yes" : "NO");
  }
  (void)RunTool({"rm", "-rf", dir});
  fmt::print("  result: {}\n", rc == 0 ? "within targets" : "OUTSIDE TARGETS");
  return rc;
}

// berth serve's figures (issue 12, docs/benchmarks.md "berth serve"): against a running
// `berth serve` (bench/serve-bench starts it over a 500-host x 50-listener registry), N
// sequential GETs each of /api/v1/hosts and /api/v1/map (the page's data) over one
// keep-alive connection, then the server's peak resident memory (VmHWM of PID).
// Usage: serve_bench PORT PID [N] (default 500). Prints p50/p99 per endpoint; exit 1 when a
// target (p99 <= 50 ms, peak RSS <= 128 MiB) is missed, 2 on an error.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Figures {
  double p50_ms = 0, p99_ms = 0;
  std::size_t bytes = 0;
};

bool Measure(httplib::Client& client, const std::string& path, int n, Figures& out) {
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto res = client.Get(path);
    const auto t1 = std::chrono::steady_clock::now();
    if (!res || res->status != 200) {
      std::fprintf(stderr, "serve_bench: GET %s failed (%d)\n", path.c_str(), res ? res->status : -1);
      return false;
    }
    out.bytes = res->body.size();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  out.p50_ms = ms[ms.size() / 2];
  out.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  return true;
}

long PeakRssKib(const std::string& pid) {
  std::ifstream status("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: serve_bench PORT PID [N]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string pid = argv[2];
  const int n = argc > 3 ? std::atoi(argv[3]) : 500;
  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  client.set_read_timeout(30, 0);
  Figures hosts, map;
  if (!Measure(client, "/api/v1/hosts", n, hosts) || !Measure(client, "/api/v1/map", n, map)) return 2;
  const long rss = PeakRssKib(pid);
  std::printf("GET /api/v1/hosts  %6zu bytes  p50 %6.2f ms  p99 %6.2f ms  (target p99 <= 50 ms)\n",
              hosts.bytes, hosts.p50_ms, hosts.p99_ms);
  std::printf("GET /api/v1/map    %6zu bytes  p50 %6.2f ms  p99 %6.2f ms  (target p99 <= 50 ms)\n",
              map.bytes, map.p50_ms, map.p99_ms);
  std::printf("serve peak RSS     %6.1f MiB  (target <= 128 MiB)\n", static_cast<double>(rss) / 1024.0);
  const bool ok = hosts.p99_ms <= 50 && map.p99_ms <= 50 && rss > 0 && rss <= 128 * 1024;
  return ok ? 0 : 1;
}

// The registry under stress: many processes assigning at once on one file, and kill -9 in
// the middle of a large apply. Real berth processes, a registry in a temp directory.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "registry/registry_test_util.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

constexpr int kProcesses = 16;

std::map<std::string, int> ListPorts(const std::string& db) {
  auto r = RunBerth({"list", "--json", "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, int> out;
  if (r.exit_code != 0) return out;
  const auto doc = nlohmann::json::parse(r.out);
  for (const auto& s : doc["services"]) {
    out[s["name"].get<std::string>()] = s["port"].get<int>();
  }
  return out;
}

// 16 processes x 1,000 distinct names on one registry: 16,000 distinct ports, no error.
// The default policy (1024-49151 minus the ephemeral range minus IANA-assigned ports) leaves
// about 26,000 TCP ports on a Linux-default host, so no --allow-iana is needed.
TEST(RegistryIntegrity, SixteenProcessesAssignDistinctPorts) {
  TempDir dir;
  const std::string db = dir.File("registry.db");
  const int per_process = 1000;
  std::vector<std::future<CommandResult>> runs;
  for (int p = 0; p < kProcesses; ++p) {
    std::vector<std::string> args{"assign", "--db", db};
    for (int i = 0; i < per_process; ++i) args.push_back(fmt::format("p{}-svc{}", p, i));
    runs.push_back(std::async(std::launch::async, [args] { return RunBerth(args); }));
  }
  std::map<std::string, int> printed;
  for (auto& f : runs) {
    CommandResult r = f.get();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    std::istringstream in(r.out);
    std::string name;
    int port;
    while (in >> name >> port) printed[name] = port;
  }
  EXPECT_EQ(printed.size(), static_cast<std::size_t>(kProcesses * per_process));
  const auto stored = ListPorts(db);
  EXPECT_EQ(stored, printed);
  std::set<int> ports;
  for (const auto& [name, port] : stored) ports.insert(port);
  EXPECT_EQ(ports.size(), static_cast<std::size_t>(kProcesses * per_process));
}

TEST(RegistryIntegrity, SameNameFromSixteenProcessesGetsOnePort) {
  TempDir dir;
  const std::string db = dir.File("registry.db");
  std::vector<std::future<CommandResult>> runs;
  for (int p = 0; p < kProcesses; ++p) {
    runs.push_back(std::async(std::launch::async,
                              [db] { return RunBerth({"assign", "contended", "--db", db}); }));
  }
  std::set<std::string> outputs;
  for (auto& f : runs) {
    CommandResult r = f.get();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    outputs.insert(r.out);
  }
  EXPECT_EQ(outputs.size(), 1u);
  const auto stored = ListPorts(db);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(std::to_string(stored.at("contended")) + "\n", *outputs.begin());
}

// kill -9 at several points of an apply of a 50,000-service file: the registry is exactly
// the one before or exactly the one after, never anything in between.
TEST(RegistryIntegrity, KillDuringApplyLeavesBeforeOrAfter) {
  TempDir dir;
  const std::string big = dir.File("big.toml");
  {
    // Every field given (times too), so two registries built from it export the same text.
    std::ofstream out(big);
    out << "schema = 1\n[[group]]\nname = \"bulk\"\nrange = \"1-65535\"\n";
    for (int i = 0; i < 50000; ++i) {
      out << fmt::format("\n[[service]]\nname = \"s{}\"\nport = {}\ngroup = \"bulk\"\n"
                         "created = 2026-01-01T00:00:00Z\nupdated = 2026-01-01T00:00:00Z\n",
                         i, 1 + i);
    }
  }
  const std::string small = dir.File("small.toml");
  std::ofstream(small) << "[[service]]\nname = \"before\"\nport = 20001\n"
                          "created = 2026-01-01T00:00:00Z\nupdated = 2026-01-01T00:00:00Z\n";

  // Reference: the registry before, the registry after a complete apply, and how long one takes.
  const std::string ref = dir.File("ref.db");
  ASSERT_EQ(RunBerth({"apply", small, "--db", ref}).exit_code, 0);
  const std::string before = RunBerth({"export", "--db", ref}).out;
  const auto t0 = std::chrono::steady_clock::now();
  auto full = RunBerth({"apply", big, "--db", ref});
  const auto full_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const std::string after = RunBerth({"export", "--db", ref}).out;
  ASSERT_GT(after.size(), before.size());
  ASSERT_NE(after.find("name = \"s49999\""), std::string::npos);

  int saw_before = 0, saw_after = 0;
  for (int pct : {50, 80, 95}) {
    const std::string db = dir.File(fmt::format("k{}.db", pct));
    ASSERT_EQ(RunBerth({"apply", small, "--db", db}).exit_code, 0);
    {
      Child apply = Child::Exec({BerthBinary(), "apply", big, "--db", db});
      std::this_thread::sleep_for(std::chrono::milliseconds(full_ms * pct / 100));
      apply.Kill();  // SIGKILL, reaped
    }
    auto now = RunBerth({"export", "--db", db});
    ASSERT_EQ(now.exit_code, 0) << now.err;
    if (now.out == before) {
      ++saw_before;
    } else {
      EXPECT_EQ(now.out.size(), after.size()) << "killed at " << pct << "%: neither before nor after";
      EXPECT_TRUE(now.out == after) << "killed at " << pct << "%: neither before nor after";
      ++saw_after;
    }
  }
  std::fprintf(stderr, "apply of 50,000 services: %lld ms; killed runs: %d before, %d after\n",
               static_cast<long long>(full_ms), saw_before, saw_after);
}

}  // namespace
}  // namespace berth::test

// berth on a real three-member etcd cluster (etcd/etcd_cluster.h), as users run it: real berth
// processes with --store etcd://...: many processes assigning at once, kill -9 in the middle of
// a 20,000-service apply, two members stopped and restarted, the member a client talks to
// killed, and a registry copied from SQLite to etcd and back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "etcd/etcd_cluster.h"
#include "registry/store_url.h"

namespace berth::test {
namespace {

using ::testing::HasSubstr;

constexpr int kProcesses = 16;

class EtcdCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    cluster_ = EtcdCluster::Start(why);
    if (!cluster_) BERTH_MISSING_PEER(why);
  }

  static std::vector<std::string> With(std::vector<std::string> args, const std::string& url) {
    args.push_back("--store");
    args.push_back(url);
    return args;
  }

  static std::map<std::string, int> ListPorts(const std::string& url) {
    auto r = RunBerth(With({"list", "--json"}, url));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::map<std::string, int> out;
    if (r.exit_code != 0) return out;
    const auto doc = nlohmann::json::parse(r.out);
    for (const auto& s : doc["services"]) out[s["name"].get<std::string>()] = s["port"].get<int>();
    return out;
  }

  std::unique_ptr<EtcdCluster> cluster_;
  TempDir dir_;
};

// The host's ephemeral range (the default group's), which no assigned port may fall inside.
std::pair<int, int> EphemeralRange() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int lo = 0, hi = 0;
  in >> lo >> hi;
  return {lo, hi};
}

// 16 processes x 200 distinct names, in commands of 40 names (one etcd txn each; etcd takes at
// most 128 operations in one): 3,200 distinct ports, none inside the ephemeral range.
TEST_F(EtcdCli, SixteenProcessesAssignDistinctPorts) {
  const std::string url = EtcdCluster::Url("/stress");
  constexpr int kPerProcess = 200, kPerCommand = 40;
  std::vector<std::future<std::vector<CommandResult>>> runs;
  for (int p = 0; p < kProcesses; ++p) {
    runs.push_back(std::async(std::launch::async, [p, url] {
      std::vector<CommandResult> results;
      for (int batch = 0; batch < kPerProcess / kPerCommand; ++batch) {
        std::vector<std::string> args{"assign"};
        for (int i = 0; i < kPerCommand; ++i) args.push_back(fmt::format("p{}-svc{}", p, batch * kPerCommand + i));
        results.push_back(RunBerth(With(args, url)));
      }
      return results;
    }));
  }
  std::map<std::string, int> printed;
  for (auto& f : runs) {
    for (const CommandResult& r : f.get()) {
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.err, "");
      std::istringstream in(r.out);
      std::string name;
      int port = 0;
      while (in >> name >> port) printed[name] = port;
    }
  }
  EXPECT_EQ(printed.size(), static_cast<std::size_t>(kProcesses * kPerProcess));
  const auto stored = ListPorts(url);
  EXPECT_EQ(stored, printed);
  std::set<int> ports;
  const auto [lo, hi] = EphemeralRange();
  for (const auto& [name, port] : stored) {
    ports.insert(port);
    EXPECT_FALSE(port >= lo && port <= hi) << name << " got " << port << ", inside " << lo << "-" << hi;
  }
  EXPECT_EQ(ports.size(), static_cast<std::size_t>(kProcesses * kPerProcess));
  auto check = RunBerth(With({"store", "check"}, url));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST_F(EtcdCli, SameNameFromSixteenProcessesGetsOnePort) {
  const std::string url = EtcdCluster::Url("/same");
  std::vector<std::future<CommandResult>> runs;
  for (int p = 0; p < kProcesses; ++p) {
    runs.push_back(std::async(std::launch::async, [url] { return RunBerth(With({"assign", "contended"}, url)); }));
  }
  std::set<std::string> outputs;
  for (auto& f : runs) {
    CommandResult r = f.get();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    outputs.insert(r.out);
  }
  EXPECT_EQ(outputs.size(), 1u);
  const auto stored = ListPorts(url);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(std::to_string(stored.at("contended")) + "\n", *outputs.begin());
}

// More than one etcd txn can hold: refused whole, with what to do, nothing written.
TEST_F(EtcdCli, AnAssignTooLargeForOneTxnIsRefusedWhole) {
  const std::string url = EtcdCluster::Url("/big");
  std::vector<std::string> args{"assign"};
  for (int i = 0; i < 100; ++i) args.push_back(fmt::format("n{}", i));
  auto r = RunBerth(With(args, url));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("at most 128"));
  EXPECT_THAT(r.err, HasSubstr("nothing was written"));
  EXPECT_TRUE(ListPorts(url).empty());
}

// kill -9 at five random moments of an apply of 20,000 services: each time the registry is
// exactly the one before or exactly the one after (compared as exports).
TEST_F(EtcdCli, KillDuringApplyLeavesBeforeOrAfter) {
  const std::string big = dir_.File("big.toml");
  {
    std::ofstream out(big);
    out << "schema = 1\n[[group]]\nname = \"bulk\"\nrange = \"1-65535\"\n";
    for (int i = 0; i < 20000; ++i) {
      out << fmt::format("\n[[service]]\nname = \"s{}\"\nport = {}\ngroup = \"bulk\"\n"
                         "created = 2026-01-01T00:00:00Z\nupdated = 2026-01-01T00:00:00Z\n",
                         i, 1 + i);
    }
  }
  const std::string small = dir_.File("small.toml");
  std::ofstream(small) << "[[service]]\nname = \"before\"\nport = 20001\n"
                          "created = 2026-01-01T00:00:00Z\nupdated = 2026-01-01T00:00:00Z\n";
  const std::string ref = EtcdCluster::Url("/ref");
  ASSERT_EQ(RunBerth(With({"apply", small}, ref)).exit_code, 0);
  const std::string before = RunBerth(With({"export"}, ref)).out;
  const auto t0 = std::chrono::steady_clock::now();
  auto full = RunBerth(With({"apply", "--prune", big}, ref));
  const auto full_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const std::string after = RunBerth(With({"export"}, ref)).out;
  ASSERT_NE(after.find("name = \"s19999\""), std::string::npos);
  ASSERT_NE(before, after);

  std::mt19937 rng(std::random_device{}());
  int saw_before = 0, saw_after = 0;
  for (int run = 0; run < 5; ++run) {
    const std::string url = EtcdCluster::Url(fmt::format("/kill{}", run));
    ASSERT_EQ(RunBerth(With({"apply", small}, url)).exit_code, 0);
    const long long at = std::uniform_int_distribution<long long>(0, full_ms)(rng);
    {
      Child apply = Child::Exec({BerthBinary(), "apply", "--prune", big, "--store", url});
      // Not a wait for anything: the sleep only picks a kill moment somewhere in the apply.
      // Wherever it lands the assertions below hold.
      std::this_thread::sleep_for(std::chrono::milliseconds(at));
      apply.Kill();  // SIGKILL, reaped
    }
    auto now = RunBerth(With({"export"}, url));
    ASSERT_EQ(now.exit_code, 0) << now.err;
    if (now.out == before) {
      ++saw_before;
    } else {
      EXPECT_TRUE(now.out == after) << "killed at " << at << " ms: neither before nor after";
      ++saw_after;
    }
    auto check = RunBerth(With({"store", "check"}, url));
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    // The next apply goes through although a killed one may have left a generation behind.
    auto again = RunBerth(With({"apply", "--prune", small}, url));
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(RunBerth(With({"export"}, url)).out, before);
  }
  std::fprintf(stderr, "apply of 20,000 services on etcd: %lld ms; killed runs: %d before, %d after\n",
               static_cast<long long>(full_ms), saw_before, saw_after);
}

// Two of three members stopped: an assign fails with the quorum message and writes nothing;
// with them back, assigns work again and nothing was lost or duplicated.
TEST_F(EtcdCli, NoQuorumFailsClearlyAndWritesNothing) {
  const std::string url = EtcdCluster::Url("/quorum");
  ASSERT_EQ(RunBerth(With({"assign", "a", "b"}, url)).exit_code, 0);
  const auto before = ListPorts(url);
  cluster_->StopMember(1);
  cluster_->StopMember(2);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = RunBerth(With({"assign", "c"}, url));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("etcd has no quorum (1 of 3 members answer"));
  EXPECT_THAT(r.err, HasSubstr("nothing was written"));
  std::fprintf(stderr, "assign without quorum failed after %lld ms\n", static_cast<long long>(ms));
  // A read that may be stale still answers from the one member left, and says so.
  auto stale = RunBerth(With({"list", "--json", "--stale"}, url));
  EXPECT_EQ(stale.exit_code, 0) << stale.err;
  EXPECT_THAT(stale.err, HasSubstr("may be stale"));
  if (stale.exit_code == 0) {
    EXPECT_EQ(nlohmann::json::parse(stale.out)["services"].size(), 2u);
  }
  auto status = RunBerth(With({"store", "status"}, url));
  EXPECT_EQ(status.exit_code, 2) << status.out;
  EXPECT_THAT(status.out, HasSubstr("down"));
  cluster_->StartMember(1);
  cluster_->StartMember(2);
  // Every member back and caught up (the status below asks each within its own deadline).
  for (int i = 0; i < EtcdCluster::kMembers; ++i) {
    ASSERT_TRUE(cluster_->WaitForLeader(i)) << "member " << i;
  }
  auto c = RunBerth(With({"assign", "c"}, url));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto after = ListPorts(url);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after.at("a"), before.at("a"));
  EXPECT_EQ(after.at("b"), before.at("b"));
  EXPECT_EQ(std::set<int>({after.at("a"), after.at("b"), after.at("c")}).size(), 3u);
  auto ok = RunBerth(With({"store", "status", "--json"}, url));
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  const auto doc = nlohmann::json::parse(ok.out);
  EXPECT_EQ(doc["schema"], "berth.store-status/1");
  EXPECT_EQ(doc["members"].size(), 3u);
  EXPECT_EQ(doc["counts"]["services"], 3);
}

// The member the client talks to (the first endpoint) is killed between two writes of one
// client: the next write goes to the next endpoint.
TEST_F(EtcdCli, ClientFailsOverWhenItsMemberDies) {
  auto loc = registry::ParseStoreUrl(EtcdCluster::Url("/failover"));
  ASSERT_TRUE(loc) << loc.error().message;
  auto store = registry::OpenStore(*loc, registry::OpenMode::kWrite);
  ASSERT_TRUE(store) << store.error().message;
  auto claim = [&](int i) {
    registry::ServiceRecord r;
    r.service.name = fmt::format("f{}", i);
    r.service.port = static_cast<Port>(21000 + i);
    return (*store)->ClaimService(r);
  };
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(claim(i));
  cluster_->StopMember(0);
  for (int i = 5; i < 10; ++i) {
    auto r = claim(i);
    ASSERT_TRUE(r) << r.error().message;
  }
  auto list = (*store)->ListServices();
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(list->size(), 10u);
}

// SQLite -> etcd -> SQLite: the three exports are byte-identical.
// Range claims from real processes at once: four blocks of 300 ports (each one etcd txn,
// although 300 claim keys would not fit in one) while four processes assign 30 single names
// each in the same group. No port is held twice, none is in the group's ephemeral range, and
// the registry copies to SQLite and back with its blocks whole.
TEST_F(EtcdCli, RangeAndPortAssignsAtOnceNeverOverlap) {
  const std::string url = EtcdCluster::Url("/ranges");
  ASSERT_EQ(RunBerth(With({"group", "add", "win", "--host", "w1", "--ephemeral", "49152-65535"}, url)).exit_code, 0);
  std::vector<std::future<CommandResult>> runs;
  for (int p = 0; p < 4; ++p) {
    runs.push_back(std::async(std::launch::async, [url, p] {
      return RunBerth(With({"assign", fmt::format("rpc.block{}", p), "--size", "300", "--group", "win"}, url));
    }));
    runs.push_back(std::async(std::launch::async, [url, p] {
      std::vector<std::string> args{"assign", "--group", "win"};
      for (int i = 0; i < 30; ++i) args.push_back(fmt::format("p{}-n{}", p, i));
      return RunBerth(With(args, url));
    }));
  }
  for (auto& f : runs) {
    CommandResult r = f.get();
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  auto listed = RunBerth(With({"list", "--json"}, url));
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto doc = nlohmann::json::parse(listed.out);
  std::map<int, std::string> held;  // port -> service
  int blocks = 0;
  for (const auto& svc : doc["services"]) {
    const int port = svc["port"].get<int>();
    const int size = svc["size"].get<int>();
    if (size > 1) ++blocks;
    for (int q = port; q < port + size; ++q) {
      EXPECT_LT(q, 49152) << svc["name"];
      auto [it, fresh] = held.emplace(q, svc["name"].get<std::string>());
      EXPECT_TRUE(fresh) << q << " held by " << it->second << " and " << svc["name"];
    }
  }
  EXPECT_EQ(blocks, 4);
  EXPECT_EQ(held.size(), 4u * 300u + 4u * 30u);
  auto check = RunBerth(With({"store", "check"}, url));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  const std::string exported = RunBerth(With({"export"}, url)).out;
  EXPECT_THAT(exported, HasSubstr("size = 300"));
  const std::string db = "sqlite://" + dir_.File("ranges.db");
  ASSERT_EQ(RunBerth({"store", "copy", "--from", url, "--to", db}).exit_code, 0);
  EXPECT_EQ(RunBerth(With({"export"}, db)).out, exported);
}

TEST_F(EtcdCli, StoreCopyRoundTripsExactly) {
  const std::string db = "sqlite://" + dir_.File("a.db");
  ASSERT_EQ(RunBerth(With({"group", "add", "win", "--host", "sql1", "--ephemeral", "49152-65535"}, db)).exit_code, 0);
  ASSERT_EQ(RunBerth(With({"family", "add", "mssql", "--base", "14330", "--size", "10"}, db)).exit_code, 0);
  ASSERT_EQ(RunBerth(With({"assign", "web", "db", "mssql.a", "--owner", "team a"}, db)).exit_code, 0);
  ASSERT_EQ(RunBerth(With({"assign", "dns", "--proto", "both", "--group", "win"}, db)).exit_code, 0);
  const std::string first = RunBerth(With({"export"}, db)).out;
  const std::string etcd = EtcdCluster::Url("/copied");
  auto to_etcd = RunBerth({"store", "copy", "--from", db, "--to", etcd});
  ASSERT_EQ(to_etcd.exit_code, 0) << to_etcd.err;
  EXPECT_THAT(to_etcd.out, HasSubstr("copied 4 services, 1 groups and 1 families"));
  EXPECT_EQ(RunBerth(With({"export"}, etcd)).out, first);
  const std::string back = "sqlite://" + dir_.File("b.db");
  ASSERT_EQ(RunBerth({"store", "copy", "--from", etcd, "--to", back}).exit_code, 0);
  EXPECT_EQ(RunBerth(With({"export"}, back)).out, first);
  auto same = RunBerth({"store", "copy", "--from", etcd, "--to", etcd});
  EXPECT_EQ(same.exit_code, 2);
  EXPECT_THAT(same.err, HasSubstr("the same store"));
}

}  // namespace
}  // namespace berth::test

// berth scan's two owner walks (docs/scan.md, "Owners"): the task_file BPF iterator and the
// /proc walk find the same owners on the same sockets; without CAP_BPF, CAP_PERFMON and
// CAP_SYS_ADMIN berth falls back to /proc with the same output and says so in --json and
// --timing; --owner-walk bpf then fails clearly. Real sockets in a private namespace (root).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration/scan_fixture.h"

namespace berth::test {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

// What the two walks must agree on: every socket with its owners, and the processes.
json OwnersPart(const json& scan) {
  return json{{"sockets", scan.at("sockets")}, {"processes", scan.at("processes")}};
}

// Listeners (TCP v4 and v6, UDP), a connection whose two ends have different owners. The
// client starts once the server listens (it connects at once).
struct Load {
  Child server;
  std::optional<Child> client;
  bool Ready() { return client.has_value() && client->WaitReady(); }
};

Load StartLoad(const Netns& ns) {
  Load load{ServeInChild("walk-srv", &ns,
                         {{SOCK_STREAM, AF_INET, "127.0.0.1", 7100},
                          {SOCK_STREAM, AF_INET6, "::1", 7101},
                          {SOCK_DGRAM, AF_INET, "127.0.0.1", 7102}}),
            std::nullopt};
  if (!load.server.WaitReady()) return load;
  load.client.emplace(Child::Fork([&ns](int ready) {
    ::prctl(PR_SET_NAME, "walk-cli");
    if (!ns.EnterThread()) ::_exit(3);
    if (ConnectLoopback(7100) < 0) ::_exit(4);
    (void)!::write(ready, "x", 1);
  }));
  return load;
}

TEST(ScanOwnerWalk, BpfAndProcWalksFindTheSameOwners) {
  BERTH_REQUIRE_ROOT();
  auto ns = Netns::Create("walk");
  ASSERT_TRUE(ns);
  Load load = StartLoad(*ns);
  ASSERT_TRUE(load.Ready());

  auto bpf = RunBerth({"scan", "--all", "--json", "--fail-on", "none", "--netns", ns->name(),
                       "--owner-walk", "bpf"});
  ASSERT_EQ(bpf.exit_code, 0) << bpf.err;
  auto proc = RunBerth({"scan", "--all", "--json", "--fail-on", "none", "--netns", ns->name(),
                        "--owner-walk", "proc", "--all-owners"});
  ASSERT_EQ(proc.exit_code, 0) << proc.err;
  const json b = ParseJson(bpf), p = ParseJson(proc);
  ASSERT_FALSE(b.is_discarded()) << bpf.out;
  ASSERT_FALSE(p.is_discarded()) << proc.out;
  EXPECT_EQ(b.at("owners_walk"), "bpf");
  EXPECT_EQ(b.at("owners_walk_fallback"), nullptr);
  EXPECT_EQ(p.at("owners_walk"), "proc");
  EXPECT_EQ(OwnersPart(b), OwnersPart(p));

  // Not vacuous: the listeners belong to the server, the client end to the client; the
  // server's end of the connection waits in its accept queue, held by no fd (inode 0).
  int owned = 0;
  for (const json& s : b.at("sockets")) {
    if (s.at("inode") == 0) {
      EXPECT_TRUE(s.at("owners").empty()) << s.dump();
      continue;
    }
    ASSERT_EQ(s.at("owners").size(), 1u) << s.dump();
    const int pid = s.at("owners").at(0).at("pid");
    const bool client_end = s.at("state") == "ESTAB" && s.at("peer_port") == 7100;
    EXPECT_EQ(pid, client_end ? load.client->pid() : load.server.pid()) << s.dump();
    ++owned;
  }
  EXPECT_EQ(owned, 4);  // three listeners and the client's end
}

TEST(ScanOwnerWalk, WithoutBpfPrivilegeFallsBackToProcAndSaysSo) {
  BERTH_REQUIRE_ROOT();
  auto ns = Netns::Create("walkcap");
  ASSERT_TRUE(ns);
  Load load = StartLoad(*ns);
  ASSERT_TRUE(load.Ready());
  // berth runs inside the namespace (ip netns exec), once as root, once with CAP_BPF,
  // CAP_PERFMON and CAP_SYS_ADMIN out of its bounding set: root, but not allowed to load the
  // iterator.
  auto inside = [&](bool drop, std::vector<std::string> args) {
    std::vector<std::string> argv = {"ip", "netns", "exec", ns->name()};
    if (drop) argv.insert(argv.end(), {"setpriv", "--bounding-set=-bpf,-perfmon,-sys_admin", "--"});
    argv.push_back(BerthBinary());
    argv.insert(argv.end(), args.begin(), args.end());
    return ::berth::test::Run(argv);
  };
  auto with = [&](std::vector<std::string> args) { return inside(true, std::move(args)); };
  auto fallback = with({"scan", "--all", "--json", "--fail-on", "none", "--all-owners"});
  ASSERT_EQ(fallback.exit_code, 0) << fallback.err;
  const json f = ParseJson(fallback);
  ASSERT_FALSE(f.is_discarded()) << fallback.out;
  EXPECT_EQ(f.at("owners_walk"), "proc");
  ASSERT_TRUE(f.at("owners_walk_fallback").is_string()) << f.dump();
  EXPECT_THAT(f.at("owners_walk_fallback").get<std::string>(), HasSubstr("CAP_BPF"));

  auto bpf = RunBerth({"scan", "--all", "--json", "--fail-on", "none", "--netns", ns->name(),
                       "--owner-walk", "bpf"});
  ASSERT_EQ(bpf.exit_code, 0) << bpf.err;
  EXPECT_EQ(OwnersPart(f), OwnersPart(ParseJson(bpf)));

  // The text output is the same whichever walk ran; --timing names it and why.
  auto text_fallback = with({"scan", "--all", "--fail-on", "none", "--no-header", "--timing", "--all-owners"});
  auto text_bpf = inside(false, {"scan", "--all", "--fail-on", "none", "--no-header", "--timing",
                                 "--owner-walk", "bpf"});
  ASSERT_EQ(text_fallback.exit_code, 0) << text_fallback.err;
  ASSERT_EQ(text_bpf.exit_code, 0) << text_bpf.err;
  EXPECT_EQ(text_fallback.out, text_bpf.out);
  EXPECT_THAT(text_fallback.out, HasSubstr("walk-cli"));
  EXPECT_THAT(text_fallback.err, HasSubstr("/proc walk"));
  EXPECT_THAT(text_fallback.err, HasSubstr("BPF walk not used"));
  EXPECT_THAT(text_bpf.err, HasSubstr("owners: BPF walk"));

  auto forced = with({"scan", "--owner-walk", "bpf"});
  EXPECT_EQ(forced.exit_code, 2);
  EXPECT_THAT(forced.err, HasSubstr("CAP_BPF"));
}

}  // namespace
}  // namespace berth::test

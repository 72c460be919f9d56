// berth probe --rpc against the real thing: Debian's rpcbind with rpc.statd and rpc.mountd
// (nfs-kernel-server) on dynamic ports, in a private network + mount namespace. berth must
// report exactly the (program, version, netid, port) set that `rpcinfo` (v3 DUMP) reports;
// then berth's nfs.conf remedy, applied in the namespace, must pin the daemons to the
// recommended ports across two restarts.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "core/nfs_ports.h"
#include "probe/probe_peer.h"
#include "probe/remedy.h"
#include "support/test_support.h"

namespace berth::probe {
namespace {

using test::PrivateNs;
using Registration = std::tuple<std::uint32_t, std::uint32_t, std::string, int>;  // prog, vers, netid, port

// `rpcinfo 127.0.0.1` (a v3 DUMP over TCP): tcp/udp/tcp6/udp6 rows only; empty while
// rpcbind is not up yet (callers poll).
std::set<Registration> RpcinfoSet(const PrivateNs& ns) {
  auto r = ns.Exec({"rpcinfo", "127.0.0.1"});
  std::set<Registration> out;
  if (r.exit_code != 0) return out;
  std::istringstream in(r.out);
  std::string line;
  const std::regex row(R"(^\s*(\d+)\s+(\d+)\s+(tcp6?|udp6?)\s+(\S+)\.(\d+)\.(\d+)\s)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, row)) {
      out.emplace(std::stoul(m[1]), std::stoul(m[2]), m[3], std::stoi(m[5]) * 256 + std::stoi(m[6]));
    }
  }
  return out;
}

struct ProbeRun {
  int exit_code = -1;
  nlohmann::json doc;
  std::set<Registration> regs;
};

ProbeRun BerthProbe(const PrivateNs& ns) {
  ProbeRun run;
  // The namespace's own (empty) registry: the static ports proposed depend on nothing else.
  auto r = ns.Exec({berth::test::BerthBinary(), "probe", "--rpc", "--json", "--timeout", "2", "--db",
                    ns.dir() + "/registry.db", "127.0.0.1"});
  run.exit_code = r.exit_code;
  run.doc = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(run.doc.is_discarded()) << r.out << r.err;
  if (run.doc.is_discarded() || run.doc["hosts"].empty()) return run;
  for (const auto& s : run.doc["hosts"][0]["services"]) {
    run.regs.emplace(s["program"].get<std::uint32_t>(), s["version"].get<std::uint32_t>(),
                     s["netid"].get<std::string>(), s["port"].get<int>());
  }
  return run;
}

bool Registered(const PrivateNs& ns, std::uint32_t prog) {
  for (const auto& [p, v, n, port] : RpcinfoSet(ns)) {
    if (p == prog) return true;
  }
  return false;
}

struct Daemons {
  std::optional<berth::test::Child> statd, mountd;
  void Start(const PrivateNs& ns) {
    statd.emplace(ns.Start({"rpc.statd", "-F", "-L"}));
    mountd.emplace(ns.Start({"rpc.mountd", "-F"}));
  }
  void Stop() {
    if (statd) test::StopGently(*statd);
    if (mountd) test::StopGently(*mountd);
    statd.reset();
    mountd.reset();
  }
};

TEST(ProbeRpcPeer, MatchesRpcinfoThenNfsConfRemedyPinsAcrossRestarts) {
  BERTH_REQUIRE_ROOT();
  for (const char* p : {"rpcbind", "rpcinfo", "rpc.statd", "rpc.mountd", "nsenter", "unshare"}) {
    if (!test::HaveProgram(p)) BERTH_MISSING_PEER(p << " missing: run scripts/install-deps test");
  }
  auto ns = PrivateNs::Create("rpc");
  ASSERT_TRUE(ns) << "could not create the namespace";
  berth::test::Child rpcbind = ns->Start({"rpcbind", "-w", "-f"});
  ASSERT_TRUE(test::WaitFor([&] { return Registered(*ns, 100000); })) << "rpcbind did not come up";
  Daemons d;
  d.Start(*ns);
  ASSERT_TRUE(test::WaitFor([&] { return Registered(*ns, 100024) && Registered(*ns, 100005); }));
  ASSERT_TRUE(test::WaitFor([&] { return RpcinfoSet(*ns).size() >= 22; }, 5));  // 12 mountd + 4 statd + 6+4 rpcbind

  // 1. Same registrations as rpcinfo's v3 dump; dynamic ones found; the IPv4 ones answer NULL.
  const auto expected = RpcinfoSet(*ns);
  ASSERT_FALSE(expected.empty());
  ProbeRun before = BerthProbe(*ns);
  EXPECT_EQ(before.regs, expected);
  EXPECT_EQ(before.exit_code, 1) << "dynamic statd/mountd ports must give exit code 1";
  int answered = 0;
  for (const auto& s : before.doc["hosts"][0]["services"]) {
    const std::string netid = s["netid"];
    if (netid == "tcp" || netid == "udp") {
      EXPECT_EQ(s["answers"], true) << s.dump();
      ++answered;
    }
    if (s["program"] == 100005 || s["program"] == 100024) {
      EXPECT_EQ(s["dynamic"], true) << s.dump();
      // The static port each gets: the convention's, proposed (the registry is empty).
      const bool mountd = s["program"] == 100005;
      EXPECT_EQ(s["static"]["name"], mountd ? "nfs.mountd" : "nfs.statd") << s.dump();
      EXPECT_EQ(s["static"]["port"], mountd ? kNfsMountd.port : kNfsStatd.port) << s.dump();
      EXPECT_EQ(s["static"]["proto"], "both") << s.dump();
      EXPECT_EQ(s["static"]["state"], "proposed") << s.dump();
    }
  }
  EXPECT_GE(answered, 14);
  // The registry lines of the remedy claim exactly those ports when run as printed.
  std::vector<std::string> assigns = test::AssignLines(before.doc["hosts"][0]);
  std::sort(assigns.begin(), assigns.end());
  EXPECT_EQ(assigns, (std::vector<std::string>{
                         fmt::format("berth assign nfs.mountd --port {} --proto both --allow-iana", kNfsMountd.port),
                         fmt::format("berth assign nfs.statd --port {} --proto both", kNfsStatd.port)}));
  for (const std::string& line : assigns) {
    auto r = test::RunPrinted(line, ns->dir() + "/registry.db");
    EXPECT_EQ(r.exit_code, 0) << line << ": " << r.err;
  }

  // 2. Apply berth's remedy: the nfs.conf lines it printed become the namespace's nfs.conf.
  std::string conf;
  for (const auto& r : before.doc["hosts"][0]["remedies"]) {
    std::istringstream text(r["text"].get<std::string>());
    std::string line;
    while (std::getline(text, line)) {
      if (line.starts_with("[") || line.find('=') != std::string::npos) {
        if (line.find(' ') == std::string::npos) conf += line + "\n";
      }
    }
  }
  ASSERT_NE(conf.find("[mountd]\nport=20048"), std::string::npos) << conf;
  ASSERT_NE(conf.find("[statd]\nport=32765"), std::string::npos) << conf;
  {
    std::ofstream out(ns->dir() + "/etc/nfs.conf", std::ios::trunc);  // bind-mounted file: same inode
    out << conf;
  }

  std::set<Registration> pinned;
  for (int restart = 0; restart < 2; ++restart) {
    d.Stop();
    ASSERT_TRUE(test::WaitFor([&] { return !Registered(*ns, 100024) && !Registered(*ns, 100005); }))
        << "daemons did not unregister";
    d.Start(*ns);
    ASSERT_TRUE(test::WaitFor([&] { return RpcinfoSet(*ns).size() >= 22; }));
    ProbeRun after = BerthProbe(*ns);
    EXPECT_EQ(after.regs, RpcinfoSet(*ns));
    EXPECT_EQ(after.exit_code, 0) << "pinned: nothing dynamic";
    for (const auto& [prog, vers, netid, port] : after.regs) {
      if (prog == 100005) {
        EXPECT_EQ(port, kNfsMountd.port) << vers << " " << netid;
      }
      if (prog == 100024) {
        EXPECT_EQ(port, kNfsStatd.port) << netid;
      }
    }
    if (restart == 0) pinned = after.regs;
    else EXPECT_EQ(after.regs, pinned) << "ports moved on the second restart";
  }
  d.Stop();
}

}  // namespace
}  // namespace berth::probe

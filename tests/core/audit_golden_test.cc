// A golden test of the whole audit: snapshots that reach every finding family (every port
// mapper, every mapped-service daemon, each host-configuration finding, each netns form of
// the sysctl prefix), printed field by field and compared with a recorded file. It pins the
// audit's exact output (texts, ids, order, severities) across refactorings.
// BERTH_UPDATE_GOLDEN=1 rewrites the file instead of comparing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/core.h>

#include "core/audit.h"
#include "core/pressure.h"

namespace berth {
namespace {

class GoldenHost {
 public:
  GoldenHost() { snap_.owners_resolved = true; }
  int Process(std::string command, int pid) {
    snap_.processes.push_back(ProcessInfo{pid, 0, "root", std::move(command), "", ""});
    return static_cast<int>(snap_.processes.size() - 1);
  }
  GoldenHost& Listen(Protocol proto, Port port, int process) {
    SocketRecord s;
    s.proto = proto;
    s.state = proto == Protocol::kTcp ? SocketState::kListen : SocketState::kClose;
    s.local_port = port;
    s.inode = static_cast<std::uint32_t>(snap_.sockets.size() + 100);
    snap_.sockets.push_back(s);
    if (process >= 0) {
      snap_.owners.push_back(SocketOwner{static_cast<std::uint32_t>(snap_.sockets.size() - 1),
                                         static_cast<std::uint32_t>(process), 3});
    }
    return *this;
  }
  GoldenHost& Connect(Port local, std::uint8_t last_octet, Port remote, SocketState state) {
    SocketRecord s;
    s.proto = Protocol::kTcp;
    s.state = state;
    IpAddress from, to;
    from.bytes[0] = 10, from.bytes[3] = 1;
    to.bytes[0] = 10, to.bytes[3] = last_octet;
    snap_.SetAddresses(s, from, to);
    s.local_port = local;
    s.remote_port = remote;
    snap_.sockets.push_back(s);
    return *this;
  }
  HostSnapshot& snap() { return snap_; }

 private:
  HostSnapshot snap_;
};

std::string Print(std::string_view title, const std::vector<Finding>& findings) {
  std::string out = fmt::format("=== {} ({} findings)\n", title, findings.size());
  for (const Finding& f : findings) {
    std::string pids;
    for (int p : f.pids) pids += fmt::format("{}{}", pids.empty() ? "" : ",", p);
    out += fmt::format("--- {} [{}] {}\nproto: {}\nports: {}\npids: {}\nwhy: {}\nfix: {}\n",
                       FindingIdName(f.id), SeverityName(f.severity), f.subject,
                       f.proto ? ProtocolName(*f.proto) : "-", f.ports.Format(), pids, f.why,
                       f.fix);
  }
  return out;
}

std::string AllAudits() {
  std::string out;
  {
    GoldenHost h;  // every mapper and every mapped-service daemon, on an empty reserved list
    const int rpcbind = h.Process("rpcbind", 100);
    h.Listen(Protocol::kTcp, 111, rpcbind).Listen(Protocol::kUdp, 111, rpcbind);
    const int samba = h.Process("samba-dcerpcd", 200);
    h.Listen(Protocol::kTcp, 135, samba).Listen(Protocol::kTcp, 593, samba);
    h.Listen(Protocol::kTcp, 49153, samba);
    const int worker = h.Process("rpcd_lsad", 201);
    h.Listen(Protocol::kTcp, 49154, worker);
    const int browser = h.Process("sqlbrowser", 300);
    h.Listen(Protocol::kUdp, 1434, browser);
    const int sql = h.Process("sqlservr", 301);
    h.Listen(Protocol::kTcp, 50000, sql).Listen(Protocol::kTcp, 61000, sql);
    int pid = 400;
    for (const char* daemon : {"rpc.statd", "rpc.mountd", "rpc.rquotad", "ypserv", "ypbind",
                               "rpc.yppasswdd"}) {
      const int p = h.Process(daemon, pid);
      h.Listen(Protocol::kTcp, static_cast<Port>(40000 + pid), p);
      h.Listen(Protocol::kUdp, static_cast<Port>(40000 + pid), p);
      pid += 10;
    }
    const int nginx = h.Process("nginx", 500);
    h.Listen(Protocol::kTcp, 80, nginx).Listen(Protocol::kTcp, 22, nginx);
    h.Listen(Protocol::kTcp, 3306, nginx).Listen(Protocol::kTcp, 5432, nginx);
    h.Listen(Protocol::kTcp, 5433, nginx);
    h.Listen(Protocol::kTcp, 62000, -1);
    out += Print("mappers, mapped services, empty reserved list", AuditHost(h.snap()));
  }
  {
    GoldenHost h;  // a reserved list that misses some listeners; a small range; a named netns
    h.snap().netns = "blue";
    h.snap().config.ephemeral = {40000, 45000};
    // .value(): a parse failure throws, and gtest fails this test instead of the binary crashing.
    h.snap().config.reserved = PortSet::Parse("8000,40000,44000-44010").value();
    const int app = h.Process("myapp", 4242);
    h.Listen(Protocol::kTcp, 40000, app).Listen(Protocol::kTcp, 41000, app);
    h.Listen(Protocol::kUdp, 42000, app).Listen(Protocol::kTcp, 8000, app);
    out += Print("unreserved ports, small range, named netns", AuditHost(h.snap()));
  }
  {
    GoldenHost h;  // servers spread so the free part is large; a netns path; no owners looked up
    h.snap().netns = "/proc/1234/ns/net";
    h.snap().owners_resolved = false;
    h.Listen(Protocol::kTcp, 32800, -1).Listen(Protocol::kTcp, 60000, -1);
    h.Listen(Protocol::kUdp, 33000, -1);
    out += Print("free part large, netns path, no owners", AuditHost(h.snap()));
  }
  {
    GoldenHost h;  // one port in range: singular texts; no part of the range is large enough
    h.snap().config.ephemeral = {30000, 45000};
    h.snap().config.reserved = PortSet::Parse("1").value();
    const int app = h.Process("x", 7);
    h.Listen(Protocol::kTcp, 37000, app).Listen(Protocol::kTcp, 1, app);
    out += Print("singular, no large free part", AuditHost(h.snap()));
  }
  {
    GoldenHost h;  // ephemeral-port pressure: one destination over 80 %, one over 50 %, TIME_WAIT
    h.snap().config.ephemeral = {40000, 40019};
    for (Port p = 40000; p < 40017; ++p) {
      h.Connect(p, 2, 443, p < 40010 ? SocketState::kTimeWait : SocketState::kEstablished);
    }
    for (Port p = 40000; p < 40011; ++p) h.Connect(p, 3, 80, SocketState::kTimeWait);
    h.snap().config.tcp_tw_reuse = 1;
    out += Print("pressure, tw_reuse on", AnalyzePressure(h.snap()).findings);
    h.snap().config.tcp_tw_reuse = 0;
    out += Print("pressure, tw_reuse off", AnalyzePressure(h.snap()).findings);
  }
  return out;
}

TEST(AuditGolden, OutputMatchesTheRecordedFile) {
  const std::string path = std::string(BERTH_FIXTURES) + "/golden/audit.txt";
  const std::string now = AllAudits();
  if (std::getenv("BERTH_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << now;
    GTEST_SKIP() << "rewrote " << path;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  std::stringstream recorded;
  recorded << in.rdbuf();
  EXPECT_EQ(now, recorded.str());
}

}  // namespace
}  // namespace berth

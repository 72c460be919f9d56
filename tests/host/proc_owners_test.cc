#include "host/proc_owners.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <tuple>
#include <fstream>

#include "host/scanner.h"
#include "host/sock_diag.h"
#include "support/test_support.h"

namespace berth {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

SocketRecord WithInode(std::uint64_t inode) {
  SocketRecord s;
  s.inode = static_cast<std::uint32_t>(inode);
  return s;
}

// A /proc look-alike: fd entries are symlinks whose target text is what the kernel shows.
class FakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-proc-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  void AddProcess(int pid, const std::string& comm, const std::vector<std::pair<int, std::string>>& fds,
                  const std::string& cgroup = "0::/system.slice/test.service\n") {
    const std::string dir = root_ + "/" + std::to_string(pid);
    fs::create_directories(dir + "/fd");
    std::ofstream(dir + "/comm") << comm << "\n";
    std::ofstream(dir + "/cgroup") << cgroup;
    for (const auto& [fd, target] : fds) fs::create_symlink(target, dir + "/fd/" + std::to_string(fd));
  }
  std::string root_;
};

TEST_F(FakeProc, AttributesEveryOwnerAndReadsCommandAndUnit) {
  AddProcess(100, "nginx", {{3, "socket:[7001]"}, {4, "/dev/null"}, {5, "socket:[7002]"}});
  AddProcess(101, "nginx", {{3, "socket:[7001]"}});  // a worker sharing the listener
  AddProcess(200, "other", {{0, "pipe:[5]"}}, "0::/system.slice/docker-" + std::string(64, 'b') + ".scope\n");
  HostSnapshot snap;
  snap.sockets = {WithInode(7001), WithInode(7002), WithInode(0), WithInode(7003)};
  OwnerWalkOptions opt;
  opt.proc_root = root_;
  opt.stop_when_all_found = false;
  opt.threads = 2;
  auto stats = ResolveOwners(snap, opt);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->processes, 3u);
  EXPECT_EQ(stats->fds, 5u);
  ASSERT_EQ(snap.processes.size(), 2u);
  EXPECT_EQ(snap.processes[0].pid, 100);
  EXPECT_EQ(snap.processes[0].command, "nginx");
  EXPECT_EQ(snap.processes[0].unit, "test.service");
  ASSERT_EQ(snap.owners.size(), 3u);
  EXPECT_EQ(snap.owners[0].socket, 0u);
  EXPECT_EQ(snap.owners[0].process, 0u);
  EXPECT_EQ(snap.owners[0].fd, 3);
  EXPECT_EQ(snap.owners[1].socket, 0u);
  EXPECT_EQ(snap.owners[1].process, 1u);  // pid 101
  EXPECT_EQ(snap.owners[2].socket, 1u);
  EXPECT_EQ(snap.owners[2].fd, 5);
  EXPECT_TRUE(snap.owners_resolved);
  EXPECT_FALSE(snap.partial);  // 7003 simply has no owner (a kernel socket): not partial
}

TEST_F(FakeProc, VanishedAndUnreadableProcessesAreCountedNotFatal) {
  AddProcess(100, "a", {{3, "socket:[1]"}});
  fs::create_directories(root_ + "/300");                    // exited: no fd directory
  fs::create_directories(root_ + "/301");
  std::ofstream(root_ + "/301/fd") << "not a directory";     // unreadable fd table
  HostSnapshot snap;
  snap.sockets = {WithInode(1), WithInode(2)};
  OwnerWalkOptions opt;
  opt.proc_root = root_;
  auto stats = ResolveOwners(snap, opt);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->vanished, 1u);
  EXPECT_EQ(stats->unreadable, 1u);
  // Socket 2 may belong to the unreadable process: the result says it is partial, and how to fix.
  EXPECT_TRUE(snap.partial);
  ASSERT_EQ(snap.warnings.size(), 1u);
  EXPECT_THAT(snap.warnings[0], HasSubstr("run as root"));
}

TEST_F(FakeProc, StopsOnceEveryWantedSocketHasAnOwner) {
  for (int pid = 1; pid <= 200; ++pid) AddProcess(pid, "p", {{3, "socket:[" + std::to_string(pid) + "]"}});
  HostSnapshot snap;
  snap.sockets = {WithInode(1)};
  OwnerWalkOptions opt;
  opt.proc_root = root_;
  opt.threads = 1;
  auto stats = ResolveOwners(snap, opt);
  ASSERT_TRUE(stats);
  EXPECT_TRUE(stats->stopped_early);
  EXPECT_LT(stats->fds, 200u);
  ASSERT_EQ(snap.owners.size(), 1u);
}

// The walk collected before the sockets are known (ScanHost runs it beside the dump) gives
// the owners, processes and figures the walk after the dump gives.
TEST_F(FakeProc, AWalkCollectedBeforeTheSocketsFindsTheSameOwners) {
  AddProcess(100, "nginx", {{3, "socket:[7001]"}, {4, "/dev/null"}, {5, "socket:[7002]"}});
  AddProcess(101, "nginx", {{3, "socket:[7001]"}, {9, "socket:[9999]"}});  // 9999: not in the snapshot
  AddProcess(200, "other", {{0, "pipe:[5]"}, {1, "socket:[4294967296]"}});  // wider than sock_diag's inodes
  for (unsigned threads : {1u, 2u, 3u}) {
    SCOPED_TRACE(threads);
    HostSnapshot after, before;
    after.sockets = before.sockets = {WithInode(7001), WithInode(7002), WithInode(0), WithInode(7003)};
    OwnerWalkOptions opt;
    opt.proc_root = root_;
    opt.stop_when_all_found = false;
    opt.threads = threads;
    auto walked = ResolveOwners(after, opt);
    ASSERT_TRUE(walked) << walked.error().message;

    auto started = ProcWalk::Start(opt);
    ASSERT_TRUE(started) << started.error().message;
    WalkRecords records = (*started)->Finish();
    EXPECT_EQ(records.stats.threads, threads);
    EXPECT_EQ(records.fds.size(), 4u);  // every socket fd whose inode fits 32 bits
    auto collected = ResolveOwners(before, opt, std::move(records));
    ASSERT_TRUE(collected) << collected.error().message;

    EXPECT_EQ(collected->via, OwnerWalk::kProc);
    EXPECT_EQ(collected->processes, walked->processes);
    EXPECT_EQ(collected->fds, walked->fds);
    EXPECT_FALSE(collected->stopped_early);
    ASSERT_EQ(before.owners.size(), 3u);
    ASSERT_EQ(before.owners.size(), after.owners.size());
    for (std::size_t i = 0; i < before.owners.size(); ++i) {
      EXPECT_EQ(before.owners[i].socket, after.owners[i].socket);
      EXPECT_EQ(before.owners[i].process, after.owners[i].process);
      EXPECT_EQ(before.owners[i].fd, after.owners[i].fd);
    }
    ASSERT_EQ(before.processes.size(), 2u);
    EXPECT_EQ(before.processes[1].pid, 101);
    EXPECT_EQ(before.processes[1].command, "nginx");
    EXPECT_FALSE(before.partial);
  }
}

TEST_F(FakeProc, AWalkCollectedBeforeTheSocketsSaysWhatAnUnreadableProcessHides) {
  AddProcess(100, "a", {{3, "socket:[1]"}});
  fs::create_directories(root_ + "/301");
  std::ofstream(root_ + "/301/fd") << "not a directory";
  OwnerWalkOptions opt;
  opt.proc_root = root_;
  auto started = ProcWalk::Start(opt);
  ASSERT_TRUE(started) << started.error().message;
  HostSnapshot snap;
  snap.sockets = {WithInode(1), WithInode(2), WithInode(3)};
  auto stats = ResolveOwners(snap, opt, (*started)->Finish());
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->unreadable, 1u);
  EXPECT_TRUE(snap.partial);
  ASSERT_EQ(snap.warnings.size(), 1u);
  EXPECT_THAT(snap.warnings[0], HasSubstr("so 2 sockets show no owner"));
}

TEST(ProcOwners, AWalkThatCannotListProcFailsToStart) {
  OwnerWalkOptions opt;
  opt.proc_root = "/nonexistent-proc";
  auto r = ProcWalk::Start(opt);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("/nonexistent-proc"));
}

TEST(ProcOwners, MissingProcRootIsAnError) {
  HostSnapshot snap;
  OwnerWalkOptions opt;
  opt.proc_root = "/nonexistent-proc";
  auto r = ResolveOwners(snap, opt);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("/nonexistent-proc"));
}

TEST(ProcOwners, FindsThisProcessAndAChildOnTheRealProc) {
  // A listener in this process and one in a child; both must be attributed by pid.
  int mine = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(mine, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(mine, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(mine, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(mine, reinterpret_cast<sockaddr*>(&a), &len);
  const Port my_port = ntohs(a.sin_port);

  auto child = test::Child::Fork([](int ready) {
    int s = ::socket(AF_INET6, SOCK_DGRAM, 0);
    sockaddr_in6 b{};
    b.sin6_family = AF_INET6;
    b.sin6_addr = in6addr_loopback;
    ::bind(s, reinterpret_cast<sockaddr*>(&b), sizeof b);
    socklen_t l = sizeof b;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&b), &l);
    std::uint16_t port = ntohs(b.sin6_port);
    (void)!::write(ready, &port, 0);
    (void)!::write(ready, "x", 1);
  });
  ASSERT_TRUE(child.WaitReady());

  ScanOptions opt;
  auto snap = ScanHost(opt);
  ASSERT_TRUE(snap) << snap.error().message;
  bool found_mine = false, found_child = false;
  for (const SocketOwner& o : snap->owners) {
    const SocketRecord& s = snap->sockets[o.socket];
    const ProcessInfo& p = snap->processes[o.process];
    if (s.proto == Protocol::kTcp && s.local_port == my_port && p.pid == ::getpid()) found_mine = true;
    if (s.proto == Protocol::kUdp && snap->Local(s).family == 6 && p.pid == child.pid()) found_child = true;
  }
  EXPECT_TRUE(found_mine);
  EXPECT_TRUE(found_child);
  ::close(mine);
}

// Every state dumped with the /proc walk: the walk runs beside the dump (ScanHost) and still
// finds both ends of a loopback connection in this process.
TEST(ProcOwners, EveryStateWithTheProcWalkBesideTheDumpFindsBothEnds) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len), 0);
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  int server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(server, 0);
  sockaddr_in c{};
  len = sizeof c;
  ASSERT_EQ(::getsockname(client, reinterpret_cast<sockaddr*>(&c), &len), 0);

  ScanOptions opt;
  opt.all_states = true;
  opt.walk.via = OwnerWalk::kProc;
  ScanStats stats;
  auto snap = ScanHost(opt, &stats);
  ASSERT_TRUE(snap) << snap.error().message;
  EXPECT_TRUE(stats.owners_beside_dump);
  EXPECT_EQ(snap->owners_walk, OwnerWalk::kProc);
  std::vector<int> fds_found;
  for (const SocketOwner& o : snap->owners) {
    const SocketRecord& s = snap->sockets[o.socket];
    if (snap->processes[o.process].pid != ::getpid() || s.proto != Protocol::kTcp) continue;
    if (s.local_port == ntohs(a.sin_port) && s.remote_port == 0) fds_found.push_back(o.fd);
    if (s.local_port == ntohs(c.sin_port)) fds_found.push_back(o.fd);  // the client's end
    if (s.local_port == ntohs(a.sin_port) && s.remote_port == ntohs(c.sin_port)) fds_found.push_back(o.fd);
  }
  std::sort(fds_found.begin(), fds_found.end());
  std::vector<int> want{listener, client, server};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(fds_found, want);
  ::close(server);
  ::close(client);
  ::close(listener);
}

// A loopback listener on `port` (0: the kernel's choice); its port, or 0 when taken.
Port ListenOn(int& fd, Port port) {
  fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 1) != 0) {
    if (fd >= 0) ::close(fd);
    fd = -1;
    return 0;
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// A large namespace's TCP dump runs in two halves by local port (a bytecode filter the
// kernel runs): each half holds only its ports, and the two together are the whole dump, no
// socket twice.
TEST(SplitDump, TheHalvesHoldTheirPortsAndTogetherEverySocketOnce) {
  int low_fd = -1, high_fd = -1;
  Port low = 0;
  for (Port p = 23456; p < 23556 && low == 0; ++p) low = ListenOn(low_fd, p);
  ASSERT_NE(low, 0) << "no free port in 23456-23555";
  Port high = 0;
  for (Port p = 45678; p < 45778 && high == 0; ++p) high = ListenOn(high_fd, p);
  ASSERT_NE(high, 0) << "no free port in 45678-45777";

  auto diag = SockDiag::Open();
  ASSERT_TRUE(diag) << diag.error().message;
  for (const auto& [range, mine, other] : {std::tuple{PortRange{0, 32767}, low, high},
                                           std::tuple{PortRange{32768, 65535}, high, low}}) {
    HostSnapshot half;
    auto r = diag->Dump(AF_INET, Protocol::kTcp, kAllStates, half, nullptr, range);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->done);
    bool found = false;
    for (const SocketRecord& s : half.sockets) {
      EXPECT_TRUE(range.contains(s.local_port)) << s.local_port << " outside " << range.low << "-" << range.high;
      found |= s.local_port == mine && s.state == SocketState::kListen;
      EXPECT_NE(s.local_port, other);
    }
    EXPECT_TRUE(found) << mine;
  }

  ScanOptions opt;
  opt.all_states = true;
  opt.udp = false;
  opt.resolve_owners = false;
  opt.split_dump_at = 0;  // split whatever the count
  auto snap = ScanHost(opt);
  ASSERT_TRUE(snap) << snap.error().message;
  std::set<std::tuple<Port, Port, std::uint32_t, std::uint32_t, std::uint32_t>> seen;
  bool found_low = false, found_high = false;
  for (const SocketRecord& s : snap->sockets) {
    const bool fresh = seen.emplace(s.local_port, s.remote_port, s.local, s.remote, s.inode).second;
    EXPECT_TRUE(fresh || s.inode == 0) << "twice: port " << s.local_port;  // TIME-WAIT has no inode
    found_low |= s.local_port == low && s.state == SocketState::kListen;
    found_high |= s.local_port == high && s.state == SocketState::kListen;
  }
  EXPECT_TRUE(found_low);
  EXPECT_TRUE(found_high);
  ::close(low_fd);
  ::close(high_fd);
}

// The socket's inode (what sock_diag reports as idiag_inode).
std::uint32_t InodeOf(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<std::uint32_t>(st.st_ino) : 0;
}

// Both TCP families in one request (the kernel's older TCPDIAG_GETSOCK: one walk of its
// tables, where a request by family walks every socket to find its family's): exactly what the
// two requests by family hold. Compared on this test's own sockets (other tests may open and
// close sockets in the namespace meanwhile).
TEST(SockDiagBothFamilies, OneDumpHoldsExactlyWhatTheTwoByFamilyHold) {
  int v4 = -1;
  const Port v4_port = ListenOn(v4, 0);
  ASSERT_NE(v4_port, 0);
  const int v6 = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(v6, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  ASSERT_EQ(::bind(v6, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
  ASSERT_EQ(::listen(v6, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(v6, reinterpret_cast<sockaddr*>(&a), &len);
  const int client = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
  const int served = ::accept4(v6, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(served, 0);
  const std::set<std::uint32_t> mine{InodeOf(v4), InodeOf(v6), InodeOf(client), InodeOf(served)};
  ASSERT_EQ(mine.size(), 4u);

  using Key = std::tuple<std::uint32_t, int, std::string, Port, std::string, Port, SocketState>;
  const auto keys = [&](const HostSnapshot& snap) {
    std::set<Key> out;
    for (const SocketRecord& s : snap.sockets) {
      if (!mine.contains(s.inode)) continue;
      out.emplace(s.inode, snap.Local(s).family, snap.Local(s).Format(), s.local_port,
                  snap.Remote(s).Format(), s.remote_port, s.state);
    }
    return out;
  };
  auto diag = SockDiag::Open();
  ASSERT_TRUE(diag) << diag.error().message;
  HostSnapshot both, by4, by6;
  for (auto [family, snap] : {std::pair{AF_UNSPEC, &both}, std::pair{AF_INET, &by4}, std::pair{AF_INET6, &by6}}) {
    auto r = diag->Dump(family, Protocol::kTcp, kAllStates, *snap);
    ASSERT_TRUE(r) << family << ": " << r.error().message;
    EXPECT_TRUE(r->done);
  }
  std::set<Key> expected = keys(by4);
  expected.merge(keys(by6));
  const std::set<Key> got = keys(both);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(got.size(), 4u);  // the v4 listener, the v6 listener and both ends of the v6 connection
  std::set<int> families;
  for (const Key& k : got) families.insert(std::get<1>(k));
  EXPECT_EQ(families, (std::set<int>{4, 6}));
  for (int fd : {v4, v6, client, served}) ::close(fd);
}

// A large walk's owners are sorted on two threads (the sockets' lower half, the upper half):
// by (socket, process, fd), every hit once, whatever order the walk found them in.
TEST(ProcOwners, ALargeWalksOwnersAreInSocketOrder) {
  constexpr std::uint32_t kSockets = 100000;
  HostSnapshot snap;
  for (std::uint32_t i = 0; i < kSockets; ++i) snap.sockets.push_back(WithInode(1000 + i));
  WalkRecords walk;
  for (std::uint32_t i = 0; i < kSockets; ++i) {
    walk.fds.push_back({1000 + (i * 7919u) % kSockets, static_cast<std::uint32_t>(::getpid()), static_cast<int>(i)});
  }
  for (std::uint32_t i = 0; i < kSockets; i += 10) {  // a second owner for every tenth socket
    walk.fds.push_back({1000 + i, static_cast<std::uint32_t>(::getppid()), 3});
  }
  walk.stats.via = OwnerWalk::kBpf;
  OwnerWalkOptions opt;
  auto r = ResolveOwners(snap, opt, std::move(walk));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(snap.owners.size(), kSockets + kSockets / 10);
  ASSERT_EQ(snap.processes.size(), 2u);
  EXPECT_TRUE(std::is_sorted(snap.owners.begin(), snap.owners.end(), [](const SocketOwner& a, const SocketOwner& b) {
    return std::tie(a.socket, a.process, a.fd) < std::tie(b.socket, b.process, b.fd);
  }));
  std::vector<int> owners(kSockets);
  for (const SocketOwner& o : snap.owners) ++owners[o.socket];
  for (std::uint32_t i = 0; i < kSockets; ++i) ASSERT_EQ(owners[i], i % 10 == 0 ? 2 : 1) << i;
}

// A large snapshot is sorted on two threads, cut at its middle (protocol, port): the same order
// as one sort, whether the ports spread or all sockets share one port (nothing to cut).
TEST(SortSockets, TwoThreadsGiveTheOneThreadOrder) {
  std::mt19937 rng(42);
  for (const bool one_port : {false, true}) {
    SCOPED_TRACE(one_port);
    HostSnapshot snap;
    for (std::uint32_t i = 0; i < 150000; ++i) {
      SocketRecord s;
      s.proto = rng() % 4 == 0 ? Protocol::kUdp : Protocol::kTcp;
      s.local_port = one_port ? 443 : static_cast<Port>(rng() % 70000 % 65536);
      s.remote_port = static_cast<Port>(rng());
      s.inode = i;
      IpAddress local, remote;
      local.family = remote.family = 4;
      local.bytes[0] = 127;
      local.bytes[3] = static_cast<std::uint8_t>(rng() % 3);
      remote.bytes[0] = 10;
      remote.bytes[2] = static_cast<std::uint8_t>(rng());
      remote.bytes[3] = static_cast<std::uint8_t>(rng());
      snap.SetAddresses(s, local, remote);
      snap.sockets.push_back(s);
    }
    // The documented order (scanner.h), one thread; the inodes are distinct: a total order.
    std::vector<SocketRecord> expected = snap.sockets;
    const AddressTable& addr = snap.addresses;
    std::sort(expected.begin(), expected.end(), [&](const SocketRecord& a, const SocketRecord& b) {
      return std::tuple(a.proto, a.local_port, addr[a.local], addr[a.remote], a.remote_port, a.inode) <
             std::tuple(b.proto, b.local_port, addr[b.local], addr[b.remote], b.remote_port, b.inode);
    });
    SortSockets(snap);
    ASSERT_EQ(snap.sockets.size(), expected.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) differ += snap.sockets[i].inode != expected[i].inode;
    EXPECT_EQ(differ, 0u);
  }
}

}  // namespace
}  // namespace berth

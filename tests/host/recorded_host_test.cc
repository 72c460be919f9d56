#include "host/recorded_host.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/unique_fd.h"
#include "emit/scan_render.h"
#include "host/host_recorder.h"
#include "host/live_host.h"

namespace berth {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const std::string kDump1 = std::string(BERTH_FIXTURES) + "/hosts/dump1";

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-rec-XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const ProcessInfo* OwnerOf(const HostSnapshot& s, std::uint64_t inode, int* fd = nullptr) {
  for (const SocketOwner& o : s.owners) {
    if (s.sockets[o.socket].inode != inode) continue;
    if (fd) *fd = o.fd;
    return &s.processes[o.process];
  }
  return nullptr;
}

TEST(RecordedHost, ReplaysTheDumpFixtureWithOwners) {
  HostQuery q;
  q.all_states = true;
  auto snap = RecordedHost(kDump1).Take(q);
  ASSERT_TRUE(snap) << snap.error().message;
  EXPECT_EQ(snap->hostname, "fixture-host");
  EXPECT_EQ(snap->config.ephemeral, (PortRange{32768, 60999}));
  EXPECT_EQ(snap->config.reserved.Format(), "40000,45000-45010");
  EXPECT_FALSE(snap->partial) << (snap->warnings.empty() ? "" : snap->warnings[0]);
  ASSERT_EQ(snap->sockets.size(), 5u);
  // Sorted as ScanHost sorts: tcp/22 (0.0.0.0 LISTEN, 10.0.0.1 ESTAB, ::), tcp/5432, udp/53.
  EXPECT_EQ(snap->sockets[0].state, SocketState::kListen);
  const SocketRecord& estab = snap->sockets[1];
  EXPECT_EQ(estab.state, SocketState::kEstablished);
  EXPECT_EQ(FormatEndpoint(snap->Remote(estab), estab.remote_port), "10.0.0.9:51000");
  const SocketRecord& v6 = snap->sockets[2];
  EXPECT_EQ(snap->Local(v6).family, 6);
  EXPECT_TRUE(v6.v6only);
  EXPECT_EQ(snap->InterfaceName(v6), "eth0");
  EXPECT_EQ(snap->sockets[3].local_port, 5432);
  EXPECT_EQ(snap->sockets[3].wqueue, 244u);
  EXPECT_EQ(snap->sockets[4].proto, Protocol::kUdp);
  EXPECT_EQ(snap->sockets[4].state, SocketState::kClose);

  ASSERT_TRUE(snap->owners_resolved);
  ASSERT_EQ(snap->processes.size(), 3u);
  EXPECT_EQ(snap->owners.size(), 4u);
  int fd = 0;
  const ProcessInfo* sshd = OwnerOf(*snap, 1004, &fd);
  ASSERT_NE(sshd, nullptr);
  EXPECT_EQ(fd, 4);
  EXPECT_EQ(sshd->command, "sshd");
  EXPECT_EQ(sshd->unit, "ssh.service");
  EXPECT_EQ(sshd->user, "root");
  const ProcessInfo* pg = OwnerOf(*snap, 1002);
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(pg->uid, 105u);  // from the recorded status, not from who owns the files
  EXPECT_EQ(pg->user, "postgres");
  std::string docker_id;
  for (int i = 0; i < 32; ++i) docker_id += "ab";
  EXPECT_EQ(pg->container, docker_id);
  const ProcessInfo* dns = OwnerOf(*snap, 2001);
  ASSERT_NE(dns, nullptr);
  EXPECT_EQ(dns->user, "65534");  // no name recorded for this uid
  EXPECT_EQ(OwnerOf(*snap, 1003), nullptr);
}

TEST(RecordedHost, TakeFiltersToTheQuery) {
  RecordedHost host(kDump1);
  auto servers = host.Take(HostQuery{});
  ASSERT_TRUE(servers) << servers.error().message;
  EXPECT_EQ(servers->sockets.size(), 4u);  // no ESTAB
  for (const SocketRecord& s : servers->sockets) EXPECT_TRUE(s.is_server());

  HostQuery tcp_only;
  tcp_only.udp = false;
  auto tcp = host.Take(tcp_only);
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->sockets.size(), 3u);
  EXPECT_EQ(tcp->processes.size(), 2u);  // dnsmasq owns only UDP
  EXPECT_EQ(OwnerOf(*tcp, 1002)->command, "postgres");

  HostQuery no_procs;
  no_procs.resolve_owners = false;
  auto bare = host.Take(no_procs);
  ASSERT_TRUE(bare);
  EXPECT_FALSE(bare->owners_resolved);
  EXPECT_TRUE(bare->owners.empty());
  EXPECT_TRUE(bare->processes.empty());
}

TEST(RecordedHost, RecordingWithoutOwnersSaysSo) {
  TempDir tmp;
  fs::copy(kDump1, tmp.path() + "/d", fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  std::ofstream(tmp.path() + "/d/recording", std::ios::trunc)
      << "berth.host-dump/1\nall_states false\ntcp true\nudp true\nowners false\n";
  HostQuery all;
  all.all_states = true;
  auto snap = RecordedHost(tmp.path() + "/d").Take(all);
  ASSERT_TRUE(snap) << snap.error().message;
  EXPECT_FALSE(snap->owners_resolved);
  EXPECT_TRUE(snap->owners.empty());
  EXPECT_TRUE(snap->partial);  // all states asked of a servers-only recording
  EXPECT_THAT(snap->warnings.back(), HasSubstr("only servers"));
}

TEST(RecordedHost, RefusesWhatIsNotARecordingWithoutBlocking) {
  TempDir tmp;
  const std::string fifo = tmp.path() + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = RecordedHost(fifo).Take(HostQuery{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message, HasSubstr("FIFO"));

  r = RecordedHost(tmp.path() + "/absent").Take(HostQuery{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);

  fs::create_directory(tmp.path() + "/empty");
  r = RecordedHost(tmp.path() + "/empty").Take(HostQuery{});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("berth.host-dump/1"));

  // Over the cap: a sparse file, so nothing is written to disk.
  const std::string big = tmp.path() + "/big.json";
  { std::ofstream(big) << ""; }
  fs::resize_file(big, (std::uintmax_t{256} << 20) + 1);
  r = RecordedHost(big).Take(HostQuery{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kMalformed);
  EXPECT_THAT(r.error().message, HasSubstr("more than"));
}

TEST(RecordedHost, DumpWithAFifoInsideIsRefused) {
  TempDir tmp;
  const std::string d = tmp.path() + "/d";
  fs::copy(kDump1, d, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  fs::remove(d + "/proc/812/comm");
  ASSERT_EQ(::mkfifo((d + "/proc/812/comm").c_str(), 0600), 0);
  auto r = RecordedHost(d).Take(HostQuery{});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("expected a regular file"));
}

TEST(RecordedHost, ReadsAScanJsonFile) {
  auto dump = RecordedHost(kDump1).Take(HostQuery{});
  ASSERT_TRUE(dump) << dump.error().message;
  ScanView view;
  view.snap = &*dump;
  std::string text;
  RenderScanJson(view, [&](std::string_view chunk) { text += chunk; });
  TempDir tmp;
  std::ofstream(tmp.path() + "/scan.json") << text;
  auto snap = RecordedHost(tmp.path() + "/scan.json").Take(HostQuery{});
  ASSERT_TRUE(snap) << snap.error().message;
  EXPECT_EQ(snap->sockets.size(), dump->sockets.size());
  EXPECT_EQ(snap->owners.size(), dump->owners.size());
  EXPECT_EQ(OwnerOf(*snap, 1002)->user, "postgres");
  EXPECT_EQ(OwnerOf(*snap, 1004)->unit, "ssh.service");
}

// Sockets this test opens on 127.0.0.1, so the comparison depends on no other process.
struct OwnSockets {
  std::vector<UniqueFd> fds;
  std::vector<std::uint64_t> inodes;

  bool Open(int type, bool listen) {
    UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
    if (listen && ::listen(fd.get(), 16) != 0) return false;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return false;
    inodes.push_back(st.st_ino);
    fds.push_back(std::move(fd));
    return true;
  }
};

TEST(RecordedHost, RecordThenReplayEqualsALiveTake) {
  OwnSockets own;
  ASSERT_TRUE(own.Open(SOCK_STREAM, true));
  ASSERT_TRUE(own.Open(SOCK_STREAM, true));
  ASSERT_TRUE(own.Open(SOCK_DGRAM, false));
  TempDir tmp;
  const std::string dir = tmp.path() + "/rec";
  const HostQuery query;
  auto stats = RecordHost(dir, LiveHost::Options{}, query);
  ASSERT_TRUE(stats) << stats.error().message;
  auto live = LiveHost().Take(query);
  ASSERT_TRUE(live) << live.error().message;
  auto replay = RecordedHost(dir).Take(query);
  ASSERT_TRUE(replay) << replay.error().message;
  EXPECT_EQ(replay->hostname, live->hostname);
  EXPECT_EQ(replay->config.ephemeral, live->config.ephemeral);
  EXPECT_EQ(replay->config.reserved, live->config.reserved);
  EXPECT_TRUE(replay->owners_resolved);

  auto find = [](const HostSnapshot& s, std::uint64_t inode) -> const SocketRecord* {
    for (const SocketRecord& r : s.sockets) {
      if (r.inode == inode) return &r;
    }
    return nullptr;
  };
  for (std::uint64_t inode : own.inodes) {
    const SocketRecord* a = find(*live, inode);
    const SocketRecord* b = find(*replay, inode);
    ASSERT_NE(a, nullptr) << inode;
    ASSERT_NE(b, nullptr) << inode;
    EXPECT_EQ(std::make_tuple(a->proto, a->state, live->Local(*a), a->local_port, live->Remote(*a),
                              a->remote_port, live->Uid(*a), live->InterfaceName(*a), a->rqueue, a->wqueue),
              std::make_tuple(b->proto, b->state, replay->Local(*b), b->local_port, replay->Remote(*b),
                              b->remote_port, replay->Uid(*b), replay->InterfaceName(*b), b->rqueue, b->wqueue));
    int fd_live = -1, fd_replay = -2;
    const ProcessInfo* pa = OwnerOf(*live, inode, &fd_live);
    const ProcessInfo* pb = OwnerOf(*replay, inode, &fd_replay);
    ASSERT_NE(pa, nullptr);
    ASSERT_NE(pb, nullptr);
    EXPECT_EQ(pa->pid, ::getpid());
    EXPECT_EQ(fd_live, fd_replay);
    EXPECT_EQ(std::tie(pa->pid, pa->uid, pa->user, pa->command, pa->unit, pa->container),
              std::tie(pb->pid, pb->uid, pb->user, pb->command, pb->unit, pb->container));
  }

  auto again = RecordHost(dir, LiveHost::Options{}, query);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
}

}  // namespace
}  // namespace berth

#include "host/proc_parse.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(SocketLink, ParsesOnlySocketLinks) {
  EXPECT_EQ(ParseSocketLink("socket:[12345]"), 12345u);
  EXPECT_EQ(ParseSocketLink("socket:[4294967296]"), 4294967296u);
  for (const char* no : {"pipe:[12]", "/dev/null", "socket:[]", "socket:[12", "socket:[1x]",
                         "socket:[99999999999999999999999]", "anon_inode:[eventfd]", ""}) {
    EXPECT_FALSE(ParseSocketLink(no)) << no;
  }
}

TEST(Cgroup, SystemdServiceOnCgroupV2) {
  auto c = ParseCgroup("0::/system.slice/ssh.service\n");
  EXPECT_EQ(c.unit, "ssh.service");
  EXPECT_EQ(c.container, "");
}

TEST(Cgroup, UserSessionAndUserService) {
  EXPECT_EQ(ParseCgroup("0::/user.slice/user-1000.slice/session-3.scope\n").unit, "session-3.scope");
  EXPECT_EQ(ParseCgroup("0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
                        "pipewire.service\n").unit,
            "pipewire.service");
}

TEST(Cgroup, Containers) {
  const std::string id(64, 'a');
  EXPECT_EQ(ParseCgroup("0::/system.slice/docker-" + id + ".scope\n").container, id);
  EXPECT_EQ(ParseCgroup("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
                        "cri-containerd-" + id + ".scope\n").container,
            id);
  EXPECT_EQ(ParseCgroup("0::/machine.slice/libpod-" + id + ".scope/container\n").container, id);
  EXPECT_EQ(ParseCgroup("12:pids:/docker/" + id + "\n1:name=systemd:/docker/" + id + "\n").container, id);
  EXPECT_EQ(ParseCgroup("0::/lxc.payload.web1/system.slice/nginx.service\n").container, "lxc:web1");
  EXPECT_EQ(ParseCgroup("0::/lxc.payload.web1/system.slice/nginx.service\n").unit, "nginx.service");
}

TEST(Cgroup, V1UsesNameSystemd) {
  auto c = ParseCgroup("11:memory:/user.slice\n1:name=systemd:/system.slice/cron.service\n");
  EXPECT_EQ(c.unit, "cron.service");
}

TEST(Cgroup, GarbageYieldsNothing) {
  EXPECT_EQ(ParseCgroup("").unit, "");
  EXPECT_EQ(ParseCgroup("no colons here\n::\n0:").unit, "");
  EXPECT_EQ(ParseCgroup("0::/docker-xyz.scope").container, "");
}

// A thread's /proc/TID/status as Linux writes it (trimmed): Tgid names its process.
constexpr const char* kThreadStatus =
    "Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\nPid:\t4250\n"
    "PPid:\t4200\nTracerPid:\t0\nUid:\t0\t0\t0\t0\n";

TEST(StatusTgid, TheThreadGroupOfAThread) {
  EXPECT_EQ(ParseStatusTgid(kThreadStatus), 4242);
  EXPECT_EQ(ParseStatusTgid("Tgid:\t1"), 1) << "no newline at the end";
  EXPECT_EQ(ParseStatusTgid("Tgid:  2147483647\n"), 2147483647) << "spaces, the largest pid_t";
}

TEST(StatusTgid, HostileTextYieldsNothing) {
  for (const char* no : {
           "", "\n", "Name:\tx\nPid:\t12\n",                 // no Tgid line
           "Tgid:\n", "Tgid:\t\n", "Tgid:", "Tgid:\t \t",    // no number
           "Tgid:\t0\n", "Tgid:\t-5\n", "Tgid:\t+5\n",       // not a pid
           "Tgid:\t2147483648\n", "Tgid:\t99999999999\n",    // past pid_t
           "Tgid:\t00000000012\n",                           // eleven digits
           "Tgid:\t12 \n", "Tgid:\t12\r\n", "Tgid:\t12x\n",  // anything after the number
           "Tgid:\t0x10\n", "Tgid:\t1 2\n",
           "Tgid:\t12\nTgid:\t13\n", "Tgid:\t12\nTgid:\t12\n",  // twice, even the same
           " Tgid:\t12\n", "tgid:\t12\n", "Name:\tTgid:\t12\n",  // not at a line's start
           "TgidX:\t12\n", "Tgid\t12\n"}) {
    EXPECT_FALSE(ParseStatusTgid(no)) << "'" << no << "'";
  }
  // A Tgid line after other lines named Tgid-something is still found, once.
  EXPECT_EQ(ParseStatusTgid("Name:\tTgid: 9\nTgid:\t7\n"), 7);
  const std::string nul("Tgid:\t1\0002\n", 10);
  EXPECT_FALSE(ParseStatusTgid(nul)) << "a NUL inside the number";
}

}  // namespace
}  // namespace berth

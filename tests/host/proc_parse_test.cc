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

}  // namespace
}  // namespace berth

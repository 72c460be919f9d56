#include "core/fix_commands.h"

#include <gtest/gtest.h>

#include "core/service.h"

namespace berth {
namespace {

TEST(FixCommands, SuggestedNamesAreValidServiceNames) {
  EXPECT_EQ(SuggestServiceName("nginx"), "nginx");
  EXPECT_EQ(SuggestServiceName("Adopt_Me.Srv"), "adopt-me-srv");
  EXPECT_EQ(SuggestServiceName("rpc.mountd"), "rpc-mountd");
  EXPECT_EQ(SuggestServiceName("kworker/0:1H"), "kworker-0-1h");
  EXPECT_EQ(SuggestServiceName("3proxy"), "proxy");
  EXPECT_EQ(SuggestServiceName("--"), "");
  EXPECT_EQ(SuggestServiceName(""), "");
  EXPECT_EQ(SuggestServiceName("1234"), "");
  EXPECT_EQ(SuggestServiceName(std::string(100, 'a')).size(), 63u);
  for (std::string_view comm : {"Adopt_Me.Srv", "a-", "x..y", "systemd-resolve", "\xff\xfeweb",
                                "a-----------------------------------------------------------------b"}) {
    const std::string name = SuggestServiceName(comm);
    if (!name.empty()) {
      EXPECT_TRUE(ValidateServiceName(name)) << comm << " -> " << name;
    }
  }
}

TEST(FixCommands, AdoptCommandCarriesEveryFlagThePortNeeds) {
  EXPECT_EQ(AdoptCommand("python3", 32106, Protocol::kTcp), "berth adopt python3 --port 32106 --proto tcp");
  EXPECT_EQ(AdoptCommand("weird", 8080, Protocol::kTcp),
            "berth adopt weird --port 8080 --proto tcp --allow-iana");
  // An owner berth cannot see gets a name from its port, never a placeholder.
  EXPECT_EQ(AdoptCommand("", 20101, Protocol::kUdp), "berth adopt udp-20101 --port 20101 --proto udp");
  EXPECT_TRUE(ValidateServiceName(PortServiceName(20101, Protocol::kUdp)));
  EXPECT_EQ(ListenerFix("sshd", 22, Protocol::kTcp, {1024, 49151}), "berth group add default --allow 22");
  EXPECT_EQ(ListenerFix("app", 20100, Protocol::kTcp, {1024, 49151}),
            "berth adopt app --port 20100 --proto tcp");
}

TEST(FixCommands, OneProcessOnSeveralPortsGetsOneNamePerPort) {
  HostSnapshot snap;
  auto add = [&](Protocol proto, Port port, std::uint32_t process) {
    SocketRecord s;
    s.proto = proto;
    s.state = proto == Protocol::kTcp ? SocketState::kListen : SocketState::kClose;
    s.local_port = port;
    snap.owners.push_back({static_cast<std::uint32_t>(snap.sockets.size()), process, 3});
    snap.sockets.push_back(s);
  };
  snap.processes = {ProcessInfo{10, 0, "root", "python3", "", ""},
                    ProcessInfo{11, 0, "root", "nginx", "", ""}};
  add(Protocol::kTcp, 20100, 0);
  add(Protocol::kTcp, 20101, 0);
  add(Protocol::kUdp, 20101, 0);
  add(Protocol::kTcp, 8080, 1);
  const ServiceNamer names(snap);
  EXPECT_EQ(names.Suggest("python3", 20100, Protocol::kTcp), "python3-20100");
  EXPECT_EQ(names.Suggest("python3", 20101, Protocol::kTcp), "python3-20101");
  EXPECT_EQ(names.Suggest("python3", 20101, Protocol::kUdp), "python3-20101-udp");
  EXPECT_EQ(names.Suggest("nginx", 8080, Protocol::kTcp), "nginx");
  EXPECT_EQ(names.Suggest("", 9, Protocol::kTcp), "");
}

}  // namespace
}  // namespace berth

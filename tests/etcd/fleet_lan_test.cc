// The fleet's network as tests build it (fleet_lan.h): three host namespaces on one bridge,
// the etcd cluster inside the LAN's namespace. berth on each host reaches the cluster, and
// what one host claims the others see.
#include <gtest/gtest.h>

#include "etcd/etcd_cluster.h"
#include "etcd/fleet_lan.h"

namespace berth {
namespace {

using test::EtcdCluster;
using test::FleetLan;

TEST(FleetLan, EachHostReachesTheClusterOnTheLan) {
  BERTH_REQUIRE_ROOT();
  std::string why;
  auto lan = FleetLan::Create(3, why);
  if (!lan) BERTH_MISSING_PEER(why);
  auto cluster = EtcdCluster::Start(why, &lan->lan(), FleetLan::kLanIp);
  if (!cluster) BERTH_MISSING_PEER(why);
  const std::string url = cluster->UrlHere("/lan");
  for (int i = 0; i < lan->hosts(); ++i) {
    const auto r = lan->host(i).Exec({test::BerthBinary(), "assign", fmt::format("web{}", i),
                                      "--store", url});
    ASSERT_EQ(r.exit_code, 0) << "host " << i << ": " << r.err;
  }
  const auto list = lan->host(2).Exec({test::BerthBinary(), "list", "--json", "--store", url});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (int i = 0; i < lan->hosts(); ++i) {
    EXPECT_NE(list.out.find(fmt::format("\"web{}\"", i)), std::string::npos) << list.out;
  }
  // The host namespaces are not the LAN's: etcd's address is not local there.
  const auto local = lan->host(0).Exec({"ip", "-o", "addr", "show"});
  EXPECT_EQ(local.out.find(fmt::format("inet {}/", FleetLan::kLanIp)), std::string::npos) << local.out;
  EXPECT_NE(local.out.find(fmt::format("inet {}/", FleetLan::HostIp(0))), std::string::npos) << local.out;
}

}  // namespace
}  // namespace berth

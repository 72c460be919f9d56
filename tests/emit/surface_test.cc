#include "emit/surface.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace berth {
namespace {

std::vector<Service> Services() {
  std::vector<Service> out(3);
  out[0].name = "mssql.instance1", out[0].port = 1433, out[0].group = "db";
  out[1].name = "mssql.instance2", out[1].port = 1434, out[1].group = "db";
  out[2].name = "dns", out[2].port = 53, out[2].proto = ServiceProto::kBoth, out[2].group = "net";
  return out;
}

TEST(Surface, WindowsDesignAgainstStatic) {
  SurfaceOptions o;
  o.group = "db";
  o.design = DynamicDesign::kWindows;
  const SurfaceReport r = CompareSurface(Services(), o);
  EXPECT_EQ(r.services, 2u);
  EXPECT_EQ(r.dynamic_design.tcp.Format(), "135,49152-65535");
  EXPECT_EQ(r.dynamic_design.udp.Format(), "1434");
  EXPECT_EQ(r.dynamic_design.count(), 16386u);
  EXPECT_EQ(r.static_design.tcp.Format(), "1433-1434");
  EXPECT_EQ(r.static_design.count(), 2u);
  std::string text;
  RenderSurfaceText(r, [&text](std::string_view s) { text += s; });
  EXPECT_NE(text.find("dynamic TCP: 135,49152-65535"), std::string::npos);
  EXPECT_NE(text.find("opens 2 ports instead of 16386 (8193x fewer)"), std::string::npos);
}

// With the group's RPC block as a range claim, the static design opens the block too.
TEST(Surface, ARangeClaimCountsEveryPortOfItsBlock) {
  std::vector<Service> services = Services();
  Service rpc;
  rpc.name = "rpc.dynamic";
  rpc.port = 5000;
  rpc.size = 256;
  rpc.group = "db";
  services.push_back(rpc);
  SurfaceOptions o;
  o.group = "db";
  o.design = DynamicDesign::kWindows;
  const SurfaceReport r = CompareSurface(services, o);
  EXPECT_EQ(r.static_design.tcp.Format(), "1433-1434,5000-5255");
  EXPECT_EQ(r.static_design.count(), 258u);
}

TEST(Surface, HostDesignWithLiveMappers) {
  SurfaceOptions o;
  o.ephemeral = {32768, 60999};
  o.live_mappers = {kRpcbindTcp, kRpcbindUdp};
  const SurfaceReport r = CompareSurface(Services(), o);
  EXPECT_EQ(r.services, 3u);
  EXPECT_EQ(r.dynamic_design.tcp.Format(), "111,32768-60999");
  EXPECT_EQ(r.dynamic_design.udp.Format(), "111,32768-60999");
  EXPECT_EQ(r.static_design.tcp.Format(), "53,1433-1434");
  EXPECT_EQ(r.static_design.udp.Format(), "53");
  std::string out;
  RenderSurfaceJson(r, [&out](std::string_view s) { out += s; });
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["schema"], "berth.surface/2");
  EXPECT_EQ(j["dynamic"]["count"], 2 * (28232 + 1));
  EXPECT_EQ(j["static"]["tcp"], nlohmann::json::parse("[[53,53],[1433,1434]]"));
  EXPECT_EQ(j["live_mappers"][0]["name"], "rpcbind");
}

}  // namespace
}  // namespace berth

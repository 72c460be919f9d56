#include "emit/firewall.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "emit/render_util.h"

namespace berth {
namespace {

Service Svc(std::string name, ServiceProto proto, Port port, std::string group = "default",
            std::vector<std::string> sources = {}) {
  Service s;
  s.name = std::move(name);
  s.proto = proto;
  s.port = port;
  s.group = std::move(group);
  s.sources = std::move(sources);
  return s;
}

using test::FirewallText;

// Lines that are rules, not comments or blank.
std::vector<std::string> CodeLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    out.push_back(line);
  }
  return out;
}

TEST(PlanFirewall, MergesPortsPerProtocolAndSource) {
  std::vector<Service> s{Svc("a", ServiceProto::kTcp, 1433), Svc("b", ServiceProto::kTcp, 1434),
                         Svc("c", ServiceProto::kBoth, 53),
                         Svc("d", ServiceProto::kTcp, 5432, "default", {"10.1.0.0/16", "::1"}),
                         Svc("e", ServiceProto::kUdp, 9999, "other")};
  FirewallOptions o;
  o.group = "default";
  auto plan = PlanFirewall(s, o);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->services.size(), 4u);
  EXPECT_EQ(plan->any[0].Format(), "53,1433-1434");
  EXPECT_EQ(plan->any[1].Format(), "53");
  EXPECT_EQ(plan->v4_sources[0].at("10.1.0.0/16").Format(), "5432");
  EXPECT_EQ(plan->v6_sources[0].at("::1/128").Format(), "5432");
}

TEST(PlanFirewall, Failures) {
  FirewallOptions o;
  o.group = "none";
  std::vector<Service> s{Svc("a", ServiceProto::kTcp, 1)};
  EXPECT_EQ(PlanFirewall(s, o).error().code, ErrorCode::kNotFound);
  o.group.clear();
  s[0].name = "A;B";
  EXPECT_EQ(PlanFirewall(s, o).error().code, ErrorCode::kInvalidArgument);
  s[0] = Svc("a", ServiceProto::kTcp, 0);
  EXPECT_EQ(PlanFirewall(s, o).error().code, ErrorCode::kInvalidArgument);
  s[0] = Svc("a", ServiceProto::kTcp, 1, "default", {"10.0.0.0/8 . 22"});
  EXPECT_EQ(PlanFirewall(s, o).error().code, ErrorCode::kInvalidArgument);
}

TEST(ParseFirewallFormat, Names) {
  for (auto f : {FirewallFormat::kNft, FirewallFormat::kIptables, FirewallFormat::kIp6tables,
                 FirewallFormat::kFirewalld, FirewallFormat::kUfw, FirewallFormat::kPowershell}) {
    EXPECT_EQ(*ParseFirewallFormat(FirewallFormatName(f)), f);
  }
  EXPECT_FALSE(ParseFirewallFormat("pf"));
}

TEST(RenderNft, RuleCountIndependentOfPortCount) {
  std::vector<Service> few{Svc("a", ServiceProto::kTcp, 1433)};
  std::vector<Service> many;
  for (int i = 0; i < 2000; ++i) {
    many.push_back(Svc("s" + std::to_string(i), i % 3 ? ServiceProto::kTcp : ServiceProto::kBoth,
                       static_cast<Port>(10000 + 2 * i), "default",
                       i % 7 ? std::vector<std::string>{} : std::vector<std::string>{"10.0.0.0/8"}));
  }
  auto rules = [](const std::string& text) {
    auto lines = CodeLines(text);
    return std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
      return l.ends_with(" accept") || l.ends_with(" drop");
    });
  };
  const std::string a = FirewallText(FirewallFormat::kNft, few);
  const std::string b = FirewallText(FirewallFormat::kNft, many);
  EXPECT_EQ(rules(a), rules(b));
  EXPECT_EQ(rules(a), 10);
  EXPECT_NE(a.find("policy drop;"), std::string::npos);
  EXPECT_NE(b.find("10.0.0.0/8 . 10000"), std::string::npos);
  EXPECT_NE(a.find("table inet berth\ndelete table inet berth\n"), std::string::npos);
}

TEST(RenderNft, PolicyAccept) {
  FirewallOptions o;
  o.policy = FirewallPolicy::kAccept;
  EXPECT_NE(FirewallText(FirewallFormat::kNft, {Svc("a", ServiceProto::kTcp, 1)}, o).find("policy accept;"),
            std::string::npos);
}

TEST(MultiportBatches, FifteenSlotsARangeTakesTwo) {
  PortSet s;
  for (Port p = 1; p <= 20; ++p) s.Add(static_cast<Port>(p * 2));
  auto b = MultiportBatches(s);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0], "2,4,6,8,10,12,14,16,18,20,22,24,26,28,30");
  PortSet r{{100, 200}, {300, 300}};
  EXPECT_EQ(MultiportBatches(r), std::vector<std::string>{"100:200,300"});
  PortSet ranges;
  for (Port p = 0; p < 8; ++p) ranges.Add(PortRange{static_cast<Port>(1000 + p * 10), static_cast<Port>(1001 + p * 10)});
  b = MultiportBatches(ranges);
  ASSERT_EQ(b.size(), 2u);  // 7 ranges (14 slots), then 1
}

TEST(RenderIptables, BatchesAndFamilies) {
  std::vector<Service> s{Svc("a", ServiceProto::kTcp, 22), Svc("b", ServiceProto::kUdp, 53),
                         Svc("c", ServiceProto::kTcp, 5432, "default", {"10.0.0.0/8", "2001:db8::/32"})};
  const std::string v4 = FirewallText(FirewallFormat::kIptables, s);
  const std::string v6 = FirewallText(FirewallFormat::kIp6tables, s);
  EXPECT_NE(v4.find("-A BERTH-INPUT -p tcp -m multiport --dports 22 "), std::string::npos);
  EXPECT_NE(v4.find("-A BERTH-INPUT -s 10.0.0.0/8 -p tcp -m multiport --dports 5432 "), std::string::npos);
  EXPECT_EQ(v4.find("-s 2001:db8"), std::string::npos);
  EXPECT_NE(v6.find("-s 2001:db8::/32 -p tcp"), std::string::npos);
  EXPECT_NE(v6.find("-p ipv6-icmp"), std::string::npos);
  EXPECT_TRUE(v4.ends_with("COMMIT\n"));
  // Only berth's chain and its jump: INPUT's policy and every other chain are left alone.
  EXPECT_EQ(v4.find(":INPUT"), std::string::npos);
  EXPECT_EQ(v4.find(":FORWARD"), std::string::npos);
  EXPECT_NE(v4.find("*filter\n:BERTH-INPUT - [0:0]\n"), std::string::npos);
  EXPECT_TRUE(v4.ends_with("-A BERTH-INPUT -j DROP\n-I INPUT 1 -j BERTH-INPUT\nCOMMIT\n")) << v4;
  FirewallOptions accept;
  accept.policy = FirewallPolicy::kAccept;
  EXPECT_EQ(FirewallText(FirewallFormat::kIptables, s, accept).find("-j DROP\n-I"), std::string::npos);
}

TEST(RenderUfwAndPowershell, Shapes) {
  std::vector<Service> s{Svc("a", ServiceProto::kBoth, 1434, "db", {"192.0.2.0/24"})};
  const std::string ufw = FirewallText(FirewallFormat::kUfw, s);
  EXPECT_NE(ufw.find("ufw allow proto udp from 192.0.2.0/24 to any port 1434 comment 'berth:all'"),
            std::string::npos);
  EXPECT_NE(ufw.find("ufw default deny incoming"), std::string::npos);
  const std::string ps = FirewallText(FirewallFormat::kPowershell, s);
  EXPECT_NE(ps.find("-Direction Inbound -Action Allow -Protocol UDP -LocalPort 1434 "
                    "-RemoteAddress '192.0.2.0/24'"),
            std::string::npos);
  EXPECT_NE(ps.find("Get-NetFirewallRule -Group $group"), std::string::npos);
}

TEST(RenderFirewalld, ServiceFilesAndZone) {
  std::vector<Service> s{Svc("mssql.instance1", ServiceProto::kTcp, 1433)};
  FirewallOptions o;
  o.zone = "internal";
  const std::string out = FirewallText(FirewallFormat::kFirewalld, s, o);
  EXPECT_NE(out.find("berth-mssql_instance1.xml"), std::string::npos);
  EXPECT_NE(out.find("<port protocol=\"tcp\" port=\"1433\"/>"), std::string::npos);
  EXPECT_NE(out.find("fw --zone=internal --add-service=berth-mssql_instance1"), std::string::npos);
  EXPECT_NE(out.find("--set-target=DROP"), std::string::npos);
}

// A group's allow list (SSH, RDP) is opened in every format, for TCP and UDP: without it a
// default-drop ruleset locks the operator out.
TEST(Firewall, GroupAllowListIsOpenInEveryFormat) {
  const std::vector<Service> services{Svc("app", ServiceProto::kTcp, 20001)};
  FirewallOptions o;
  o.allow = PortSet{{22, 22}, {3389, 3389}};
  const std::map<FirewallFormat, std::vector<std::string>> expected{
      {FirewallFormat::kNft, {"elements = { 22, 3389, 20001 }", "elements = { 22, 3389 }"}},
      {FirewallFormat::kIptables, {"-p tcp -m multiport --dports 22,3389,20001 ",
                                   "-p udp -m multiport --dports 22,3389 "}},
      {FirewallFormat::kIp6tables, {"-p tcp -m multiport --dports 22,3389,20001 ",
                                    "-p udp -m multiport --dports 22,3389 "}},
      {FirewallFormat::kFirewalld, {"<port protocol=\"tcp\" port=\"22\"/>",
                                    "<port protocol=\"udp\" port=\"3389\"/>",
                                    "--add-service=berth-_allow"}},
      {FirewallFormat::kUfw, {"ufw allow proto tcp from any to any port 22,3389,20001 ",
                              "ufw allow proto udp from any to any port 22,3389 "}},
      {FirewallFormat::kPowershell, {"-Protocol TCP -LocalPort '22','3389' ",
                                     "-Protocol UDP -LocalPort '22','3389' "}},
  };
  for (const auto& [format, needles] : expected) {
    const std::string text = FirewallText(format, services, o);
    for (const std::string& n : needles) {
      EXPECT_NE(text.find(n), std::string::npos) << FirewallFormatName(format) << ": " << n
                                                 << "\n" << text;
    }
    EXPECT_NE(text.find("allow=22,3389"), std::string::npos) << FirewallFormatName(format);
  }
}

// A range claim (berth assign rpc.dynamic --size 256) opens its whole block, as one range
// in each format's own syntax, next to single ports.
TEST(Firewall, EveryFormatOpensARangeClaimAsOneRange) {
  std::vector<Service> services{Svc("rpc.dynamic", ServiceProto::kBoth, 49152),
                                Svc("web", ServiceProto::kTcp, 8080)};
  services[0].size = 256;
  auto plan = PlanFirewall(services, {});
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->any[0].Format(), "8080,49152-49407");
  EXPECT_EQ(plan->any[1].Format(), "49152-49407");
  const std::map<FirewallFormat, std::vector<std::string>> expected{
      {FirewallFormat::kNft, {"elements = { 8080, 49152-49407 }", "elements = { 49152-49407 }"}},
      {FirewallFormat::kIptables, {"-p tcp -m multiport --dports 8080,49152:49407 ",
                                   "-p udp -m multiport --dports 49152:49407 "}},
      {FirewallFormat::kIp6tables, {"-p tcp -m multiport --dports 8080,49152:49407 "}},
      {FirewallFormat::kFirewalld, {"<port protocol=\"tcp\" port=\"49152-49407\"/>",
                                    "<port protocol=\"udp\" port=\"49152-49407\"/>",
                                    "<port protocol=\"tcp\" port=\"8080\"/>"}},
      {FirewallFormat::kUfw, {"ufw allow proto tcp from any to any port 8080,49152:49407 ",
                              "ufw allow proto udp from any to any port 49152:49407 "}},
      {FirewallFormat::kPowershell, {"-Protocol TCP -LocalPort '49152-49407' ",
                                     "-Protocol UDP -LocalPort '49152-49407' ",
                                     "-Protocol TCP -LocalPort 8080 ",
                                     "-DisplayName 'berth rpc.dynamic tcp/49152-49407'"}},
  };
  for (const auto& [format, needles] : expected) {
    const std::string text = FirewallText(format, services, {});
    for (const std::string& n : needles) {
      EXPECT_NE(text.find(n), std::string::npos) << FirewallFormatName(format) << ": " << n
                                                 << "\n" << text;
    }
    if (format == FirewallFormat::kPowershell) continue;  // its rule names say it (above)
    EXPECT_NE(text.find("rpc.dynamic both/49152-49407"), std::string::npos)
        << FirewallFormatName(format) << ": the summary names the range\n" << text;
  }
  // With sources, a range goes into the per-source sets whole.
  services[0].sources = {"10.1.0.0/16"};
  EXPECT_NE(FirewallText(FirewallFormat::kNft, services, {}).find("10.1.0.0/16 . 49152-49407"),
            std::string::npos);
  // A range past 65535, or larger than a service may hold, is refused, not clipped.
  services[0].port = 65500;
  EXPECT_EQ(PlanFirewall(services, {}).error().code, ErrorCode::kInvalidArgument);
  services[0].port = 1024;
  services[0].size = kMaxServiceSize + 1;
  EXPECT_EQ(PlanFirewall(services, {}).error().code, ErrorCode::kInvalidArgument);
}

TEST(Firewall, GroupWithOnlyAnAllowListRenders) {
  FirewallOptions o;
  o.group = "ops";
  o.allow = PortSet{{22, 22}};
  const std::string text = FirewallText(FirewallFormat::kNft, {}, o);
  EXPECT_NE(text.find("elements = { 22 }"), std::string::npos) << text;
}

}  // namespace
}  // namespace berth

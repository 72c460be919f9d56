#include "core/classify.h"

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include "core/iana.h"
#include "core/service.h"
#include "core/socket.h"

namespace berth {
namespace {

TEST(Rfc6335, Boundaries) {
  EXPECT_EQ(ClassifyRfc6335(0), Rfc6335Class::kSystem);
  EXPECT_EQ(ClassifyRfc6335(1023), Rfc6335Class::kSystem);
  EXPECT_EQ(ClassifyRfc6335(1024), Rfc6335Class::kUser);
  EXPECT_EQ(ClassifyRfc6335(49151), Rfc6335Class::kUser);
  EXPECT_EQ(ClassifyRfc6335(49152), Rfc6335Class::kDynamic);
  EXPECT_EQ(ClassifyRfc6335(65535), Rfc6335Class::kDynamic);
}

TEST(Classify, HostRangeAndReservedList) {
  HostPortConfig cfg;  // kernel defaults 32768-60999
  cfg.reserved = *PortSet::Parse("40000-40010,61000");
  auto c = ClassifyPort(40005, Protocol::kTcp, cfg);
  EXPECT_EQ(c.rfc6335, Rfc6335Class::kUser);
  EXPECT_TRUE(c.ephemeral);
  EXPECT_TRUE(c.reserved);
  EXPECT_EQ(ClassLabel(c), "user,ephemeral,reserved");
  auto outside = ClassifyPort(61000, Protocol::kTcp, cfg);
  EXPECT_FALSE(outside.ephemeral);  // reserved may list ports outside the range
  EXPECT_TRUE(outside.reserved);
  EXPECT_EQ(ClassLabel(ClassifyPort(32767, Protocol::kTcp, cfg)), "user");
  EXPECT_EQ(ClassLabel(ClassifyPort(32768, Protocol::kTcp, cfg)), "user,ephemeral");
  EXPECT_EQ(ClassLabel(ClassifyPort(60999, Protocol::kTcp, cfg)), "dynamic,ephemeral");
}

TEST(Classify, UsableEphemeralSubtractsReservedInsideTheRangeOnly) {
  HostPortConfig cfg;
  EXPECT_EQ(cfg.usable_ephemeral(), 28232u);  // kernel-ports.md: default per destination
  cfg.reserved = *PortSet::Parse("32768-32777,1000,65000");
  EXPECT_EQ(cfg.usable_ephemeral(), 28222u);
}

TEST(Iana, LooksUpBothProtocols) {
  auto ssh = IanaLookup(22, Protocol::kTcp);
  ASSERT_TRUE(ssh);
  EXPECT_EQ(ssh->service, "ssh");
  auto browser = IanaLookup(1434, Protocol::kUdp);
  ASSERT_TRUE(browser);
  EXPECT_EQ(browser->service, "ms-sql-m");
  EXPECT_FALSE(IanaLookup(6379, Protocol::kUdp));  // redis is TCP-only in the registry
  EXPECT_TRUE(IanaLookup(6379, Protocol::kTcp));
  EXPECT_FALSE(IanaLookup(49152, Protocol::kTcp));  // IANA never assigns the dynamic range
  EXPECT_GT(IanaRowCount(), 10000u);
  EXPECT_EQ(IanaVersion(), "port-numbers 8.0.35");
}

TEST(Iana, TableIsSortedAndSearchable) {
  // Every row must be findable by binary search: walk a sample of ports both ways.
  std::size_t found = 0;
  for (int p = 0; p < 65536; p += 7) {
    for (Protocol proto : {Protocol::kTcp, Protocol::kUdp}) {
      if (auto e = IanaLookup(static_cast<Port>(p), proto)) {
        EXPECT_EQ(e->port, p);
        EXPECT_EQ(e->proto, proto);
        EXPECT_FALSE(e->service.empty());
        ++found;
      }
    }
  }
  EXPECT_GT(found, 1000u);
  auto mountd = IanaFindService("mountd");
  ASSERT_EQ(mountd.size(), 2u);
  EXPECT_EQ(mountd[0].port, 20048);
}

TEST(ServiceName, AcceptsDnsLabelsAndExplainsRejections) {
  EXPECT_TRUE(ValidateServiceName("mssql"));
  EXPECT_TRUE(ValidateServiceName("mssql.instance1"));
  EXPECT_TRUE(ValidateServiceName("a-b.c-d.0"));
  EXPECT_TRUE(ValidateServiceName(std::string(63, 'a')));
  for (const std::string& bad : std::vector<std::string>{"", "Mssql", "a..b", ".a", "a.", "-a", "a-", "a b", "a;b", "a$(x)",
                          "a\nb", std::string("a\0b", 3), std::string(64, 'a'), "caf\xc3\xa9"}) {
    auto r = ValidateServiceName(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("lowercase DNS labels"), std::string::npos);
  }
}

TEST(SelectServices, FiltersByGroupSortsAndChecks) {
  std::vector<Service> all(4);
  all[0].name = "web", all[0].port = 8080, all[0].group = "a";
  all[1].name = "api", all[1].port = 9000, all[1].group = "a";
  all[2].name = "db", all[2].port = 5432, all[2].group = "b";
  all[3].name = "cache", all[3].port = 6379, all[3].group = "a";
  auto a = SelectServices(all, "a");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 3u);
  EXPECT_EQ((*a)[0]->name, "api");
  EXPECT_EQ((*a)[2]->name, "web");
  EXPECT_EQ((*a)[0], &all[1]);  // points into the input
  EXPECT_EQ(SelectServices(all, "")->size(), 4u);
  EXPECT_TRUE(SelectServices(all, "none")->empty());  // empty is not a failure
  all[2].port = 0;
  EXPECT_TRUE(SelectServices(all, "a"));  // a bad service outside the group does not matter
  auto zero = SelectServices(all, "");
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("'db' has port 0"), std::string::npos);
  all[2].port = 1;
  all[0].name = "Web";
  EXPECT_FALSE(SelectServices(all, "a"));
}

// The widths a table measures without the text are the text's.
TEST(Widths, ClassLabelAndEndpointWidthsAreTheTextsLengths) {
  HostPortConfig config;
  config.ephemeral = PortRange{32768, 60999};
  config.reserved.Add(PortRange{40000, 40010});
  config.reserved.Add(PortRange{80, 80});
  for (std::uint32_t p = 0; p <= 65535; ++p) {
    for (Protocol proto : {Protocol::kTcp, Protocol::kUdp}) {
      const PortClass c = ClassifyPort(static_cast<Port>(p), proto, config);
      ASSERT_EQ(ClassLabelWidth(c), ClassLabel(c).size()) << p;
    }
  }
  std::vector<IpAddress> addresses;
  for (const char* text : {"0.0.0.0", "::", "127.0.0.1", "10.0.0.9", "192.168.100.255", "1.22.103.4",
                           "255.255.255.255", "::1", "2001:db8::1234:5678", "fe80::1", "::ffff:10.1.2.3",
                           "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"}) {
    IpAddress a;
    a.family = std::string_view(text).find(':') == std::string_view::npos ? 4 : 6;
    ASSERT_EQ(::inet_pton(a.family == 4 ? AF_INET : AF_INET6, text, a.bytes.data()), 1) << text;
    addresses.push_back(a);
  }
  for (const IpAddress& a : addresses) {
    for (const int port : {0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65535}) {
      const auto p = static_cast<Port>(port);
      ASSERT_EQ(EndpointAddressWidth(a) + 1 + PortWidth(p), FormatEndpoint(a, p).size())
          << FormatEndpoint(a, p);
    }
  }
}

}  // namespace
}  // namespace berth

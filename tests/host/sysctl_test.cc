#include "host/sysctl.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace berth {
namespace {

using ::testing::HasSubstr;

TEST(Sysctl, ParsesTheKernelsText) {
  EXPECT_EQ(*ParseLocalPortRange("32768\t60999\n"), (PortRange{32768, 60999}));
  EXPECT_EQ(*ParseLocalPortRange("1024 65535"), (PortRange{1024, 65535}));
  for (const char* bad : {"", "32768", "60999 32768", "0 10", "1 70000", "a b", "1\t2\t3"}) {
    EXPECT_FALSE(ParseLocalPortRange(bad)) << bad;
  }
  EXPECT_EQ(*ParseSysctlInt("2\n"), 2);
  EXPECT_FALSE(ParseSysctlInt("two"));
}

class FakeProcSys : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-sysctl-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    std::filesystem::create_directories(root_ + "/net/ipv4");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(root_ + "/net/ipv4/" + name) << text;
  }
  std::string root_;
};

TEST_F(FakeProcSys, ReadsAllFive) {
  Write("ip_local_port_range", "40000\t50000\n");
  Write("ip_local_reserved_ports", "40000-40010,45000\n");
  Write("ip_unprivileged_port_start", "1024\n");
  Write("tcp_tw_reuse", "1\n");
  Write("tcp_timestamps", "0\n");
  std::vector<std::string> warnings;
  HostPortConfig cfg = ReadHostPortConfig(warnings, root_);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(cfg.ephemeral, (PortRange{40000, 50000}));
  EXPECT_EQ(cfg.reserved.Format(), "40000-40010,45000");
  EXPECT_EQ(cfg.tcp_tw_reuse, 1);
  EXPECT_EQ(cfg.tcp_timestamps, 0);
  EXPECT_EQ(cfg.usable_ephemeral(), 10001u - 12u);
}

TEST_F(FakeProcSys, MissingOrGarbledValuesKeepDefaultsWithAWarningNamingTheFile) {
  Write("ip_local_port_range", "garbage\n");
  std::vector<std::string> warnings;
  HostPortConfig cfg = ReadHostPortConfig(warnings, root_);
  EXPECT_EQ(cfg.ephemeral, (PortRange{32768, 60999}));
  ASSERT_EQ(warnings.size(), 5u);
  EXPECT_THAT(warnings[0], HasSubstr(root_ + "/net/ipv4/ip_local_port_range"));
  EXPECT_THAT(warnings[0], HasSubstr("kernel default"));
  EXPECT_THAT(warnings[1], HasSubstr("No such file"));
}

TEST(Sysctl, LiveValuesParse) {
  // This machine's own values must parse (whatever they are).
  std::vector<std::string> warnings;
  HostPortConfig cfg = ReadHostPortConfig(warnings);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_LE(cfg.ephemeral.low, cfg.ephemeral.high);
}

}  // namespace
}  // namespace berth

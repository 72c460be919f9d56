#include "probe/targets.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace berth::probe {
namespace {

TEST(ProbeTargets, CidrExpandsAndIsBoundedBeforeExpansion) {
  auto t = ExpandTargets({"192.0.2.4/30"}, "", 100);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 4u);
  EXPECT_EQ((*t)[0].address, "192.0.2.4");
  EXPECT_EQ((*t)[3].address, "192.0.2.7");
  auto big = ExpandTargets({"10.0.0.0/8"}, "", kDefaultMaxTargets);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("--max-targets"), std::string::npos);
  EXPECT_TRUE(ExpandTargets({"10.0.0.0/16"}, "", kDefaultMaxTargets));
  EXPECT_FALSE(ExpandTargets({"10.0.0.0/16", "10.1.0.1"}, "", kDefaultMaxTargets));
  EXPECT_FALSE(ExpandTargets({"2001:db8::/64"}, "", kDefaultMaxTargets));
  auto v6 = ExpandTargets({"2001:db8::fe/127"}, "", 10);
  ASSERT_TRUE(v6);
  EXPECT_EQ((*v6)[1].address, "2001:db8::ff");
  EXPECT_FALSE(ExpandTargets({"192.0.2.0/33"}, "", 10));
  EXPECT_FALSE(ExpandTargets({"192.0.2.0/x"}, "", 10));
}

TEST(ProbeTargets, ListFileAndNames) {
  const std::string path = ::testing::TempDir() + "/berth-probe-targets.txt";
  {
    std::ofstream f(path);
    f << "# lab\n127.0.0.1 ::1  # both loopbacks\n\nlocalhost\n";
  }
  auto t = ExpandTargets({}, path, 10);
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[2].given, "localhost");
  EXPECT_EQ((*t)[2].address, "127.0.0.1");
  std::remove(path.c_str());
  EXPECT_FALSE(ExpandTargets({}, "/nonexistent/berth", 10));
  EXPECT_FALSE(ExpandTargets({}, "", 10));
  EXPECT_FALSE(ExpandTargets({"no-such-host.invalid"}, "", 10));
}

}  // namespace
}  // namespace berth::probe

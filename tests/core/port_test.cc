#include "core/port.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(PortSet, AddMergesOverlappingAndAdjacentRanges) {
  PortSet s;
  s.Add(PortRange{10, 12});
  s.Add(20);
  s.Add(PortRange{13, 15});  // adjacent to 10-12
  s.Add(11);                 // inside
  EXPECT_EQ(s.Format(), "10-15,20");
  s.Add(PortRange{16, 19});  // bridges the gap
  EXPECT_EQ(s.Format(), "10-20");
  EXPECT_EQ(s.count(), 11u);
  EXPECT_EQ(s.ranges().size(), 1u);
}

TEST(PortSet, ParseAcceptsKernelFormatAndNormalises) {
  // The kernel normalises "20,10-12,11" to "10-12,20" (kernel-ports.md); so do we.
  auto s = PortSet::Parse("20,10-12,11\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->Format(), "10-12,20");
  auto blanks = PortSet::Parse("1 2-4\t10-10");
  ASSERT_TRUE(blanks);
  EXPECT_EQ(blanks->Format(), "1-4,10");
  auto empty = PortSet::Parse("\n");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(empty->Format(), "");
}

TEST(PortSet, ParseRejectsBadItemsNamingThem) {
  for (const char* bad : {"70000", "5-3", "a", "1-", "-5", "1--2", "3,x"}) {
    auto s = PortSet::Parse(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
  auto r = PortSet::Parse("5-3");
  EXPECT_NE(r.error().message.find("5-3"), std::string::npos);
}

TEST(PortSet, SubtractSplitsRanges) {
  PortSet s{PortRange{1000, 2000}};
  s.Subtract(PortRange{1200, 1300});
  EXPECT_EQ(s.Format(), "1000-1199,1301-2000");
  s.Subtract(PortRange{0, 1000});
  EXPECT_EQ(s.Format(), "1001-1199,1301-2000");
  s.Subtract(PortSet{PortRange{1500, 65535}});
  EXPECT_EQ(s.Format(), "1001-1199,1301-1499");
  EXPECT_FALSE(s.contains(1200));
  EXPECT_TRUE(s.contains(1001));
  EXPECT_TRUE(s.contains(1499));
  EXPECT_FALSE(s.contains(1500));
}

TEST(PortSet, EdgesOfThePortSpace) {
  PortSet s{PortRange{0, 65535}};
  EXPECT_EQ(s.count(), 65536u);
  s.Subtract(PortRange{65535, 65535});
  s.Subtract(PortRange{0, 0});
  EXPECT_EQ(s.Format(), "1-65534");
  PortSet t;
  t.Add(65535);
  t.Add(65534);
  EXPECT_EQ(t.Format(), "65534-65535");
}

TEST(PortSet, Intersect) {
  PortSet a{PortRange{10, 20}, PortRange{30, 40}};
  PortSet b{PortRange{15, 35}};
  EXPECT_EQ(a.Intersect(b).Format(), "15-20,30-35");
  EXPECT_EQ(a.Intersect(PortRange{21, 29}).Format(), "");
}

TEST(PortSet, MatchesABruteForceModel) {
  // Random operations against a bitmap model of the same set.
  std::vector<bool> model(65536, false);
  PortSet s;
  std::uint32_t x = 12345;
  auto rnd = [&] { return x = x * 1103515245u + 12345u; };
  for (int i = 0; i < 400; ++i) {
    Port lo = static_cast<Port>(rnd() % 2000);
    Port hi = static_cast<Port>(lo + rnd() % 50);
    if (rnd() % 3 == 0) {
      s.Subtract(PortRange{lo, hi});
      for (int p = lo; p <= hi; ++p) model[static_cast<std::size_t>(p)] = false;
    } else {
      s.Add(PortRange{lo, hi});
      for (int p = lo; p <= hi; ++p) model[static_cast<std::size_t>(p)] = true;
    }
  }
  std::uint32_t count = 0;
  for (int p = 0; p < 2100; ++p) {
    ASSERT_EQ(s.contains(static_cast<Port>(p)), model[static_cast<std::size_t>(p)]) << p;
    count += model[static_cast<std::size_t>(p)];
  }
  EXPECT_EQ(s.count(), count);
  // Canonical form: re-parsing the text gives the same set.
  EXPECT_EQ(*PortSet::Parse(s.Format()), s);
}

TEST(Protocol, ParseAndName) {
  EXPECT_EQ(*ParseProtocol("TCP"), Protocol::kTcp);
  EXPECT_EQ(*ParseProtocol("udp"), Protocol::kUdp);
  EXPECT_FALSE(ParseProtocol("sctp"));
  EXPECT_EQ(ProtocolName(Protocol::kUdp), "udp");
}

}  // namespace
}  // namespace berth

// berth reserve, check and range against a real kernel, inside network namespaces the tests
// create (never the host's own settings).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/port.h"
#include "registry/registry_test_util.h"
#include "integration/scan_fixture.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

PortSet NsReserved(const Netns& ns) {
  auto r = ns.Exec({"sysctl", "-n", "net.ipv4.ip_local_reserved_ports"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto set = PortSet::Parse(r.out);
  EXPECT_TRUE(set) << r.out;
  return set ? *set : PortSet{};
}

std::multiset<std::string> FindingIds(const std::string& json) {
  std::multiset<std::string> ids;
  const auto doc = nlohmann::json::parse(json);
  for (const auto& f : doc["findings"]) ids.insert(f["id"].get<std::string>());
  return ids;
}

TEST(RegistryNetns, ReserveApplyMergesAndReadsBack) {
  BERTH_REQUIRE_ROOT();
  TempDir dir;
  const std::string db = dir.File("r.db");
  auto ns = Netns::Create("reserve");
  ASSERT_TRUE(ns);
  ASSERT_EQ(ns->Exec({"sysctl", "-qw", "net.ipv4.ip_local_reserved_ports=100-200,40000"}).exit_code, 0);
  const std::string host_before = ReadAll("/proc/sys/net/ipv4/ip_local_reserved_ports");
  auto a = RunBerth({"assign", "alpha", "beta", "--db", db});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  std::istringstream in(a.out);
  std::string name;
  int pa = 0, pb = 0;
  in >> name >> pa >> name >> pb;
  ASSERT_GT(pa, 0);
  ASSERT_GT(pb, 0);

  const std::string conf = dir.File("60-berth.conf");
  auto r = ns->Exec({BerthBinary(), "reserve", "--apply", "--write", conf, "--db", db});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const PortSet now = NsReserved(*ns);
  EXPECT_TRUE(now.contains(100) && now.contains(150) && now.contains(200) && now.contains(40000))
      << now.Format();  // nothing dropped
  EXPECT_TRUE(now.contains(static_cast<Port>(pa))) << now.Format();
  EXPECT_TRUE(now.contains(static_cast<Port>(pb))) << now.Format();
  EXPECT_NE(ReadAll(conf).find("net.ipv4.ip_local_reserved_ports = " + now.Format()), std::string::npos)
      << ReadAll(conf);
  EXPECT_EQ(ReadAll("/proc/sys/net/ipv4/ip_local_reserved_ports"), host_before);
  // A second run changes nothing.
  r = ns->Exec({BerthBinary(), "reserve", "--apply", "--write", conf, "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(NsReserved(*ns), now);
}

TEST(RegistryNetns, CheckAndRangeSeeTheNamespace) {
  BERTH_REQUIRE_ROOT();
  TempDir dir;
  const std::string db = dir.File("r.db");
  auto ns = Netns::Create("check");
  ASSERT_TRUE(ns);
  for (auto [name, port] : {std::pair{"app", "20002"}, std::pair{"gone", "20003"}}) {
    auto r = RunBerth({"assign", name, "--port", port, "--allow-iana", "--db", db});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  Child app = ListenOnLoopback(*ns, 20002);
  Child stray = ListenOnLoopback(*ns, 20004);

  auto check = ns->Exec({BerthBinary(), "check", "--json", "--db", db});
  EXPECT_EQ(check.exit_code, 1) << check.err;
  EXPECT_EQ(FindingIds(check.out),
            (std::multiset<std::string>{"registered-not-listening", "unregistered-listener"}))
      << check.out;

  ASSERT_EQ(ns->Exec({BerthBinary(), "reserve", "--apply", "--write", dir.File("c.conf"), "--db", db}).exit_code, 0);
  check = ns->Exec({BerthBinary(), "check", "--json", "--allow", "20004", "--db", db});
  EXPECT_EQ(FindingIds(check.out), (std::multiset<std::string>{"registered-not-listening"})) << check.out;

  auto range = ns->Exec({BerthBinary(), "range", "20000", "30000", "--json", "--db", db});
  EXPECT_EQ(range.exit_code, 1) << range.err;
  EXPECT_EQ(FindingIds(range.out),
            (std::multiset<std::string>{"range-covers-registered", "range-covers-registered",
                                        "range-covers-listener"}))
      << range.out;
  auto safe = ns->Exec({BerthBinary(), "range", "40000", "60999", "--db", db});
  EXPECT_EQ(safe.exit_code, 0) << safe.out << safe.err;
}

}  // namespace
}  // namespace berth::test

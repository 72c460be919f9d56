// berth scan with a registry, in a network namespace the test creates: listeners marked
// registered / unregistered / drifted, observations recorded, a port that moved since the
// previous scan reported.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/port.h"
#include "registry/registry_test_util.h"
#include "integration/scan_fixture.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

// port -> registry status ("registered:app", "unregistered", ...) and the finding ids.
struct ScanSeen {
  std::map<int, std::string> status;
  std::multiset<std::string> findings;
};

ScanSeen Scan(const Netns& ns, const std::string& db) {
  auto r = ns.Exec({BerthBinary(), "scan", "--json", "--fail-on", "none", "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ScanSeen seen;
  const auto doc = nlohmann::json::parse(r.out);
  for (const auto& s : doc["sockets"]) {
    if (!s.contains("registry")) continue;
    const auto& reg = s["registry"];
    seen.status[s["port"].get<int>()] =
        reg["status"].get<std::string>() +
        (reg["service"].is_null() ? "" : ":" + reg["service"].get<std::string>());
  }
  for (const auto& f : doc["findings"]) seen.findings.insert(f["id"].get<std::string>());
  return seen;
}

TEST(RegistryScan, MarksListenersAndCatchesAMovedPort) {
  BERTH_REQUIRE_ROOT();
  TempDir dir;
  const std::string db = dir.File("r.db");
  auto ns = Netns::Create("regscan");
  ASSERT_TRUE(ns);
  ASSERT_EQ(RunBerth({"assign", "app", "--port", "20002", "--allow-iana", "--db", db}).exit_code, 0);

  ScanSeen first;
  {
    Child app = ListenOnLoopback(*ns, 20002);
    Child stray = ListenOnLoopback(*ns, 20005);
    first = Scan(*ns, db);
  }
  EXPECT_EQ(first.status[20002], "registered:app");
  EXPECT_EQ(first.status[20005], "unregistered");
  EXPECT_EQ(first.findings.count("unregistered-listener"), 1u);
  EXPECT_EQ(first.findings.count("port-changed"), 0u);

  // The same program restarts on another port: drifted, and its port changed.
  Child moved = ListenOnLoopback(*ns, 20007);
  ScanSeen second = Scan(*ns, db);
  EXPECT_EQ(second.status[20007], "drifted:app");
  EXPECT_EQ(second.findings.count("drifted-service"), 1u);
  EXPECT_EQ(second.findings.count("port-changed"), 1u);

  auto show = RunBerth({"show", "app", "--json", "--db", db});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  const auto j = nlohmann::json::parse(show.out);
  ASSERT_FALSE(j["last_seen"].is_null());
  EXPECT_EQ(j["last_seen"]["port"].get<int>(), 20007);

  // Without a registry file the scan still works and says why the registry was not used.
  // (A path below a regular file can never be created, even by root.)
  std::ofstream(dir.File("plain")) << "x";
  auto plain = ns->Exec({BerthBinary(), "scan", "--fail-on", "none", "--db", dir.File("plain/r.db")});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE((plain.out + plain.err).find("registry not used"), std::string::npos) << plain.out;
  auto none = ns->Exec({BerthBinary(), "scan", "--json", "--no-registry"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.out.find("\"registry\""), std::string::npos);
}

}  // namespace
}  // namespace berth::test

// berth scan --from and --record end to end: a recorded host goes through the whole pipeline
// (replay -> audit -> match and record in the registry -> render) with no root and no network
// namespace; a live recording replays to the same document as the scan that made it.
#include <sys/stat.h>

#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "registry/registry_test_util.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

using ::testing::HasSubstr;

const std::string kDump = std::string(BERTH_FIXTURES) + "/hosts/dump1";

// The registry status of the socket on `port`/`proto`, or "" when none is shown.
std::string StatusOf(const nlohmann::json& doc, int port, const std::string& proto) {
  for (const auto& s : doc["sockets"]) {
    if (s["port"] == port && s["proto"] == proto && s.contains("registry")) {
      return s["registry"]["status"].get<std::string>();
    }
  }
  return "";
}

bool HasFinding(const nlohmann::json& doc, const std::string& id) {
  for (const auto& f : doc["findings"]) {
    if (f["id"] == id) return true;
  }
  return false;
}

TEST(ScanRecorded, AFixtureHostGoesThroughAuditRegistryAndRenderingWithoutRoot) {
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0777), 0);  // the unprivileged run writes its registry here
  const std::string db = dir.File("registry.db");
  std::ofstream(dir.File("berth.toml")) << "[[service]]\nname = \"postgres\"\nport = 5432\n\n"
                                           "[[service]]\nname = \"dnsmasq\"\nport = 5353\nproto = \"udp\"\n";
  auto applied = RunBerth({"apply", dir.File("berth.toml"), "--db", db});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  ASSERT_EQ(::chmod(db.c_str(), 0666), 0);

  std::vector<std::string> argv = {BerthBinary(), "scan", "--from", kDump, "--db", db, "--json"};
  if (IsRoot()) argv.insert(argv.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  auto scan = test::Run(argv);
  ASSERT_EQ(scan.exit_code, 1) << scan.err;  // findings at warning or above: the drifted service
  const auto doc = nlohmann::json::parse(scan.out);
  EXPECT_EQ(doc["host"]["hostname"], "fixture-host");
  EXPECT_EQ(doc["host"]["reserved_ports"], nlohmann::json::parse("[[40000,40000],[45000,45010]]"));
  EXPECT_EQ(StatusOf(doc, 5432, "tcp"), "registered");
  EXPECT_EQ(StatusOf(doc, 53, "udp"), "drifted");  // dnsmasq is registered on 5353
  EXPECT_EQ(StatusOf(doc, 22, "tcp"), "unregistered");
  EXPECT_TRUE(HasFinding(doc, "drifted-service"));
  EXPECT_TRUE(HasFinding(doc, "unregistered-listener"));
  bool sshd_owned = false;
  for (const auto& p : doc["processes"]) sshd_owned = sshd_owned || (p["command"] == "sshd" && p["unit"] == "ssh.service");
  EXPECT_TRUE(sshd_owned) << "owners come from the recording's /proc, not this machine's";

  // The scan was recorded under the recorded host's name.
  auto show = RunBerth({"show", "postgres", "--json", "--db", db});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  const auto shown = nlohmann::json::parse(show.out);
  ASSERT_FALSE(shown["last_seen"].is_null());
  EXPECT_EQ(shown["last_seen"]["host"], "fixture-host");
  EXPECT_EQ(shown["last_seen"]["command"], "postgres");

  auto text = RunBerth({"scan", "--from", kDump, "--db", db, "--color", "never"});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_THAT(text.out, HasSubstr("berth scan  fixture-host"));
  EXPECT_THAT(text.out, HasSubstr("drifted:dnsmasq"));
}

TEST(ScanRecorded, ARecordingScanPrintsExactlyWhatALaterReplayPrints) {
  TempDir dir;
  const std::string rec = dir.File("rec");
  auto live = RunBerth({"scan", "--record", rec, "--no-registry", "--json", "--fail-on", "none"});
  ASSERT_EQ(live.exit_code, 0) << live.err;
  EXPECT_THAT(live.err, HasSubstr("recorded"));
  auto replay = RunBerth({"scan", "--from", rec, "--no-registry", "--json", "--fail-on", "none"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  EXPECT_EQ(live.out, replay.out);
  auto again = RunBerth({"scan", "--record", rec, "--no-registry"});
  EXPECT_EQ(again.exit_code, 2) << "an existing recording is never overwritten";
}

TEST(ScanRecorded, BadRecordingsAreClearErrors) {
  TempDir dir;
  auto missing = RunBerth({"scan", "--from", dir.File("nosuch"), "--no-registry"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("nosuch"));
  std::ofstream(dir.File("bad.json")) << "{\"schema\": \"berth.scan/9\"}";
  auto bad = RunBerth({"scan", "--from", dir.File("bad.json"), "--no-registry"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("berth.scan/2"));
  auto both = RunBerth({"scan", "--from", kDump, "--netns", "x"});
  EXPECT_EQ(both.exit_code, 2);
}

}  // namespace
}  // namespace berth::test

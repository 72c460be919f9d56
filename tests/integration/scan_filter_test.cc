// ss's habits on berth scan: combined short flags (-tuln), -H, -4/-6 and the filters
// (--port, --process, --unit, --state), on real servers in a namespace of the test's own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "integration/scan_fixture.h"

namespace berth::test {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

class ScanFilter : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    auto ns = Netns::Create("filter");
    ASSERT_TRUE(ns);
    ns_.emplace(std::move(*ns));
    // 45001 is inside Linux's ephemeral range: a finding about it, none about the others'
    // being ephemeral.
    one_.emplace(ServeInChild("filtersrv", &*ns_,
                        {{SOCK_STREAM, AF_INET, "127.0.0.1", 45001},
                         {SOCK_STREAM, AF_INET6, "::1", 8081, true},
                         {SOCK_DGRAM, AF_INET, "127.0.0.1", 45002}}));
    ASSERT_TRUE(one_->WaitReady());
    two_.emplace(ServeInChild("othersrv", &*ns_, {{SOCK_STREAM, AF_INET, "127.0.0.1", 8082}}));
    ASSERT_TRUE(two_->WaitReady());
  }
  json Scan(std::vector<std::string> args) {
    std::vector<std::string> argv{"scan", "--netns", ns_->name(), "--no-registry", "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunBerth(argv);
    EXPECT_LE(r.exit_code, 1) << r.err;
    return ParseJson(r);
  }
  // Declared so that the servers stop (by PID) before their namespace is deleted.
  std::optional<Netns> ns_;
  std::optional<Child> one_, two_;
};

TEST_F(ScanFilter, CombinedShortFlagsMeanWhatTheyMeanInSs) {
  // ss -tuln: TCP and UDP, listening, numeric. -t and -u together used to be an error.
  const json all = Scan({"-tuln"});
  ASSERT_FALSE(all.is_discarded());
  EXPECT_EQ(SocketSet(all), (std::set<SocketKey>{{"tcp", "127.0.0.1", 45001},
                                                 {"tcp", "::1", 8081},
                                                 {"udp", "127.0.0.1", 45002},
                                                 {"tcp", "127.0.0.1", 8082}}));
  EXPECT_EQ(SocketSet(Scan({"-tlnp"})), (std::set<SocketKey>{{"tcp", "127.0.0.1", 45001},
                                                              {"tcp", "::1", 8081},
                                                              {"tcp", "127.0.0.1", 8082}}));
  EXPECT_EQ(SocketSet(Scan({"-ul"})), (std::set<SocketKey>{{"udp", "127.0.0.1", 45002}}));
  EXPECT_EQ(SocketSet(Scan({"-6"})), (std::set<SocketKey>{{"tcp", "::1", 8081}}));
  EXPECT_EQ(SocketSet(Scan({"-4", "-t"})),
            (std::set<SocketKey>{{"tcp", "127.0.0.1", 45001}, {"tcp", "127.0.0.1", 8082}}));
}

TEST_F(ScanFilter, FiltersNarrowSocketsAndTheFindingsAboutThem) {
  const json port = Scan({"--port", "45001"});
  ASSERT_FALSE(port.is_discarded());
  EXPECT_EQ(SocketSet(port), (std::set<SocketKey>{{"tcp", "127.0.0.1", 45001}}));
  ASSERT_FALSE(port["findings"].empty());  // a listener in the ephemeral range
  for (const auto& f : port["findings"]) {
    EXPECT_NE(f["ports"].dump().find("45001"), std::string::npos) << f.dump();
  }
  const json other = Scan({"--process", "othersrv"});
  EXPECT_EQ(SocketSet(other), (std::set<SocketKey>{{"tcp", "127.0.0.1", 8082}}));
  for (const auto& f : other["findings"]) {
    EXPECT_EQ(f["ports"].dump().find("45001"), std::string::npos) << f.dump();
  }
  const json range = Scan({"--port", "8000-8099", "-t"});
  EXPECT_EQ(SocketSet(range), (std::set<SocketKey>{{"tcp", "::1", 8081}, {"tcp", "127.0.0.1", 8082}}));
  const json listening = Scan({"--state", "listening"});
  EXPECT_EQ(SocketSet(listening).size(), 3u);  // the TCP listeners; the UDP socket is unconn
  const json unconn = Scan({"--state", "unconn"});
  EXPECT_EQ(SocketSet(unconn), (std::set<SocketKey>{{"udp", "127.0.0.1", 45002}}));
  EXPECT_TRUE(Scan({"--process", "nosuch"})["sockets"].empty());
}

TEST_F(ScanFilter, NoHeaderPrintsTheRowsAlone) {
  auto r = RunBerth({"scan", "--netns", ns_->name(), "--no-registry", "-H", "-tln"});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the exit code still says there are findings
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (const std::string& l : lines) {  // every row names its owner, for awk
    EXPECT_THAT(l, ::testing::AnyOf(::testing::StartsWith("filtersrv "),
                                    ::testing::StartsWith("othersrv "))) << r.out;
  }
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("PROCESS")));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("berth scan")));
}

TEST_F(ScanFilter, BadFiltersAreClearErrors) {
  auto state = RunBerth({"scan", "--netns", ns_->name(), "--state", "bogus"});
  EXPECT_EQ(state.exit_code, 2);
  EXPECT_THAT(state.err, HasSubstr("--state: unknown socket state 'bogus': use one of established"));
  auto port = RunBerth({"scan", "--netns", ns_->name(), "--port", "http"});
  EXPECT_EQ(port.exit_code, 2);
  EXPECT_THAT(port.err, HasSubstr("--port http: give ports or ranges"));
  auto both = RunBerth({"scan", "--netns", ns_->name(), "-4", "-6"});
  EXPECT_EQ(both.exit_code, 2);
  auto noprocs = RunBerth({"scan", "--netns", ns_->name(), "--no-procs", "--process", "x"});
  EXPECT_EQ(noprocs.exit_code, 2);
  EXPECT_THAT(noprocs.err, HasSubstr("--no-procs"));
}

}  // namespace
}  // namespace berth::test

// berth firewall --apply in a namespace of its own: iptables touches only berth's chain
// (BERTH-INPUT) and its jump, so a foreign chain (Docker's DOCKER-USER) survives apply and
// rollback; and --rollback walks back a history of applies, --rollback --to pre-berth to
// the ruleset before berth's first apply. No packets are sent; the namespace is deleted on
// any outcome.
#include <gtest/gtest.h>

#include <dirent.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "support/test_support.h"

namespace berth {
namespace {

std::string Registry(int port) {
  return "schema = 1\n[[service]]\nname = \"app\"\nport = " + std::to_string(port) +
         "\nproto = \"tcp\"\n";
}

// iptables-save text without what changes by itself: comment lines (timestamps) and the
// packet counters of the chain lines.
std::string Stable(const std::string& save) {
  std::istringstream in(save);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("#")) continue;
    out += std::regex_replace(line, std::regex(R"( \[[0-9]+:[0-9]+\]$)"), "") + "\n";
  }
  return out;
}

// The same, without berth's lines (its chain, its rules and the jump to it).
std::string WithoutBerth(const std::string& save) {
  std::istringstream in(Stable(save));
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.find("BERTH-INPUT") != std::string::npos) continue;
    out += line + "\n";
  }
  return out;
}

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

class FirewallHistory : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    if (test::Run({"sh", "-c", "command -v nft"}).exit_code != 0) BERTH_MISSING_PEER("nft missing");
    auto ns = test::Netns::Create("fwhist");
    ASSERT_TRUE(ns);
    ns_.emplace(std::move(*ns));
    char tmpl[] = "/tmp/berth-fwhist-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override {
    if (!dir_.empty()) (void)test::Run({"rm", "-rf", dir_});
  }

  test::CommandResult Berth(int port, const std::vector<std::string>& args) {
    std::ofstream(dir_ + "/berth.toml", std::ios::trunc) << Registry(port);
    std::vector<std::string> argv{"ip", "netns", "exec", ns_->name(), test::BerthBinary(),
                                  "firewall", "--from", dir_ + "/berth.toml",
                                  "--state-dir", dir_ + "/state"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::Run(argv);
  }

  std::string Nft() { return ns_->Exec({"nft", "list", "ruleset"}).out; }
  std::string Iptables() { return ns_->Exec({"iptables-save", "-t", "filter"}).out; }

  int HistoryEntries(const std::string& tool) {
    int n = 0;
    DIR* d = ::opendir((dir_ + "/state/" + tool + ".history").c_str());
    if (d == nullptr) return 0;
    while (const dirent* e = ::readdir(d)) n += std::string(e->d_name).ends_with(".rules");
    ::closedir(d);
    return n;
  }

  std::optional<test::Netns> ns_;
  std::string dir_;
};

TEST_F(FirewallHistory, NftRollbackWalksBackThenToPreBerth) {
  // A table that is not berth's: it must be there, unchanged, at every step.
  ASSERT_EQ(ns_->Exec({"nft", "add", "table", "inet", "other"}).exit_code, 0);
  ASSERT_EQ(ns_->Exec({"nft", "add", "chain", "inet", "other", "c"}).exit_code, 0);
  const std::string original = Nft();
  auto r = Berth(20001, {"--format", "nft", "--apply"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string a = Nft();
  ASSERT_NE(a.find("20001"), std::string::npos) << a;
  r = Berth(20002, {"--format", "nft", "--apply"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_NE(Nft().find("20002"), std::string::npos);
  r = Berth(20002, {"--format", "nft", "--rollback"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Nft(), a) << "one step back is the first apply";
  r = Berth(20002, {"--format", "nft", "--apply"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Berth(20002, {"--format", "nft", "--rollback", "--to", "pre-berth"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Nft(), original);
  r = Berth(20002, {"--format", "nft", "--rollback"});
  EXPECT_EQ(r.exit_code, 2) << "the history is empty after a rollback to pre-berth";
  EXPECT_EQ(Nft(), original);
}

TEST_F(FirewallHistory, HistoryKeepsTenAppliesAndPreBerthSurvivesPruning) {
  const std::string original = Nft();
  for (int i = 0; i < 12; ++i) {
    auto r = Berth(20001 + i, {"--format", "nft", "--apply"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_EQ(HistoryEntries("nft"), 10);
  auto r = Berth(20001, {"--format", "nft", "--rollback"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(Nft().find("20011"), std::string::npos) << "one step back from the 12th apply";
  r = Berth(20001, {"--format", "nft", "--rollback", "--to", "pre-berth"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Nft(), original);
}

TEST_F(FirewallHistory, IptablesTouchesOnlyBerthsChain) {
  if (test::Run({"sh", "-c", "command -v iptables-restore"}).exit_code != 0) {
    BERTH_MISSING_PEER("iptables-restore missing");
  }
  // What Docker leaves in filter: a chain of its own, a rule in it, a jump from FORWARD;
  // and a rule of the admin's in INPUT.
  for (std::vector<std::string> cmd :
       {std::vector<std::string>{"iptables", "-N", "DOCKER-USER"},
        {"iptables", "-A", "DOCKER-USER", "-s", "198.18.9.0/24", "-j", "RETURN"},
        {"iptables", "-A", "FORWARD", "-j", "DOCKER-USER"},
        {"iptables", "-A", "INPUT", "-p", "tcp", "--dport", "9999", "-j", "ACCEPT"}}) {
    auto r = ns_->Exec(cmd);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const std::string original = Iptables();
  ASSERT_NE(original.find("DOCKER-USER"), std::string::npos);

  auto r = Berth(20001, {"--format", "iptables", "--apply"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string now = Iptables();
  EXPECT_EQ(WithoutBerth(now), Stable(original)) << now;
  EXPECT_EQ(Count(now, "-A INPUT -j BERTH-INPUT\n"), 1) << now;
  EXPECT_NE(now.find("--dports 20001"), std::string::npos) << now;
  const std::string a = Stable(now);

  r = Berth(20002, {"--format", "iptables", "--apply"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  now = Iptables();
  EXPECT_EQ(WithoutBerth(now), Stable(original)) << now;
  EXPECT_EQ(Count(now, "-A INPUT -j BERTH-INPUT\n"), 1) << "applied twice: one jump\n" << now;
  EXPECT_EQ(now.find("--dports 20001"), std::string::npos) << "the chain is replaced\n" << now;

  r = Berth(20002, {"--format", "iptables", "--rollback"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Stable(Iptables()), a) << "one step back is the first apply";

  r = Berth(20002, {"--format", "iptables", "--rollback", "--to", "pre-berth"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Stable(Iptables()), Stable(original));
}

}  // namespace
}  // namespace berth

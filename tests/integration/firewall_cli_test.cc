// berth firewall from the command line: --write, refused combinations, --surface.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "support/test_support.h"

namespace berth {
namespace {

class FirewallCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-fwcli-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::ofstream(dir_ + "/berth.toml") << "schema = 1\n"
                                           "[[service]]\nname = \"mssql.instance1\"\nport = 1433\n"
                                           "[[service]]\nname = \"dns\"\nport = 53\nproto = \"both\"\n";
  }
  void TearDown() override { (void)test::Run({"rm", "-rf", dir_}); }
  test::CommandResult Fw(std::vector<std::string> args) {
    args.insert(args.begin(), {"firewall", "--from", dir_ + "/berth.toml"});
    return test::RunBerth(args);
  }
  std::string dir_;
};

TEST_F(FirewallCli, WriteIsTheSameAsStdout) {
  for (std::string f : {"nft", "iptables", "ip6tables", "firewalld", "ufw", "powershell"}) {
    auto out = Fw({"--format", f});
    ASSERT_EQ(out.exit_code, 0) << f << ": " << out.err;
    auto w = Fw({"--format", f, "--write", dir_ + "/out." + f});
    ASSERT_EQ(w.exit_code, 0) << w.err;
    EXPECT_EQ(w.out, "");
    std::ifstream in(dir_ + "/out." + f);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), out.out) << f;
  }
}

TEST_F(FirewallCli, RefusedCombinations) {
  auto r = Fw({"--format", "powershell", "--apply"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--apply and --rollback load nft and iptables rules only"), std::string::npos);
  r = Fw({"--format", "pf"});
  EXPECT_NE(r.exit_code, 0);
  r = Fw({"--group", "nope"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("group 'nope' has no services"), std::string::npos);
  r = Fw({"--write", dir_ + "/no/such/dir/x"});
  EXPECT_EQ(r.exit_code, 2);
  r = test::RunBerth({"firewall", "--rollback", "--state-dir", dir_ + "/empty"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nothing to roll back"), std::string::npos);
}

TEST_F(FirewallCli, SurfaceJson) {
  auto r = Fw({"--surface", "--dynamic", "windows", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema"], "berth.surface/2");
  EXPECT_EQ(j["dynamic"]["tcp"], nlohmann::json::parse("[[135,135],[49152,65535]]"));
  EXPECT_EQ(j["dynamic"]["udp"], nlohmann::json::parse("[[1434,1434]]"));
  EXPECT_EQ(j["static"]["tcp"], nlohmann::json::parse("[[53,53],[1433,1433]]"));
  EXPECT_EQ(j["static"]["udp"], nlohmann::json::parse("[[53,53]]"));
  r = Fw({"--surface"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("static (berth)"), std::string::npos);
}

// Without --surface, --json prints the rules and what was done as one document.
TEST_F(FirewallCli, JsonCarriesTheRulesAndWhatWasDone) {
  auto text = Fw({"--format", "nft"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  auto r = Fw({"--format", "nft", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema"], "berth.firewall/1");
  EXPECT_EQ(j["action"], "print");
  EXPECT_EQ(j["rules"], text.out);  // the same rules as the text form, as one string
  EXPECT_EQ(j["applied"], false);
  EXPECT_TRUE(j["written"].is_null());
  r = Fw({"--format", "nft", "--json", "--write", dir_ + "/rules.nft"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["action"], "write");
  EXPECT_EQ(j["written"], dir_ + "/rules.nft");
  std::ifstream written(dir_ + "/rules.nft");
  std::stringstream body;
  body << written.rdbuf();
  EXPECT_EQ(body.str(), text.out);
}

// Options the chosen mode does not use are refused, never ignored.
TEST_F(FirewallCli, UnusedOptionsAreRefused) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--surface", "--format", "ufw"}, "--format does not apply to --surface"},
      {{"--surface", "--policy", "accept"}, "--policy does not apply to --surface"},
      {{"--surface", "--write", dir_ + "/x"}, "--write does not apply to --surface"},
      {{"--surface", "--apply"}, "--apply and --surface cannot be combined"},
      {{"--to", "pre-berth"}, "--to is used only with --rollback"},
      {{"--force"}, "--force is used only with --apply"},
      {{"--confirm-within", "60s"}, "--confirm-within is used only with --apply"},
  };
  for (const auto& [args, message] : cases) {
    auto r = Fw(args);
    EXPECT_EQ(r.exit_code, 2) << message;
    EXPECT_EQ(r.out, "") << message;
    EXPECT_NE(r.err.find("berth: error: " + message), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::ifstream(dir_ + "/x").good()) << "nothing is written on an error";
}

}  // namespace
}  // namespace berth

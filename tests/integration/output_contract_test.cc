// The output contract of issue 10 item 22: every command that prints a result has --json, every
// JSON document is an object with a "schema", and port sets are arrays, never comma strings.
// The real binary on a registry in a temp dir; no root needed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "integration/scan_fixture.h"
#include "registry/registry_test_util.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// The subcommand names a --help lists under "Subcommands:" (two-space indent, name first).
std::vector<std::string> Subcommands(const std::string& help) {
  std::vector<std::string> out;
  std::istringstream in(help);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("Subcommands:")) {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (line.empty() || !line.starts_with("  ") || line[2] == ' ') {
      if (line.empty()) inside = false;
      continue;
    }
    out.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return out;
}

// Every leaf command path: "scan", "group add", "store check", ...
std::vector<std::vector<std::string>> LeafCommands() {
  std::vector<std::vector<std::string>> out;
  auto top = RunBerth({"--help"});
  EXPECT_EQ(top.exit_code, 0) << top.err;
  for (const std::string& name : Subcommands(top.out)) {
    auto help = RunBerth({name, "--help"});
    EXPECT_EQ(help.exit_code, 0) << name << ": " << help.err;
    const auto subs = Subcommands(help.out);
    if (subs.empty()) out.push_back({name});
    for (const std::string& sub : subs) out.push_back({name, sub});
  }
  return out;
}

TEST(OutputContract, EveryCommandOffersJson) {
  const auto leaves = LeafCommands();
  ASSERT_GE(leaves.size(), 20u) << "the command tree was not read from --help";
  for (const auto& path : leaves) {
    std::string name;
    for (const auto& p : path) name += (name.empty() ? "" : " ") + p;
    if (name == "completion") continue;  // prints a shell script, not a result
    std::vector<std::string> argv = path;
    argv.push_back("--help");
    auto help = RunBerth(argv);
    EXPECT_EQ(help.exit_code, 0) << name;
    EXPECT_THAT(help.out, HasSubstr("--json")) << "berth " << name << " has no --json";
  }
}

// Runs berth with --json and returns the parsed document; checks the contract on the way.
json Doc(const std::vector<std::string>& args, std::initializer_list<int> codes = {0}) {
  auto r = RunBerth(args);
  std::string cmd;
  for (const auto& a : args) cmd += a + " ";
  EXPECT_THAT(std::vector<int>(codes), ::testing::Contains(r.exit_code)) << cmd << "\n" << r.err;
  json doc = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(doc.is_object()) << cmd << " printed no JSON object:\n" << r.out;
  if (!doc.is_object()) return json::object();
  EXPECT_TRUE(doc.contains("schema") && doc["schema"].is_string()) << cmd << ": no schema\n" << r.out;
  return doc;
}

// Every value under a key named like a port set is an array (of numbers or [low, high] pairs).
void ExpectPortArrays(const json& v, const std::string& where) {
  static const std::set<std::string> kPortKeys = {"ports", "allow", "ephemeral", "reserved",
                                                  "range", "skip", "reserved_ports", "tcp", "udp"};
  if (v.is_object()) {
    for (const auto& [k, x] : v.items()) {
      if (kPortKeys.contains(k) && !x.is_object() && !x.is_boolean()) {  // class.reserved: bool
        EXPECT_TRUE(x.is_array()) << where << "." << k << " is not an array: " << x.dump();
        for (const auto& e : x) {
          EXPECT_TRUE(e.is_number_unsigned() ||
                      (e.is_array() && e.size() == 2 && e[0].is_number() && e[1].is_number()))
              << where << "." << k << ": " << e.dump();
        }
      }
      ExpectPortArrays(x, where + "." + k);
    }
  } else if (v.is_array()) {
    for (const auto& x : v) ExpectPortArrays(x, where + "[]");
  }
}

TEST(OutputContract, EveryJsonDocumentHasASchemaAndPortArrays) {
  TempDir dir;
  const std::string db = dir.File("r.db");
  auto B = [&](std::vector<std::string> args) {
    args.push_back("--json");
    args.push_back("--db");
    args.push_back(db);
    return args;
  };
  std::vector<json> docs;
  json group = Doc(B({"group", "add", "g", "--range", "20000-20100", "--allow", "22,3389"}));
  EXPECT_EQ(group["group"]["allow"], json::parse("[[22,22],[3389,3389]]")) << group.dump();
  EXPECT_EQ(group["group"]["range"], json::parse("[[20000,20100]]")) << group.dump();
  docs.push_back(group);
  json fam = Doc(B({"family", "add", "fam", "--base", "21000", "--size", "10", "--skip", "21001"}));
  EXPECT_EQ(fam["family"]["skip"], json::parse("[[21001,21001]]")) << fam.dump();
  docs.push_back(fam);
  json one = Doc(B({"assign", "alpha", "--group", "g"}));
  EXPECT_EQ(one["name"], "alpha");
  docs.push_back(one);
  json two = Doc(B({"assign", "beta", "gamma", "--group", "g"}));
  ASSERT_TRUE(two["services"].is_array()) << two.dump();
  EXPECT_EQ(two["services"].size(), 2u);
  docs.push_back(two);
  docs.push_back(Doc(B({"list"})));
  docs.push_back(Doc(B({"show", "alpha"})));
  docs.push_back(Doc(B({"group", "list"})));
  docs.push_back(Doc(B({"family", "list"})));
  json exported = Doc(B({"export"}));
  EXPECT_EQ(exported["services"].size(), 3u);
  docs.push_back(exported);
  docs.push_back(Doc(B({"check", "--no-procs"}), {0, 1}));
  docs.push_back(Doc(B({"range", "20000", "60999"}), {0, 1}));
  json reserve = Doc(B({"reserve"}));
  EXPECT_TRUE(reserve["written"].is_null()) << reserve.dump();  // a dry run writes nothing
  json pin = Doc(B({"pin", "alpha"}), {0, 1});  // the plan; 1 when the port is taken here
  EXPECT_EQ(pin["schema"], "berth.pin/1") << pin.dump();
  EXPECT_EQ(pin["port"], one["port"]) << pin.dump();
  docs.push_back(pin);
  docs.push_back(reserve);
  docs.push_back(Doc(B({"firewall", "--format", "nft"})));
  docs.push_back(Doc(B({"firewall", "--surface"})));
  docs.push_back(Doc(B({"store", "check"})));
  const std::string file = dir.File("berth.toml");
  auto toml = RunBerth({"export", "--db", db, "-o", file});
  ASSERT_EQ(toml.exit_code, 0) << toml.err;
  docs.push_back(Doc(B({"plan", file})));
  docs.push_back(Doc(B({"apply", file})));
  docs.push_back(Doc(B({"import", file})));
  json released = Doc(B({"release", "beta", "gamma"}));
  EXPECT_EQ(released["released"].size(), 2u) << released.dump();
  docs.push_back(released);
  docs.push_back(Doc(B({"scan", "--no-procs"}), {0, 1}));
  docs.push_back(Doc({"pressure", "--json"}, {0, 1}));
  for (const json& d : docs) ExpectPortArrays(d, d.value("schema", "?"));
}

TEST(OutputContract, JsonWithoutAResultPrintsNothingAndExitsTwo) {
  TempDir dir;
  const std::string db = dir.File("r.db");
  ASSERT_EQ(RunBerth({"assign", "a", "--db", db}).exit_code, 0);
  // all or nothing: "nosuch" fails the release of both, and stdout has no half document.
  auto r = RunBerth({"release", "a", "nosuch", "--json", "--db", db});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("berth: error: "));
  auto both = RunBerth({"export", "--json", "--format", "toml", "--db", db});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("--json is --format json"));
}

// Progress for work over a second, on a terminal only. In a namespace, a TCP listener on
// 127.0.0.1:111 that never answers holds the rpcbind exchange for the whole --timeout (2 s):
// on a pty (util-linux `script`) stderr shows "berth: probing: N of M exchanges done" and the
// line is cleared at the end; with stderr redirected nothing of it is written.
TEST(OutputContract, ProbeShowsProgressOnATerminalOnly) {
  BERTH_REQUIRE_ROOT();
  if (test::Run({"sh", "-c", "command -v script"}).exit_code != 0) BERTH_MISSING_PEER("script (util-linux) is not installed");
  auto ns = Netns::Create("progress");
  ASSERT_TRUE(ns);
  Child silent = ListenOnLoopback(*ns, 111);
  const std::string probe = BerthBinary() + " probe --no-registry --timeout 2 --retries 0 127.0.0.1";
  auto tty = ns->Exec({"script", "-qec", probe, "/dev/null"});
  EXPECT_THAT(tty.out, HasSubstr("\rberth: probing: ")) << tty.out << tty.err;
  EXPECT_THAT(tty.out, HasSubstr(" exchanges done"));
  EXPECT_THAT(tty.out, HasSubstr("\r\x1b[K")) << "the progress line is not cleared";
  auto plain = ns->Exec({"sh", "-c", probe});
  EXPECT_THAT(plain.err, ::testing::Not(HasSubstr("probing:"))) << plain.err;
  EXPECT_THAT(plain.out, HasSubstr("1 targets")) << plain.out;
}

}  // namespace
}  // namespace berth::test

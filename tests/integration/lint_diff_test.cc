// berth lint --diff through the real binary: the printed diff is what --fix writes. It is
// applied with GNU patch exactly as printed (no fuzz, no offset) and must give the same bytes
// as --fix; GNU diff -u of the original and the fixed file must give the same hunks; and the
// only lines it changes are the expected rewrites.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "registry/registry_test_util.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kTree = std::string(BERTH_FIXTURES) + "/lint/tree";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// "cd DIR && CMD" in a shell: the diff names paths relative to where berth runs.
CommandResult RunIn(const std::string& dir, const std::string& command, const std::string& input = "") {
  return test::Run({"sh", "-c", "cd \"$1\" && " + command, "sh", dir}, input);
}

std::string Assigned(const std::string& name, const std::string& db) {
  auto r = RunBerth({"assign", name, "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

// Every regular file below `root`, by path relative to it, with its bytes.
std::map<std::string, std::string> Files(const std::string& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), root).string()] = ReadFile(e.path().string());
  }
  return out;
}

// The '-' and '+' lines of one file's part of a unified diff.
std::map<std::string, std::pair<std::string, std::string>> ChangedLines(const std::string& diff) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  std::string file;
  std::istringstream in(diff);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("+++ b/")) file = line.substr(6);
    else if (line.starts_with("--- ") || line.starts_with("@@")) continue;
    else if (line.starts_with("-")) out[file].first += line.substr(1) + "\n";
    else if (line.starts_with("+")) out[file].second += line.substr(1) + "\n";
  }
  return out;
}

TEST(LintDiff, PatchAppliesTheDiffToTheSameBytesAsFix) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string db = dir.path() + "/registry.db";
  const std::string api = Assigned("api", db);
  const std::string reporting = Assigned("mssql.reporting", db);
  const std::string orders = Assigned("orders", db);
  for (const char* copy : {"/patched", "/fixed"}) {
    fs::create_directories(dir.path() + copy);
    fs::copy(kTree, dir.path() + copy + "/tree", fs::copy_options::recursive);
  }
  const std::string patched = dir.path() + "/patched";
  const auto original = Files(patched);

  auto d = test::Run({"sh", "-c", "cd \"$1\" && \"$2\" lint --diff --db \"$0\" tree", db, patched, BerthBinary()});
  ASSERT_EQ(d.exit_code, 1) << d.err;  // the findings are still there: nothing was written
  EXPECT_THAT(d.err, HasSubstr("--diff: 5 edits in 3 files; apply with patch -p1"));
  EXPECT_EQ(Files(patched), original);
  EXPECT_THAT(d.out, Not(HasSubstr("warning [")));  // the diff alone on stdout

  // Only the rewrites change, line by line.
  const auto changed = ChangedLines(d.out);
  ASSERT_EQ(changed.size(), 3u) << d.out;
  EXPECT_EQ(changed.at("tree/compose.yaml").first, "      - \"50051:50051\"\n      - 2222:22\n");
  EXPECT_EQ(changed.at("tree/compose.yaml").second,
            "      - \"" + api + ":50051\"\n      - \"2222:22\"\n");
  EXPECT_EQ(changed.at("tree/app/application.properties").first, "server.port=0\n");
  EXPECT_EQ(changed.at("tree/app/application.properties").second, "server.port=" + orders + "\n");
  const std::string& appsettings_old = changed.at("tree/dotnet/appsettings.json").first;
  const std::string& appsettings_new = changed.at("tree/dotnet/appsettings.json").second;
  EXPECT_THAT(appsettings_old, HasSubstr("sql1\\\\REPORTING;"));
  EXPECT_THAT(appsettings_new, HasSubstr("sql1\\\\REPORTING," + reporting + ";"));
  EXPECT_THAT(appsettings_new, HasSubstr("sql2,1433"));

  // GNU patch applies it exactly as printed: no fuzz, no offset, nothing rejected.
  auto p = RunIn(patched, "patch -p1 -F0 --batch --no-backup-if-mismatch", d.out);
  ASSERT_EQ(p.exit_code, 0) << p.out << p.err;
  EXPECT_THAT(p.out, Not(HasSubstr("offset")));
  EXPECT_THAT(p.out, Not(HasSubstr("fuzz")));

  auto f = RunBerth({"lint", "--fix", "--db", db, dir.path() + "/fixed/tree"});
  EXPECT_THAT(f.err, HasSubstr("--fix wrote 5 edits in 3 files"));
  const auto fixed = Files(dir.path() + "/fixed");
  EXPECT_EQ(Files(patched), fixed);

  // GNU diff -u finds the same hunks between the original and the fixed files.
  for (const char* rel : {"compose.yaml", "app/application.properties", "dotnet/appsettings.json"}) {
    auto gnu = test::Run({"diff", "-u", kTree + "/" + rel, dir.path() + "/fixed/tree/" + rel});
    ASSERT_EQ(gnu.exit_code, 1) << rel;
    const std::string hunks = gnu.out.substr(gnu.out.find("\n@@") + 1);
    const std::size_t start = d.out.find("--- a/tree/" + std::string(rel) + "\n");
    ASSERT_NE(start, std::string::npos) << rel;
    const std::size_t body = d.out.find("\n@@", start) + 1;
    const std::size_t next = d.out.find("\n--- a/", body);
    EXPECT_EQ(d.out.substr(body, next == std::string::npos ? std::string::npos : next + 1 - body), hunks)
        << rel;
  }

  // Linting the patched tree finds nothing left to rewrite: an empty diff.
  auto again = test::Run({"sh", "-c", "cd \"$1\" && \"$2\" lint --diff --db \"$0\" tree", db, patched, BerthBinary()});
  EXPECT_EQ(again.out, "");
  EXPECT_THAT(again.err, HasSubstr("--diff: 0 edits in 0 files"));
}

// The servers fixture (HAProxy, Apache, ExecStart=): the registry's port is written over a
// service's single port; Apache declares two (80-like and 443), so it gets the finding and
// no edit.
TEST(LintDiff, ServersFixtureDiffEqualsFix) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string db = dir.path() + "/registry.db";
  const std::string grpc = Assigned("grpc", db);
  const std::string redis = Assigned("redis", db);
  const std::string apache = Assigned("apache", db);
  const std::string servers = std::string(BERTH_FIXTURES) + "/lint/servers";
  for (const char* copy : {"/patched", "/fixed"}) {
    fs::create_directories(dir.path() + copy);
    fs::copy(servers, dir.path() + copy + "/servers", fs::copy_options::recursive);
  }
  const std::string patched = dir.path() + "/patched";
  auto d = test::Run({"sh", "-c", "cd \"$1\" && \"$2\" lint --diff --db \"$0\" servers", db, patched,
                      BerthBinary()});
  ASSERT_EQ(d.exit_code, 1) << d.err;
  EXPECT_THAT(d.err, HasSubstr("--diff: 2 edits in 2 files"));
  const auto changed = ChangedLines(d.out);
  ASSERT_EQ(changed.size(), 2u) << d.out;
  EXPECT_EQ(changed.at("servers/etc/haproxy/haproxy.cfg").first, "\tbind 127.0.0.1:50051\n");
  EXPECT_EQ(changed.at("servers/etc/haproxy/haproxy.cfg").second, "\tbind 127.0.0.1:" + grpc + "\n");
  EXPECT_THAT(changed.at("servers/systemd/cache.service").second, HasSubstr("--port " + redis + " \\\n"));
  auto p = RunIn(patched, "patch -p1 -F0 --batch --no-backup-if-mismatch", d.out);
  ASSERT_EQ(p.exit_code, 0) << p.out << p.err;
  auto f = RunBerth({"lint", "--fix", "--db", db, dir.path() + "/fixed/servers"});
  EXPECT_THAT(f.err, HasSubstr("--fix wrote 2 edits in 2 files"));
  EXPECT_EQ(Files(patched), Files(dir.path() + "/fixed"));
  // Apache keeps its ports: the mismatch is reported, nothing is rewritten.
  auto again = RunBerth({"lint", "--db", db, "--json", patched + "/servers"});
  auto j = nlohmann::json::parse(again.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << again.out;
  int apache_mismatches = 0;
  for (const auto& finding : j["findings"]) {
    EXPECT_TRUE(finding["edit"].is_null()) << finding.dump();
    apache_mismatches += finding["rule"] == "registry-mismatch" &&
                         finding["why"].get<std::string>().find("gives apache port " + apache) != std::string::npos;
  }
  EXPECT_EQ(apache_mismatches, 4);  // Listen 8081, Listen 443, *:8081, 127.0.0.1:40080
}

TEST(LintDiff, AbsolutePathsBelowTheDirectoryAreMadeRelative) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::ofstream(dir.path() + "/compose.yaml") << "services:\n  ssh:\n    ports:\n      - 2222:22\n";
  auto d = test::Run({"sh", "-c", "cd \"$0\" && \"$1\" lint --no-registry --diff \"$0\"", dir.path(), BerthBinary()});
  EXPECT_EQ(d.exit_code, 1) << d.err;
  EXPECT_EQ(d.out, "--- a/compose.yaml\n+++ b/compose.yaml\n@@ -1,4 +1,4 @@\n services:\n   ssh:\n"
                   "     ports:\n-      - 2222:22\n+      - \"2222:22\"\n");
}

TEST(LintDiff, ANameADiffCannotCarryIsAnErrorAndTheRestIsShown) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (std::string sub : {std::string("ok"), std::string("evil\x1b]0;x\x07")}) {
    fs::create_directories(dir.path() + "/" + sub);
    std::ofstream(dir.path() + "/" + sub + "/compose.yaml") << "services:\n  s:\n    ports:\n      - 2222:22\n";
  }
  auto d = test::Run({"sh", "-c", "cd \"$0\" && \"$1\" lint --no-registry --diff .", dir.path(), BerthBinary()});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_THAT(d.out, HasSubstr("+++ b/ok/compose.yaml\n"));
  EXPECT_THAT(d.out, Not(HasSubstr("evil")));
  EXPECT_THAT(d.err, HasSubstr("evil\\x1b]0;x\\x07/compose.yaml: its name has a control byte"));
  EXPECT_EQ(d.err.find('\x1b'), std::string::npos);
  EXPECT_EQ(RunBerth({"lint", "--diff", "--fix", dir.path()}).exit_code, 2);
  EXPECT_EQ(RunBerth({"lint", "--diff", "--json", dir.path()}).exit_code, 2);
}

// On a terminal (a pty from script(1)), a file line with an escape sequence is shown escaped,
// with a warning; redirected, the same diff is written byte for byte.
TEST(LintDiff, ATerminalGetsNoEscapeSequence) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::ofstream(dir.path() + "/app.ini")
      << "; \x1b]0;owned\x07\nMain=Data Source=sql2:1433;Initial Catalog=main\n";
  auto piped = test::Run({"sh", "-c", "cd \"$0\" && \"$1\" lint --no-registry --diff .", dir.path(), BerthBinary()});
  EXPECT_EQ(piped.out, "--- a/app.ini\n+++ b/app.ini\n@@ -1,2 +1,2 @@\n ; \x1b]0;owned\x07\n"
                       "-Main=Data Source=sql2:1433;Initial Catalog=main\n"
                       "+Main=Data Source=sql2,1433;Initial Catalog=main\n");
  const std::string command = "cd '" + dir.path() + "' && '" + BerthBinary() + "' lint --no-registry --diff .";
  auto tty = test::Run({"script", "-qec", command, "/dev/null"});
  EXPECT_EQ(tty.out.find('\x1b'), std::string::npos) << tty.out;
  EXPECT_THAT(tty.out, HasSubstr(" ; \\x1b]0;owned\\x07"));
  EXPECT_THAT(tty.out, HasSubstr("shown escaped here: redirect it to a file or a pipe"));
  EXPECT_THAT(tty.out, HasSubstr("+Main=Data Source=sql2,1433;"));
}

}  // namespace
}  // namespace berth::test

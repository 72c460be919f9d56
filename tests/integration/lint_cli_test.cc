// berth lint through the real binary on the fixture tree tests/fixtures/lint/tree: the text,
// JSON and SARIF outputs, exit codes, .gitignore and globs, the registry's ports in fixes, and
// hostile files. Independent parsers cross-check the readers: PyYAML for Compose and
// Kubernetes, Augeas's lenses for sshd_config and nginx.
#include <stdlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace berth::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kTree = std::string(BERTH_FIXTURES) + "/lint/tree";
const std::string kClean = std::string(BERTH_FIXTURES) + "/lint/clean";

CommandResult Lint(std::vector<std::string> args) {
  args.insert(args.begin(), {"lint", "--no-registry", "--color", "never"});
  return RunBerth(args);
}

nlohmann::json LintJson(const std::vector<std::string>& paths) {
  std::vector<std::string> args{"--json"};
  args.insert(args.end(), paths.begin(), paths.end());
  auto r = Lint(args);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-lint-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content) const {
    const std::string p = path_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  std::string path_;
};

TEST(LintCli, TextNamesEveryFindingWithItsPosition) {
  auto r = Lint({kTree});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err, "");
  for (const char* line : {
           "/compose.yaml:11:10: warning [ephemeral-port] port 50051",
           "/compose.yaml:15:10: warning [dynamic-port] only the container port 9000",
           "/compose.yaml:22:21: error [port-collision] db 5433/tcp is also declared by postgresql",
           "/compose.yaml:27:9: warning [compose-sexagesimal]",
           "/compose.yaml:7:20: error [port-collision] web 8443/tcp is also declared by nginx",
           "/etc/ssh/sshd_config:3:6: warning [ephemeral-port] port 40022",
           "/etc/redis/redis.conf:2:6: warning [ephemeral-port] port 40000 (Redis cluster bus",
           "/etc/mysql/my.cnf:5:8: warning [ephemeral-port] port 33060 (MySQL X Plugin",
           "/systemd/app.socket:6:16: warning [dynamic-port] port 0",
           "/app/application.properties:2:13: warning [dynamic-port]",
           "/app/application.properties:3:40: warning [port-mapper-client] the named instance SQLEXPRESS",
           "/dotnet/appsettings.json:3:28: warning [port-mapper-client] the named instance REPORTING",
           "/dotnet/appsettings.json:4:26: error [sqlclient-host-port]",
           "/k8s/app.yaml:41:30: warning [ephemeral-port] port 62000 is inside the Windows",
           "/app/.env:3:28: warning [ephemeral-port] port 45000",
           "/app/.env:1:6: info [conventional-port] 3000/tcp is where Grafana",
           "/systemd/app.socket:5:22: info [conventional-port] 9100/tcp is where Prometheus node_exporter",
           "/compose.yaml:11:10: info [conventional-port] 50051/tcp is where gRPC"}) {
    EXPECT_THAT(r.out, HasSubstr(line));
  }
  EXPECT_THAT(r.out, HasSubstr("  fix  Server=tcp:sql2,1433\n"));
  EXPECT_THAT(r.out, HasSubstr("berth lint: 11 files, 40 declarations, 7 errors, 12 warnings, 3 info\n"));
  // Secrets in connection strings are never shown; the ignored directory is not read.
  EXPECT_THAT(r.out, Not(HasSubstr("hunter2")));
  EXPECT_THAT(r.out, Not(HasSubstr("s3cret")));
  EXPECT_THAT(r.out, Not(HasSubstr("ignored/")));
}

TEST(LintCli, ExitCodes) {
  auto clean = Lint({kClean});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_THAT(clean.out, HasSubstr("2 files, 3 declarations, 0 errors, 0 warnings"));
  EXPECT_EQ(Lint({"--fail-on", "error", kTree + "/etc/ssh"}).exit_code, 0);  // warnings only
  EXPECT_EQ(Lint({"--fail-on", "none", kTree}).exit_code, 0);
  auto missing = Lint({kTree + "/nosuch"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("nosuch: no such file or directory"));
  EXPECT_EQ(Lint({"--json", "--sarif", kClean}).exit_code, 2);
  auto bad_store = RunBerth({"lint", "--store", "bogus://x", kClean});
  EXPECT_EQ(bad_store.exit_code, 2);  // a registry the command line names must work
  EXPECT_THAT(bad_store.err, HasSubstr("the registry: "));
  EXPECT_EQ(RunBerth({"lint"}).exit_code, 2);  // a path is required
}

TEST(LintCli, GitignoreAndGlobs) {
  auto all = Lint({"--no-gitignore", kTree});
  EXPECT_THAT(all.out, HasSubstr("ignored/compose.yaml:5:10: warning [dynamic-port] port 0"));
  auto no_k8s = Lint({"--exclude", "k8s", "--exclude", "*.env", kTree});
  EXPECT_THAT(no_k8s.out, Not(HasSubstr("/k8s/")));
  EXPECT_THAT(no_k8s.out, Not(HasSubstr(".env")));
  EXPECT_THAT(no_k8s.out, HasSubstr("/compose.yaml:"));
  auto only = Lint({"--include", "*.socket", kTree});
  EXPECT_THAT(only.out, HasSubstr("berth lint: 1 file, 2 declarations"));
}

TEST(LintCli, JsonDocument) {
  auto j = LintJson({kTree});
  EXPECT_EQ(j["schema"], "berth.lint/1");
  EXPECT_EQ(j["files"].size(), 11u);
  EXPECT_EQ(j["declarations"].size(), 40u);
  EXPECT_EQ(j["summary"]["errors"], 7);
  EXPECT_EQ(j["summary"]["warnings"], 12);
  EXPECT_TRUE(j["errors"].empty());
  std::set<std::tuple<std::string, int, int>> found;
  for (const auto& f : j["findings"]) {
    const std::string file = f["file"];
    found.emplace(f["rule"].get<std::string>() + " " + file.substr(kTree.size()), f["line"], f["column"]);
    EXPECT_FALSE(f["why"].get<std::string>().empty());
    EXPECT_FALSE(f["fix"].get<std::string>().empty());
  }
  EXPECT_TRUE(found.count({"port-collision /etc/nginx/sites-enabled/default", 4, 9}));
  EXPECT_TRUE(found.count({"port-collision /k8s/app.yaml", 13, 25}));
  EXPECT_TRUE(found.count({"ephemeral-port /compose.yaml", 11, 10}));
  const auto& collision = *std::find_if(j["findings"].begin(), j["findings"].end(),
                                        [](const auto& f) { return f["rule"] == "port-collision"; });
  ASSERT_EQ(collision["related"].size(), 1u);
}

// The SARIF log checked by a second reader (python3's json) against the fields SARIF 2.1.0
// requires and code-scanning tools read.
TEST(LintCli, SarifIsValid) {
  auto r = Lint({"--sarif", kTree});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  auto py = test::Run({"python3", "-c", R"(
import json, sys
log = json.load(sys.stdin)
assert log["version"] == "2.1.0", log["version"]
assert log["$schema"].endswith("sarif-2.1.0.json")
assert len(log["runs"]) == 1
run = log["runs"][0]
driver = run["tool"]["driver"]
assert driver["name"] == "berth" and driver["version"]
ids = [r["id"] for r in driver["rules"]]
assert len(ids) == len(set(ids)) == 11, ids
for rule in driver["rules"]:
    assert rule["shortDescription"]["text"]
    assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
assert run["invocations"][0]["executionSuccessful"] is True
fixes = 0
for res in run["results"]:
    assert res["ruleId"] == ids[res["ruleIndex"]], res
    assert res["level"] in ("error", "warning", "note")
    assert res["message"]["text"]
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"]
    assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1
    for rel in res.get("relatedLocations", []):
        assert rel["physicalLocation"]["region"]["startLine"] >= 1
    for fix in res.get("fixes", []):
        change = fix["artifactChanges"][0]
        assert change["artifactLocation"]["uri"] == loc["artifactLocation"]["uri"]
        rep = change["replacements"][0]
        assert rep["deletedRegion"]["byteOffset"] >= 0 and rep["deletedRegion"]["byteLength"] > 0
        assert rep["insertedContent"]["text"]
        fixes += 1
print(len(run["results"]), fixes)
)"},
                r.out);
  ASSERT_EQ(py.exit_code, 0) << py.err;
  EXPECT_EQ(py.out, "22 2\n");  // the base-60 entry and Server=HOST:PORT carry their rewrite
}

// PyYAML reads the Compose file and the manifests on its own; the host ports and Kubernetes
// ports it finds, by key path, must be the ones berth found.
TEST(LintCli, YamlPortsAgreeWithPyYaml) {
  auto j = LintJson({kTree + "/compose.yaml", kTree + "/k8s/app.yaml"});
  std::set<std::string> berth;
  for (const auto& d : j["declarations"]) {
    const std::string kind = d["kind"];
    if (d["format"] == "compose" && kind == "publish" && d["dynamic"] == "") {
      berth.insert(fmt::format("{} {}", d["key"].get<std::string>(), d["ports"].get<std::string>()));
    } else if (d["format"] == "kubernetes") {
      berth.insert(fmt::format("{} {}", d["key"].get<std::string>(), d["ports"].get<std::string>()));
    }
  }
  auto py = test::Run({"python3", "-c", R"(
import sys, yaml
out = []
compose = yaml.safe_load(open(sys.argv[1]))
for name, svc in compose["services"].items():
    for i, p in enumerate(svc.get("ports", [])):
        key = "services.%s.ports[%d]" % (name, i)
        if isinstance(p, dict):
            if "published" in p:
                out.append("%s.published %s" % (key, p["published"]))
        elif isinstance(p, int):
            # YAML 1.1 reads an unquoted 2222:22 as a base-60 number: berth flags it and
            # reads it as Compose (YAML 1.2) does.
            h, c = divmod(p, 60)
            out.append("%s %d" % (key, h))
        else:
            parts = str(p).split("/")[0].split(":")
            if len(parts) >= 2 and parts[-2]:
                out.append("%s %s" % (key, parts[-2]))
def walk(node, path, kind):
    if isinstance(node, list):
        for i, n in enumerate(node):
            walk(n, "%s[%d]" % (path, i), kind)
    elif isinstance(node, dict):
        in_ports = path.endswith("]") and ".ports[" in path
        for k, v in node.items():
            child = k if not path else path + "." + k
            if isinstance(v, int) and (k in ("containerPort", "hostPort", "nodePort") or
                    (in_ports and (k == "targetPort" or (k == "port" and kind == "Service")))):
                out.append("%s %d" % (child, v))
            else:
                walk(v, child, kind)
for doc in yaml.safe_load_all(open(sys.argv[2])):
    if doc:
        walk(doc, "", doc.get("kind"))
print("\n".join(sorted(out)))
)",
                 kTree + "/compose.yaml", kTree + "/k8s/app.yaml"});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  std::set<std::string> pyyaml;
  std::istringstream lines(py.out);
  for (std::string line; std::getline(lines, line);) pyyaml.insert(line);
  EXPECT_EQ(berth, pyyaml);
  EXPECT_EQ(pyyaml.size(), 12u);  // the check compares something
}

// Augeas's Sshd and Nginx lenses read the same files: the ports must agree.
TEST(LintCli, SshdAndNginxPortsAgreeWithAugeas) {
  if (test::Run({"sh", "-c", "command -v augtool"}).exit_code != 0) {
    BERTH_MISSING_PEER("augtool is not installed (scripts/install-deps test installs augeas-tools)");
  }
  auto aug = test::Run({"augtool", "--noload", "--noautoload", "-r", kTree},
                 "set /augeas/load/Sshd/lens Sshd.lns\n"
                 "set /augeas/load/Sshd/incl /etc/ssh/sshd_config\n"
                 "set /augeas/load/Nginx/lens Nginx.lns\n"
                 "set /augeas/load/Nginx/incl /etc/nginx/sites-enabled/default\n"
                 "load\n"
                 "match /files/etc/ssh/sshd_config/Port\n"
                 "match /files/etc/nginx/sites-enabled/default//listen\n"
                 "match /augeas//error\n");
  ASSERT_EQ(aug.exit_code, 0) << aug.err;
  ASSERT_THAT(aug.out, Not(HasSubstr("/augeas/"))) << aug.out;  // both lenses parsed
  std::multiset<std::string> augeas;
  std::istringstream lines(aug.out);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    std::string value = line.substr(eq + 3);
    value = value.substr(0, value.find(' '));          // "80 default_server"
    value = value.substr(value.rfind(':') + 1);        // "[::]:80"
    augeas.insert((line.find("sshd") != std::string::npos ? "sshd " : "nginx ") + value);
  }
  auto j = LintJson({kTree + "/etc/ssh/sshd_config", kTree + "/etc/nginx/sites-enabled/default"});
  std::multiset<std::string> berth;
  for (const auto& d : j["declarations"]) {
    berth.insert(d["service"].get<std::string>() + " " + d["ports"].get<std::string>());
  }
  EXPECT_EQ(berth, augeas) << aug.out;
  EXPECT_EQ(augeas.size(), 5u) << aug.out;
}

// The systemd units Debian ships, as shipped: Augeas's Systemd lens reads the same
// ListenStream=/ListenDatagram= values; rpcbind's socket is a port mapper, the NFS units
// depend on it. Then rpcbind.socket with its port moved into the ephemeral range.
TEST(LintCli, DebianSystemdUnitsAsShipped) {
  const std::string units = "/lib/systemd/system";
  if (!std::filesystem::exists(units + "/rpcbind.socket")) {
    BERTH_MISSING_PEER("rpcbind is not installed (scripts/install-deps test installs it)");
  }
  if (test::Run({"sh", "-c", "command -v augtool"}).exit_code != 0) {
    BERTH_MISSING_PEER("augtool is not installed (scripts/install-deps test installs augeas-tools)");
  }
  auto r = RunBerth({"lint", "--no-registry", "--json", units});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_TRUE(j["errors"].empty()) << j["errors"].dump();
  std::multiset<std::string> berth;
  std::set<std::string> rules;
  for (const auto& d : j["declarations"]) {
    if (d["format"] != "systemd-socket") continue;
    berth.insert(fmt::format("{} {} {}", d["file"].get<std::string>(), d["key"].get<std::string>(),
                             d["ports"].get<std::string>()));
  }
  for (const auto& f : j["findings"]) {
    rules.insert(f["rule"].get<std::string>() + " " + f["file"].get<std::string>() + " " +
                 f["ports"].get<std::string>());
  }
  EXPECT_TRUE(rules.count("port-mapper " + units + "/rpcbind.socket 111")) << j["findings"].dump();
  auto aug = test::Run({"augtool", "--noload", "--noautoload"},
                       "set /augeas/load/Systemd/lens Systemd.lns\n"
                       "set /augeas/load/Systemd/incl " + units + "/*.socket\n"
                       "load\n"
                       "match /files" + units + "/*/Socket/*/value\n"
                       "match /augeas//error\n");
  ASSERT_EQ(aug.exit_code, 0) << aug.err;
  std::multiset<std::string> augeas;
  std::istringstream lines(aug.out);
  for (std::string line; std::getline(lines, line);) {
    // "/files/lib/systemd/system/rpcbind.socket/Socket/ListenStream[2]/value = 0.0.0.0:111"
    const std::size_t eq = line.find(" = ");
    const std::size_t sock = line.find("/Socket/");
    if (eq == std::string::npos || sock == std::string::npos) continue;
    const std::string file = line.substr(6, sock - 6);
    std::string key = line.substr(sock + 8, line.find('/', sock + 8) - sock - 8);
    key = key.substr(0, key.find('['));
    if (key != "ListenStream" && key != "ListenDatagram") continue;
    const std::string value = line.substr(eq + 3);
    const std::string port = value.substr(value.rfind(':') + 1);
    if (value.empty() || value[0] == '/' || port.find_first_not_of("0123456789") != std::string::npos) continue;
    augeas.insert(fmt::format("{} {} {}", file, key, port));
  }
  EXPECT_EQ(berth, augeas) << aug.out;
  EXPECT_GE(augeas.size(), 4u);  // rpcbind's four

  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string socket = ReadFile(units + "/rpcbind.socket");
  for (std::size_t at = socket.find(":111"); at != std::string::npos; at = socket.find(":111", at)) {
    socket.replace(at, 4, ":40111");
  }
  dir.Write("rpcbind.socket", socket);
  auto moved = RunBerth({"lint", "--no-registry", "--json", dir.path()});
  auto m = nlohmann::json::parse(moved.out, nullptr, false);
  ASSERT_FALSE(m.is_discarded());
  int ephemeral = 0;
  for (const auto& f : m["findings"]) ephemeral += f["rule"] == "ephemeral-port" && f["ports"] == "40111";
  EXPECT_EQ(ephemeral, 4) << moved.out;
}

TEST(LintCli, RegistryPortsInTheFixes) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string db = dir.path() + "/registry.db";
  auto assigned = RunBerth({"assign", "api", "--db", db});
  ASSERT_EQ(assigned.exit_code, 0) << assigned.err;
  const std::string port = assigned.out.substr(assigned.out.find_first_of("0123456789"),
                                               assigned.out.find_first_not_of("0123456789",
                                                   assigned.out.find_first_of("0123456789")) -
                                                   assigned.out.find_first_of("0123456789"));
  auto r = RunBerth({"lint", "--db", db, kTree + "/compose.yaml"});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("to " + port + " (the registry's port for api)"));
  EXPECT_THAT(r.out, HasSubstr("warning [registry-mismatch] the registry gives api port " + port));
  EXPECT_THAT(r.out, HasSubstr("(registry "));

  // A group's hosts' ephemeral ranges count too: one whose range was set to 8000-8999 takes in
  // web's 8080.
  auto group = RunBerth({"group", "add", "bsd", "--host", "bsd1", "--ephemeral", "8000-8999", "--db", db});
  ASSERT_EQ(group.exit_code, 0) << group.err;
  auto plain = RunBerth({"lint", "--db", db, kClean});
  EXPECT_EQ(plain.exit_code, 0) << plain.out;
  auto in_group = RunBerth({"lint", "--db", db, "--group", "bsd", kClean});
  EXPECT_EQ(in_group.exit_code, 1) << in_group.out << in_group.err;
  EXPECT_THAT(in_group.out, HasSubstr("compose.yaml:5:10: warning [ephemeral-port] port 8080 is "
                                      "inside the ephemeral ranges of group bsd's hosts (8000-8999)"));
  EXPECT_EQ(RunBerth({"lint", "--db", db, "--group", "nosuch", kClean}).exit_code, 2);
  EXPECT_EQ(RunBerth({"lint", "--no-registry", "--group", "bsd", kClean}).exit_code, 2);
}

std::string AssignedPort(const std::string& name, const std::string& db) {
  auto r = RunBerth({"assign", name, "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  while (!r.out.empty() && (r.out.back() == '\n')) r.out.pop_back();
  return r.out;
}

// --fix on a copy of the tree: the only bytes that change are the rewrites, and linting the
// result no longer finds what was fixed.
TEST(LintCli, FixRewritesOnlyWhatIsCertain) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string copy = dir.path() + "/tree";
  std::filesystem::copy(kTree, copy, std::filesystem::copy_options::recursive);
  std::filesystem::permissions(copy + "/compose.yaml", std::filesystem::perms(0640));
  const std::string db = dir.path() + "/registry.db";
  const std::string api = AssignedPort("api", db);
  const std::string reporting = AssignedPort("mssql.reporting", db);
  const std::string orders = AssignedPort("orders", db);
  ASSERT_FALSE(api.empty());

  auto r = RunBerth({"lint", "--fix", "--db", db, "--color", "never", copy});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // what --fix cannot decide is still reported
  EXPECT_THAT(r.err, HasSubstr("--fix wrote 5 edits in 3 files"));

  auto expect_file = [&](const std::string& rel, std::map<std::string, std::string> changes) {
    std::string want = ReadFile(kTree + "/" + rel);
    for (const auto& [from, to] : changes) {
      const std::size_t at = want.find(from);
      ASSERT_NE(at, std::string::npos) << from;
      want.replace(at, from.size(), to);
    }
    EXPECT_EQ(ReadFile(copy + "/" + rel), want) << rel;
  };
  expect_file("compose.yaml", {{"\"50051:50051\"", "\"" + api + ":50051\""},
                               {"- 2222:22", "- \"2222:22\""}});
  expect_file("app/application.properties", {{"server.port=0", "server.port=" + orders}});
  expect_file("dotnet/appsettings.json", {{"sql1\\\\REPORTING;", "sql1\\\\REPORTING," + reporting + ";"},
                                          {"sql2:1433", "sql2,1433"}});
  for (const char* unchanged : {"etc/ssh/sshd_config", "etc/nginx/sites-enabled/default", "k8s/app.yaml",
                                "etc/redis/redis.conf", "app/.env"}) {
    EXPECT_EQ(ReadFile(copy + "/" + unchanged), ReadFile(kTree + "/" + unchanged)) << unchanged;
  }
  EXPECT_EQ(std::filesystem::status(copy + "/compose.yaml").permissions(), std::filesystem::perms(0640));

  auto again = RunBerth({"lint", "--json", "--db", db, copy});
  auto j = nlohmann::json::parse(again.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << again.out;
  for (const auto& f : j["findings"]) {
    EXPECT_TRUE(f["edit"].is_null()) << f.dump();
    EXPECT_NE(f["rule"], "compose-sexagesimal");
    EXPECT_NE(f["rule"], "sqlclient-host-port");
    EXPECT_NE(f["rule"], "registry-mismatch");
  }
  auto nothing = RunBerth({"lint", "--fix", "--db", db, copy});
  EXPECT_THAT(nothing.err, HasSubstr("--fix wrote 0 edits in 0 files"));
}

// lint --probe FILE, with no registry: sql1\REPORTING's static port from a berth probe
// document goes into the connection string with --fix (the file's other text kept); a
// dynamic instance is named, not written; a file that is not such a document is an error.
TEST(LintCli, ProbeFileGivesAStaticInstanceItsPort) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string app = dir.Write(
      "appsettings.json",
      "{\"ConnectionStrings\": {\"Reports\": \"Server=tcp:sql1\\\\REPORTING;Database=r\",\n"
      "                       \"Express\": \"Server=192.0.2.10\\\\SQLEXPRESS;Database=e\",\n"
      "                       \"Other\": \"Server=sql1\\\\SALES;Database=s\"}}\n");
  const std::string probe = std::string(BERTH_FIXTURES) + "/fuzz/lint_probe_json_fuzz/probe.json";
  auto r = Lint({"--probe", probe, app});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Server=tcp:sql1,1533 (JDBC: jdbc:sqlserver://sql1:1533), the static "
                               "port sql1\\REPORTING listens on (berth probe, " + probe + ")"));
  // SQLEXPRESS listens on a dynamic port, but the probe saw the registry's static one for it.
  EXPECT_THAT(r.out, HasSubstr("Server=tcp:192.0.2.10,21433"));
  auto fix = Lint({"--fix", "--probe", probe, app});
  EXPECT_THAT(fix.err, HasSubstr("--fix wrote 2 edits in 1 file"));
  EXPECT_EQ(ReadFile(app),
            "{\"ConnectionStrings\": {\"Reports\": \"Server=tcp:sql1\\\\REPORTING,1533;Database=r\",\n"
            "                       \"Express\": \"Server=192.0.2.10\\\\SQLEXPRESS,21433;Database=e\",\n"
            "                       \"Other\": \"Server=sql1\\\\SALES;Database=s\"}}\n");
  // Not a probe document: exit 2, the file named, nothing linted or written.
  auto bad = Lint({"--probe", app, app});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr(app + ": not a berth probe --json document (schema berth.probe/1)"));
}

TEST(LintCli, HostileFilesAreErrorsAndTheRestIsLinted) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  dir.Write("big/compose.yaml", std::string(10 << 20, '#'));
  std::string bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n";
  for (char c = 'b'; c <= 'k'; ++c) {
    bomb += fmt::format("{}: &{} [*{},*{},*{},*{},*{},*{},*{},*{},*{}]\n", c, c, char(c - 1),
                        char(c - 1), char(c - 1), char(c - 1), char(c - 1), char(c - 1),
                        char(c - 1), char(c - 1), char(c - 1));
  }
  dir.Write("bomb.yaml", bomb);
  dir.Write("deep.yml", "a: " + std::string(100000, '[') + "\n");
  dir.Write("nul/.env", std::string("PORT=1\0\n", 8));
  dir.Write("long/redis.conf", "port " + std::string(100000, '7') + "\n");
  dir.Write("evil\x1b]0;owned\x07/.env", "PORT=0\n\x1b[2J=1\n");
  dir.Write("ok/sshd_config", "Port 50000\n");
  auto r = RunBerth({"lint", "--no-registry", "--color", "never", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  for (const char* file : {"big/compose.yaml", "bomb.yaml", "deep.yml", "nul/.env", "long/redis.conf"}) {
    EXPECT_THAT(r.err, HasSubstr(std::string(file) + ": ")) << file;
  }
  EXPECT_THAT(r.err, HasSubstr("alias bomb"));
  EXPECT_THAT(r.out, HasSubstr("ok/sshd_config:1:6: warning [ephemeral-port] port 50000"));
  EXPECT_THAT(r.out, HasSubstr("evil\\x1b]0;owned\\x07/.env:1:6: warning [dynamic-port]"));
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos);
  auto json = RunBerth({"lint", "--no-registry", "--json", dir.path()});
  EXPECT_EQ(json.exit_code, 2);
  auto j = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["errors"].size(), 5u);
}

}  // namespace
}  // namespace berth::test

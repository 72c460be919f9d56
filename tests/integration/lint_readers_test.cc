// berth lint's HAProxy, Apache, ExecStart=, odbc.ini, freetds.conf, go-mssqldb and pymssql
// readers through the real binary on tests/fixtures/lint/servers; Augeas's lenses (Httpd,
// Systemd, Odbc, Samba for freetds.conf) read the same files and the ports must agree; and
// Debian's own nginx and HAProxy files, as shipped and with their ports moved into the
// ephemeral range.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "integration/lint_support.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kServers = std::string(BERTH_FIXTURES) + "/lint/servers";

nlohmann::json LintJson(const std::vector<std::string>& paths, int want_exit = 1) {
  std::vector<std::string> args{"lint", "--no-registry", "--json"};
  args.insert(args.end(), paths.begin(), paths.end());
  auto r = RunBerth(args);
  EXPECT_EQ(r.exit_code, want_exit) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

TEST(LintReaders, ServersFixtureFindings) {
  auto r = RunBerth({"lint", "--no-registry", "--color", "never", kServers, kServers + "/src/db.go",
                     kServers + "/src/db.py"});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err, "");
  for (const char* line : {
           "/etc/haproxy/haproxy.cfg:20:17: warning [ephemeral-port] port 50051",
           "/etc/haproxy/haproxy.cfg:13:10: error [port-collision] www 443/tcp is also declared by apache",
           "/etc/apache2/ports.conf:8:9: error [port-collision] apache 443/tcp is also declared by www",
           "/etc/apache2/sites-enabled/000-default.conf:6:24: warning [ephemeral-port] port 40080",
           "/systemd/cache.service:5:62: warning [ephemeral-port] port 40379",
           "/etc/odbc.ini:6:16: warning [port-mapper-client] the named instance SALES",
           "/etc/freetds/freetds.conf:6:13: warning [port-mapper-client] the named instance REPORTS",
           "/src/db.go:3:37: warning [port-mapper-client] the named instance ORDERS",
           "/src/db.py:3:33: warning [port-mapper-client] the named instance BILLING",
           "/etc/haproxy/haproxy.cfg:20:17: info [conventional-port] 50051/tcp is where gRPC"}) {
    EXPECT_THAT(r.out, HasSubstr(line));
  }
  EXPECT_THAT(r.out, HasSubstr("  fix  connect to the port: port = PORT in place of instance = REPORTS"));
  EXPECT_THAT(r.out, HasSubstr("sqlserver://sql4:PORT (go-mssqldb)"));
  EXPECT_THAT(r.out, HasSubstr("berth lint: 8 files, 14 declarations, 2 errors, 7 warnings, 1 info\n"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("hunter2")));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("s3cret")));
}

// Augeas's Httpd, Odbc, Samba (freetds.conf is Samba's INI dialect) and Systemd lenses read
// the fixture's Apache, odbc.ini, freetds.conf and unit: the ports must be berth's.
TEST(LintReaders, PortsAgreeWithAugeas) {
  if (!HaveAugtool()) BERTH_MISSING_PEER("augtool is not installed (scripts/install-deps test installs augeas-tools)");
  auto values = Augtool(kServers,
                        "set /augeas/load/Httpd/lens Httpd.lns\n"
                        "set /augeas/load/Httpd/incl[1] /etc/apache2/ports.conf\n"
                        "set /augeas/load/Httpd/incl[2] /etc/apache2/sites-enabled/000-default.conf\n"
                        "set /augeas/load/Odbc/lens Odbc.lns\n"
                        "set /augeas/load/Odbc/incl /etc/odbc.ini\n"
                        "set /augeas/load/Samba/lens Samba.lns\n"
                        "set /augeas/load/Samba/incl /etc/freetds/freetds.conf\n"
                        "set /augeas/load/Systemd/lens Systemd.lns\n"
                        "set /augeas/load/Systemd/incl /systemd/cache.service\n"
                        "load\n"
                        "match /files/etc/apache2//directive[.='Listen']/arg\n"
                        "match /files/etc/apache2//VirtualHost/arg\n"
                        "match /files/etc/odbc.ini/*/Port\n"
                        "match /files/etc/odbc.ini/*/Server\n"
                        "match /files/etc/freetds/freetds.conf/target/port\n"
                        "match /files/etc/freetds/freetds.conf/target/instance\n"
                        "match /files/systemd/cache.service/Service/ExecStart/arguments/*\n");
  std::multiset<std::string> augeas;
  std::string previous;
  for (const auto& [path, raw] : values) {
    std::string value = raw;
    if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
    if (path.find("/apache2/") != std::string::npos) {
      augeas.insert("apache " + value.substr(value.rfind(':') + 1));
    } else if (path.ends_with("/Port") || path.ends_with("/port")) {
      augeas.insert("target " + value);
    } else if (path.ends_with("/Server") && value.find('\\') != std::string::npos) {
      augeas.insert("instance " + value.substr(value.find('\\') + 1));
    } else if (path.ends_with("/instance")) {
      augeas.insert("instance " + value);
    } else if (path.find("/ExecStart/") != std::string::npos && previous == "--port") {
      augeas.insert("redis " + value);
    }
    if (path.find("/ExecStart/") != std::string::npos) previous = value;
  }
  auto j = LintJson({kServers + "/etc/apache2", kServers + "/etc/odbc.ini",
                     kServers + "/etc/freetds/freetds.conf", kServers + "/systemd/cache.service"});
  std::multiset<std::string> berth;
  for (const auto& d : j["declarations"]) {
    if (d["mapper"] == "sql-browser") berth.insert("instance " + d["instance"].get<std::string>());
    else if (d["kind"] == "target") berth.insert("target " + d["ports"].get<std::string>());
    else berth.insert(d["service"].get<std::string>() + " " + d["ports"].get<std::string>());
  }
  EXPECT_EQ(berth, augeas);
  EXPECT_EQ(augeas.size(), 9u);  // 4 Apache, 2 ports, 2 instances, 1 --port
}

// Debian's nginx and HAProxy files, as their packages install them: nginx's sites agree with
// Augeas's Nginx lens; then its default site moved into the ephemeral range is found there.
TEST(LintReaders, DebianShippedNginxAndHaproxy) {
  if (!fs::exists("/etc/nginx/sites-available/default") || !fs::exists("/etc/haproxy/haproxy.cfg")) {
    BERTH_MISSING_PEER("nginx or haproxy is not installed (scripts/install-deps test installs them)");
  }
  if (!HaveAugtool()) BERTH_MISSING_PEER("augtool is not installed (scripts/install-deps test installs augeas-tools)");
  auto j = LintJson({"/etc/nginx/sites-available/default", "/etc/haproxy/haproxy.cfg"}, 0);
  EXPECT_TRUE(j["errors"].empty()) << j["errors"].dump();
  std::multiset<std::string> berth;
  for (const auto& d : j["declarations"]) berth.insert(d["format"].get<std::string>() + " " + d["ports"].get<std::string>());
  auto values = Augtool("/", "set /augeas/load/Nginx/lens Nginx.lns\n"
                             "set /augeas/load/Nginx/incl /etc/nginx/sites-available/default\n"
                             "load\n"
                             "match /files/etc/nginx/sites-available/default//listen\n");
  std::multiset<std::string> augeas;
  for (const auto& [path, value] : values) {
    std::string v = value.substr(0, value.find(' '));
    augeas.insert("nginx " + v.substr(v.rfind(':') + 1));
  }
  EXPECT_EQ(berth, augeas);
  EXPECT_GE(augeas.size(), 2u);  // listen 80, listen [::]:80

  char tmpl[] = "/tmp/berth-lint-debian-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::ifstream in("/etc/nginx/sites-available/default");
  std::string site((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int moved = 0;
  // "listen 80 default_server;" and "listen [::]:80 default_server;", not the commented ones.
  for (std::size_t at = site.find("80 default_server"); at != std::string::npos;
       at = site.find("80 default_server", at)) {
    const std::size_t comment = site.rfind('#', at);
    const bool live = comment == std::string::npos || site.rfind('\n', at) > comment;
    if (live && at > 0 && (site[at - 1] == ' ' || site[at - 1] == ':')) {
      site.replace(at, 2, "40080");
      ++moved;
    }
    at += 5;  // past what was replaced, or past a match left alone
  }
  fs::create_directories(dir + "/nginx/sites-enabled");
  std::ofstream(dir + "/nginx/sites-enabled/default") << site;
  auto m = LintJson({dir});
  fs::remove_all(dir);
  int ephemeral = 0;
  for (const auto& f : m["findings"]) ephemeral += f["rule"] == "ephemeral-port" && f["ports"] == "40080";
  EXPECT_EQ(ephemeral, moved);
  EXPECT_GE(moved, 2);
}

}  // namespace
}  // namespace berth::test

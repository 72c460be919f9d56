// Debian's own configuration files for servers that do not run here: apache2, openssh-server,
// postgresql-15, redis-server, mariadb-server and mariadb-common, fetched with apt-get download
// and unpacked (never installed) by scripts/install-deps test into BERTH_DEBIAN_CORPUS. Each is
// linted as shipped, the exact declarations asserted, and read by Augeas's lens for its format:
// the port sets must agree. Then a copy with the ports moved into the ephemeral range (the
// commented defaults uncommented, as an administrator would) is found at each port's line and
// column, and Augeas reads the copy too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/lint_support.h"
#include "registry/registry_test_util.h"
#include "support/test_support.h"

namespace berth::test::debian {
namespace {

namespace fs = std::filesystem;

const std::string kCorpus = BERTH_DEBIAN_CORPUS;
const std::string kRoot = kCorpus + "/root";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// berth lint --json on `paths`; the run must end with `want_exit` and read every file.
nlohmann::json Lint(const std::vector<std::string>& paths, int want_exit) {
  std::vector<std::string> args{"lint", "--no-registry", "--json"};
  args.insert(args.end(), paths.begin(), paths.end());
  auto r = RunBerth(args);
  EXPECT_EQ(r.exit_code, want_exit) << r.err << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  if (j.is_discarded()) return nlohmann::json::object();
  EXPECT_TRUE(j["errors"].empty()) << j["errors"].dump();
  return j;
}

std::string Below(const std::string& base, const std::string& file) {
  return file.starts_with(base) ? file.substr(base.size()) : file;
}

// Each declaration as "FILE:LINE:COLUMN KEY PORTS KIND", FILE below `base`.
std::set<std::string> Declarations(const nlohmann::json& j, const std::string& base) {
  std::set<std::string> out;
  for (const auto& d : j["declarations"]) {
    out.insert(fmt::format("{}:{}:{} {} {} {}", Below(base, d["file"].get<std::string>()),
                           d["line"].get<int>(), d["column"].get<int>(), d["key"].get<std::string>(),
                           d["ports"].get<std::string>(), d["kind"].get<std::string>()));
  }
  return out;
}

// The ports berth read, as "FILE PORT" (what Augeas can say too: no derived port).
std::multiset<std::string> BerthPorts(const nlohmann::json& j, const std::string& base) {
  std::multiset<std::string> out;
  for (const auto& d : j["declarations"]) {
    if (d["kind"] == "derived") continue;
    out.insert(Below(base, d["file"].get<std::string>()) + " " + d["ports"].get<std::string>());
  }
  return out;
}

// Each finding of `rule` as "FILE:LINE:COLUMN PORTS".
std::set<std::string> Findings(const nlohmann::json& j, const std::string& base, std::string_view rule) {
  std::set<std::string> out;
  for (const auto& f : j["findings"]) {
    if (f["rule"] != rule) continue;
    out.insert(fmt::format("{}:{}:{} {}", Below(base, f["file"].get<std::string>()), f["line"].get<int>(),
                           f["column"].get<int>(), f["ports"].get<std::string>()));
  }
  return out;
}

// Augeas's lens `lens` on `files` (paths below `root`): "FILE PORT" for each value the
// `matches` (paths inside each file's tree) select that is a port or ends in ":PORT"
// ("*:80", "0.0.0.0:40023"); other values (paths, "@abstract" sockets) are not ports.
std::multiset<std::string> AugeasPorts(const std::string& root, const std::string& lens,
                                       const std::vector<std::string>& files,
                                       const std::vector<std::string>& matches) {
  std::string script = fmt::format("set /augeas/load/{0}/lens {0}.lns\n", lens);
  for (std::size_t i = 0; i < files.size(); ++i) {
    script += fmt::format("set /augeas/load/{}/incl[{}] {}\n", lens, i + 1, files[i]);
  }
  script += "load\n";
  for (const std::string& file : files) {
    for (const std::string& m : matches) script += "match /files" + file + "/" + m + "\n";
  }
  std::multiset<std::string> out;
  for (const auto& [path, raw] : Augtool(root, script)) {
    std::string value = raw;
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) {
      value = value.substr(1, value.size() - 2);
    }
    value = value.substr(value.rfind(':') + 1);
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) continue;
    for (const std::string& file : files) {
      if (path.starts_with("/files" + file + "/")) out.insert(file + " " + value);
    }
  }
  return out;
}

// Writes `content` to `file` (a path from /) below `dir`, making its directories.
std::string WriteBelow(const TempDir& dir, const std::string& file, const std::string& content) {
  const std::string path = dir.path() + file;
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// Copies `file` (a path below the corpus root) to the same path below `dir`, with every line
// that starts (after its indentation) with one of the `edits`' `from` changed to its `to`;
// `port` is the moved port inside `to`, recorded as "FILE:LINE:COLUMN PORT" in `moved` (none
// for an edit that moves no port).
struct Edit {
  std::string from;
  std::string to;
  std::string port;
};

void CopyMoved(const TempDir& dir, const std::string& file, const std::vector<Edit>& edits,
               std::set<std::string>& moved) {
  const std::string text = Slurp(kRoot + file);
  ASSERT_FALSE(text.empty()) << kRoot + file;
  std::string out;
  int line_no = 0;
  std::size_t changed = 0;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    end = end == std::string::npos ? text.size() : end + 1;
    std::string line = text.substr(at, end - at);
    at = end;
    ++line_no;
    const std::size_t indent = line.find_first_not_of(" \t");
    for (const Edit& e : edits) {
      if (indent == std::string::npos || line.compare(indent, e.from.size(), e.from) != 0) continue;
      line.replace(indent, e.from.size(), e.to);
      if (!e.port.empty()) moved.insert(fmt::format("{}:{}:{} {}", file, line_no, indent + e.to.find(e.port) + 1, e.port));
      ++changed;
      break;
    }
    out += line;
  }
  EXPECT_GT(changed, 0u) << file << ": nothing to move (has Debian changed the file?)";
  WriteBelow(dir, file, out);
}

class DebianCorpus : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kCorpus + "/packages")) {
      BERTH_MISSING_PEER("Debian's server packages are not unpacked in " + kCorpus +
                         " (scripts/install-deps test fetches them)");
    }
    if (!HaveAugtool()) BERTH_MISSING_PEER("augtool is not installed (scripts/install-deps test installs augeas-tools)");
  }
};

// apache2 ships ports.conf (Listen 80; Listen 443 twice, for mod_ssl and mod_gnutls) and two
// sites (<VirtualHost *:80>, <VirtualHost *:443>); apache2.conf and the mods' and confs' files
// declare no port. Augeas's Httpd lens reads the same five.
TEST_F(DebianCorpus, ApacheAsShippedAgreesWithTheHttpdLens) {
  auto j = Lint({kRoot + "/etc/apache2"}, 0);
  EXPECT_EQ(Declarations(j, kRoot),
            (std::set<std::string>{
                "/etc/apache2/ports.conf:5:8 Listen 80 listen",
                "/etc/apache2/ports.conf:8:9 Listen 443 listen",
                "/etc/apache2/ports.conf:12:9 Listen 443 listen",
                "/etc/apache2/sites-available/000-default.conf:1:16 VirtualHost 80 listen",
                "/etc/apache2/sites-available/default-ssl.conf:1:16 VirtualHost 443 listen"}));
  auto augeas = AugeasPorts(kRoot, "Httpd",
                            {"/etc/apache2/apache2.conf", "/etc/apache2/ports.conf",
                             "/etc/apache2/sites-available/000-default.conf",
                             "/etc/apache2/sites-available/default-ssl.conf"},
                            {"/directive[.=~regexp('listen', 'i')]/arg", "/VirtualHost/arg"});
  EXPECT_EQ(BerthPorts(j, kRoot), augeas);
  EXPECT_EQ(augeas.size(), 5u);
}

TEST_F(DebianCorpus, ApacheMovedIntoTheEphemeralRange) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::set<std::string> moved;
  CopyMoved(dir, "/etc/apache2/ports.conf",
            {{"Listen 80", "Listen 40080", "40080"}, {"Listen 443", "Listen 40443", "40443"}}, moved);
  CopyMoved(dir, "/etc/apache2/sites-available/000-default.conf",
            {{"<VirtualHost *:80>", "<VirtualHost *:40080>", "40080"}}, moved);
  CopyMoved(dir, "/etc/apache2/sites-available/default-ssl.conf",
            {{"<VirtualHost *:443>", "<VirtualHost *:40443>", "40443"}}, moved);
  auto j = Lint({dir.path()}, 1);
  EXPECT_EQ(Findings(j, dir.path(), "ephemeral-port"), moved);
  EXPECT_EQ(moved.size(), 5u);
  EXPECT_EQ(BerthPorts(j, dir.path()),
            AugeasPorts(dir.path(), "Httpd",
                        {"/etc/apache2/ports.conf", "/etc/apache2/sites-available/000-default.conf",
                         "/etc/apache2/sites-available/default-ssl.conf"},
                        {"/directive[.=~regexp('listen', 'i')]/arg", "/VirtualHost/arg"}));
}

// openssh-server ships sshd_config as /usr/share/openssh/sshd_config (its postinst copies it to
// /etc/ssh): "#Port 22", "#ListenAddress 0.0.0.0", "#ListenAddress ::" are commented defaults,
// not declarations. berth reads none (sshd's built-in 22 is not invented), nor does Augeas's
// Sshd lens; the moved copy uncomments them with ports.
TEST_F(DebianCorpus, SshdAsShippedAndMoved) {
  const std::string shipped = "/usr/share/openssh/sshd_config";
  auto j = Lint({kRoot + shipped}, 0);
  EXPECT_TRUE(j["declarations"].empty()) << j["declarations"].dump();
  EXPECT_EQ(AugeasPorts(kRoot, "Sshd", {shipped}, {"Port", "ListenAddress"}), std::multiset<std::string>{});

  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::set<std::string> moved;
  CopyMoved(dir, shipped,
            {{"#Port 22", "Port 40022", "40022"},
             {"#ListenAddress 0.0.0.0", "ListenAddress 0.0.0.0:40023", "40023"},
             {"#ListenAddress ::", "ListenAddress [::]:40024", "40024"}},
            moved);
  auto m = Lint({dir.path() + shipped}, 1);
  EXPECT_EQ(Findings(m, dir.path(), "ephemeral-port"), moved);
  EXPECT_EQ(moved.size(), 3u);
  auto augeas = AugeasPorts(dir.path(), "Sshd", {shipped}, {"Port", "ListenAddress"});
  EXPECT_EQ(BerthPorts(m, dir.path()), augeas);
  EXPECT_EQ(augeas.size(), 3u);
}

// postgresql-15 ships postgresql.conf.sample, which pg_createcluster copies to a cluster's
// postgresql.conf: "#port = 5432" is commented. Named as shipped, the .sample is not a format
// berth reads (it is read for connection strings: none); copied as postgresql.conf it declares
// nothing either, as Augeas's Postgresql lens says.
TEST_F(DebianCorpus, PostgresqlAsShippedAndMoved) {
  const std::string shipped = "/usr/share/postgresql/15/postgresql.conf.sample";
  const std::string sample = Slurp(kRoot + shipped);
  ASSERT_FALSE(sample.empty());
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string conf = WriteBelow(dir, "/etc/postgresql/15/main/postgresql.conf", sample);
  auto j = Lint({kRoot + shipped, conf}, 0);
  EXPECT_TRUE(j["declarations"].empty()) << j["declarations"].dump();
  EXPECT_EQ(AugeasPorts(kRoot, "Postgresql", {shipped}, {"port"}), std::multiset<std::string>{});

  std::set<std::string> moved;
  CopyMoved(dir, shipped, {{"#port = 5432", "port = 40432", "40432"}}, moved);
  fs::rename(dir.path() + shipped, conf);
  auto m = Lint({conf}, 1);
  std::set<std::string> at_conf;
  for (const std::string& f : moved) {
    at_conf.insert("/etc/postgresql/15/main/postgresql.conf" + f.substr(shipped.size()));
  }
  EXPECT_EQ(Findings(m, dir.path(), "ephemeral-port"), at_conf);
  EXPECT_EQ(at_conf.size(), 1u);
  auto augeas = AugeasPorts(dir.path(), "Postgresql", {"/etc/postgresql/15/main/postgresql.conf"}, {"port"});
  EXPECT_EQ(BerthPorts(m, dir.path()), augeas);
  EXPECT_EQ(augeas.size(), 1u);
}

// redis-server ships /etc/redis/redis.conf: "port 6379", tls-port and cluster-enabled commented.
// Augeas 1.14's Redis lens stops at three of Redis 7's lines, none a port: "bind 127.0.0.1 -::1"
// (the '-' marks an address that may be missing), proc-title-template's quoted "{title}
// {listen-addr} ..." and oom-score-adj-values' three numbers. It reads a copy with those
// commented out.
const std::vector<Edit> kRedisLensCannotRead{{"bind 127.0.0.1 -::1", "# bind 127.0.0.1 -::1", ""},
                                             {"proc-title-template", "# proc-title-template", ""},
                                             {"oom-score-adj-values", "# oom-score-adj-values", ""}};

TEST_F(DebianCorpus, RedisAsShippedAndMoved) {
  const std::string shipped = "/etc/redis/redis.conf";
  auto j = Lint({kRoot + shipped}, 0);
  EXPECT_EQ(Declarations(j, kRoot), (std::set<std::string>{"/etc/redis/redis.conf:138:6 port 6379 listen"}));
  TempDir lens;
  ASSERT_FALSE(lens.path().empty());
  std::set<std::string> none;
  CopyMoved(lens, shipped, kRedisLensCannotRead, none);
  auto augeas = AugeasPorts(lens.path(), "Redis", {shipped}, {"port", "tls-port"});
  EXPECT_EQ(BerthPorts(j, kRoot), augeas);
  EXPECT_EQ(augeas.size(), 1u);

  // Moved, with TLS and the cluster bus turned on: the bus is port + 10000, derived at port's
  // line, and inside the range too.
  const std::vector<Edit> moves{{"port 6379", "port 40379", "40379"},
                                {"# tls-port 6379", "tls-port 40380", "40380"},
                                {"# cluster-enabled yes", "cluster-enabled yes", ""}};
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::set<std::string> moved;
  CopyMoved(dir, shipped, moves, moved);
  std::set<std::string> expected = moved;
  for (const std::string& f : moved) {
    if (f.ends_with(" 40379")) expected.insert(f.substr(0, f.size() - 5) + "50379");  // the bus
  }
  auto m = Lint({dir.path() + shipped}, 1);
  EXPECT_EQ(Findings(m, dir.path(), "ephemeral-port"), expected);
  EXPECT_EQ(moved.size(), 2u);
  EXPECT_EQ(expected.size(), 3u);

  std::vector<Edit> lens_moves = moves;
  lens_moves.insert(lens_moves.end(), kRedisLensCannotRead.begin(), kRedisLensCannotRead.end());
  TempDir moved_lens;
  ASSERT_FALSE(moved_lens.path().empty());
  std::set<std::string> lens_moved;
  CopyMoved(moved_lens, shipped, lens_moves, lens_moved);
  EXPECT_EQ(lens_moved, moved);
  auto moved_augeas = AugeasPorts(moved_lens.path(), "Redis", {shipped}, {"port", "tls-port"});
  EXPECT_EQ(BerthPorts(m, dir.path()), moved_augeas);
  EXPECT_EQ(moved_augeas.size(), 2u);
}

// mariadb-common ships /etc/mysql/mariadb.cnf ("# port = 3306" commented, in [client-server],
// the group MariaDB's server and clients both read); mariadb-server ships mariadb.conf.d's
// 50-server.cnf and 50-mysqld_safe.cnf and /usr/share/mysql/wsrep.cnf: no port anywhere.
// Augeas's MySQL lens agrees on /etc/mysql (it rejects wsrep.cnf's empty "wsrep_notify_cmd=",
// line 101: not compared). Uncommented and moved, the port is the server's: found.
TEST_F(DebianCorpus, MariadbAsShippedAndMoved) {
  auto j = Lint({kRoot + "/etc/mysql", kRoot + "/usr/share/mysql/wsrep.cnf"}, 0);
  EXPECT_TRUE(j["declarations"].empty()) << j["declarations"].dump();
  EXPECT_EQ(j["files"].size(), 4u) << j["files"].dump();
  const std::vector<std::string> files{"/etc/mysql/mariadb.cnf", "/etc/mysql/mariadb.conf.d/50-server.cnf",
                                       "/etc/mysql/mariadb.conf.d/50-mysqld_safe.cnf"};
  EXPECT_EQ(AugeasPorts(kRoot, "MySQL", files, {"/port"}), std::multiset<std::string>{});

  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::set<std::string> moved;
  CopyMoved(dir, "/etc/mysql/mariadb.cnf", {{"# port = 3306", "port = 40306", "40306"}}, moved);
  auto m = Lint({dir.path()}, 1);
  EXPECT_EQ(Findings(m, dir.path(), "ephemeral-port"), moved);
  EXPECT_EQ(moved.size(), 1u);
  EXPECT_EQ(Declarations(m, dir.path()),
            (std::set<std::string>{"/etc/mysql/mariadb.cnf:24:8 [client-server].port 40306 listen"}));
  auto augeas = AugeasPorts(dir.path(), "MySQL", {"/etc/mysql/mariadb.cnf"}, {"/port"});
  EXPECT_EQ(BerthPorts(m, dir.path()), augeas);
  EXPECT_EQ(augeas.size(), 1u);
}

// The units these packages ship: ssh.socket's ListenStream=22 and mariadb.socket's 3306 (its
// @abstract and path sockets are not ports); the services start their programs without a port
// flag (redis-server reads redis.conf, sshd -D $SSHD_OPTS, mariadbd $MYSQLD_OPTS). Augeas's
// Systemd lens reads the same sockets.
TEST_F(DebianCorpus, SystemdUnitsAsShippedAndMoved) {
  const std::string units = "/lib/systemd/system";
  auto j = Lint({kRoot + units}, 0);
  EXPECT_EQ(Declarations(j, kRoot),
            (std::set<std::string>{"/lib/systemd/system/mariadb.socket:25:14 ListenStream 3306 listen",
                                   "/lib/systemd/system/ssh.socket:7:14 ListenStream 22 listen"}));
  std::vector<std::string> sockets;
  for (const auto& e : fs::directory_iterator(kRoot + units)) {
    if (e.path().extension() == ".socket") sockets.push_back(Below(kRoot, e.path().string()));
  }
  EXPECT_GE(sockets.size(), 5u);
  auto augeas = AugeasPorts(kRoot, "Systemd", sockets, {"Socket/ListenStream/value", "Socket/ListenDatagram/value"});
  EXPECT_EQ(BerthPorts(j, kRoot), augeas);
  EXPECT_EQ(augeas.size(), 2u);

  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::set<std::string> moved;
  CopyMoved(dir, units + "/ssh.socket", {{"ListenStream=22", "ListenStream=40022", "40022"}}, moved);
  CopyMoved(dir, units + "/mariadb.socket", {{"ListenStream=3306", "ListenStream=40306", "40306"}}, moved);
  auto m = Lint({dir.path()}, 1);
  EXPECT_EQ(Findings(m, dir.path(), "ephemeral-port"), moved);
  EXPECT_EQ(moved.size(), 2u);
}

// Every file the six packages ship, walked as one tree (binaries, scripts and docs included):
// berth reads exactly the declarations above, no file is an error and there is no finding.
TEST_F(DebianCorpus, TheWholeCorpusDeclaresOnlyThese) {
  auto j = Lint({kRoot}, 0);
  EXPECT_EQ(BerthPorts(j, kRoot),
            (std::multiset<std::string>{"/etc/apache2/ports.conf 80", "/etc/apache2/ports.conf 443",
                                        "/etc/apache2/ports.conf 443",
                                        "/etc/apache2/sites-available/000-default.conf 80",
                                        "/etc/apache2/sites-available/default-ssl.conf 443",
                                        "/etc/redis/redis.conf 6379", "/lib/systemd/system/mariadb.socket 3306",
                                        "/lib/systemd/system/ssh.socket 22"}));
  // Each port is its product's own (MariaDB on IANA's mysql port included): nothing to report.
  EXPECT_TRUE(j["findings"].empty()) << j["findings"].dump();
}

}  // namespace
}  // namespace berth::test::debian

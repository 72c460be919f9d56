// berth export --format haproxy|nginx|envoy through the real binary: the front ends are loaded
// by the real programs (haproxy -c, nginx -t; Debian has no envoy: its bootstrap is read back by
// PyYAML), berth lint finds nothing in them (the registry's ports, by the registry's names), bad
// backends are refused with a message that says what to do, and traffic goes through HAProxy to
// a registered backend in a network namespace.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "registry/registry_test_util.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

bool Have(const std::string& program) {
  return test::Run({"sh", "-c", "command -v " + program}).exit_code == 0;
}

void Assign(const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), "assign");
  args.insert(args.end(), {"--db", db});
  auto r = RunBerth(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// A registry with a TCP, a UDP and a both service, the last in a group whose host is its backend.
std::string Registry(const TempDir& dir) {
  const std::string db = dir.path() + "/registry.db";
  Assign(db, {"api", "--port", "18234"});
  Assign(db, {"dns", "--port", "15353", "--proto", "udp"});
  auto g = RunBerth({"group", "add", "web", "--host", "localhost", "--db", db});
  EXPECT_EQ(g.exit_code, 0) << g.err;
  Assign(db, {"site", "--port", "18080", "--proto", "both", "--group", "web"});
  return db;
}

TEST(LintExport, HaproxyAndNginxLoadTheExportAndLintFindsNothing) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string db = Registry(dir);
  fs::create_directories(dir.path() + "/lb/nginx");
  const std::string haproxy_cfg = dir.path() + "/lb/haproxy.cfg";
  const std::string nginx_conf = dir.path() + "/lb/nginx/berth-stream.conf";
  auto h = RunBerth({"export", "--format", "haproxy", "--db", db, "--backend", "api=10.0.0.1",
                     "--backend", "api=[2001:db8::2]", "-o", haproxy_cfg});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  auto n = RunBerth({"export", "--format", "nginx", "--db", db, "--backend", "api=127.0.0.1:8000",
                     "--backend", "dns=192.0.2.53", "-o", nginx_conf});
  ASSERT_EQ(n.exit_code, 0) << n.err;

  if (!Have("haproxy")) BERTH_MISSING_PEER("haproxy is not installed (scripts/install-deps test installs it)");
  auto hc = test::Run({"haproxy", "-c", "-f", haproxy_cfg});
  EXPECT_EQ(hc.exit_code, 0) << hc.out << hc.err;
  if (!Have("nginx")) BERTH_MISSING_PEER("nginx is not installed (scripts/install-deps test installs it)");
  std::ofstream(dir.path() + "/main.conf") << "include /etc/nginx/modules-enabled/*.conf;\n"
                                           << "events {}\ninclude " << nginx_conf << ";\n";
  auto nc = test::Run({"nginx", "-t", "-q", "-e", "stderr", "-c", dir.path() + "/main.conf"});
  EXPECT_EQ(nc.exit_code, 0) << nc.out << nc.err;

  // Linted with the registry, each on its own (both on one host would collide, and lint says
  // so): no finding; a registry-mismatch would name a drifted port.
  auto lint = [&](const std::string& file) {
    auto r = RunBerth({"lint", "--db", db, "--json", file});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    EXPECT_TRUE(j["findings"].empty()) << j["findings"].dump();
    std::multiset<std::string> seen;
    for (const auto& d : j["declarations"]) {
      seen.insert(fmt::format("{} {} {} {}", d["format"].get<std::string>(),
                              d["service"].get<std::string>(), d["proto"].get<std::string>(),
                              d["ports"].get<std::string>()));
    }
    return seen;
  };
  // HAProxy's front ends are named after the services; nginx's stream servers are nginx's.
  EXPECT_EQ(lint(haproxy_cfg),
            (std::multiset<std::string>{"haproxy api tcp 18234", "haproxy site tcp 18080"}));
  EXPECT_EQ(lint(nginx_conf),
            (std::multiset<std::string>{"nginx nginx tcp 18234", "nginx nginx tcp 18080",
                                        "nginx nginx udp 18080", "nginx nginx udp 15353"}));
  auto both = RunBerth({"lint", "--db", db, dir.path() + "/lb"});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_THAT(both.out, HasSubstr("error [port-collision] api 18234/tcp is also declared by nginx"));
}

// Envoy's bootstrap: berth lint reads its listeners under the services' names (a both
// service's UDP listener, NAME_udp, as NAME's) and finds nothing; PyYAML reads the listeners,
// clusters and checks, and a description full of YAML syntax comes back as it was written.
TEST(LintExport, EnvoyExportIsReadByLintAndPyYaml) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string db = Registry(dir);
  const std::string description = "x\": {a: &b *c} - [d] # e \\' !!python/object:os.system ${HOME}";
  Assign(db, {"quoted", "--port", "18236", "--description", description});
  const std::string bootstrap = dir.path() + "/envoy.yaml";
  auto e = RunBerth({"export", "--format", "envoy", "--db", db, "--backend", "api=10.0.0.1",
                     "--backend", "api=[2001:db8::2]", "--backend", "dns=192.0.2.53", "--backend",
                     "quoted=127.0.0.1:8000", "--bind", "127.0.0.1", "-o", bootstrap});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(e.out, "");

  auto r = RunBerth({"lint", "--db", db, "--json", bootstrap});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_TRUE(j["findings"].empty()) << j["findings"].dump();
  std::multiset<std::string> listen;
  std::size_t targets = 0;
  for (const auto& d : j["declarations"]) {
    EXPECT_EQ(d["format"], "envoy");
    if (d["kind"] != "listen") {
      ++targets;
      continue;
    }
    listen.insert(fmt::format("{} {} {}", d["service"].get<std::string>(),
                              d["proto"].get<std::string>(), d["ports"].get<std::string>()));
  }
  EXPECT_EQ(listen, (std::multiset<std::string>{"api tcp 18234", "dns udp 15353", "site tcp 18080",
                                                "site udp 18080", "quoted tcp 18236"}));
  EXPECT_EQ(targets, 6u);  // api's two, dns, site's localhost on TCP and UDP, quoted

  if (test::Run({"python3", "-c", "import yaml"}).exit_code != 0) {
    BERTH_MISSING_PEER("python3-yaml is not installed (scripts/install-deps test installs it)");
  }
  auto py = test::Run({"python3", "-c",
                       "import sys, yaml\n"
                       "doc = yaml.safe_load(open(sys.argv[1]))\n"
                       "sr = doc['static_resources']\n"
                       "for l in sr['listeners']:\n"
                       "    a = l['address']['socket_address']\n"
                       "    print('listener', l['name'], a.get('protocol', 'TCP'), a['address'], a['port_value'])\n"
                       "for c in sr['clusters']:\n"
                       "    eps = [e['endpoint']['address']['socket_address'] for e in "
                       "c['load_assignment']['endpoints'][0]['lb_endpoints']]\n"
                       "    hc = [h['timeout'] + ' ' + h['interval'] + ' ' + str(h['unhealthy_threshold']) + ' ' + "
                       "str(h['healthy_threshold']) + ' ' + str(h['tcp_health_check']) for h in c.get('health_checks', [])]\n"
                       "    print('cluster', c['name'], c['type'], ','.join('%s:%s' % (e['address'], e['port_value']) "
                       "for e in eps), '|'.join(hc) or 'unchecked')\n"
                       "    if c['name'] == 'quoted': print(c['metadata']['filter_metadata']['berth']['description'])\n",
                       bootstrap});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  EXPECT_EQ(py.out,
            "listener api TCP 127.0.0.1 18234\n"
            "listener dns UDP 127.0.0.1 15353\n"
            "listener quoted TCP 127.0.0.1 18236\n"
            "listener site TCP 127.0.0.1 18080\n"
            "listener site_udp UDP 127.0.0.1 18080\n"
            "cluster api STATIC 10.0.0.1:18234,2001:db8::2:18234 2s 2s 3 2 {}\n"
            "cluster dns STATIC 192.0.2.53:15353 unchecked\n"
            "cluster quoted STATIC 127.0.0.1:8000 2s 2s 3 2 {}\n" +
                description + "\n" +
                "cluster site STRICT_DNS localhost:18080 2s 2s 3 2 {}\n"
                "cluster site_udp STRICT_DNS localhost:18080 unchecked\n");

  // The conventions of the other formats: --json is --format json, --help names the format.
  auto json = RunBerth({"export", "--format", "envoy", "--json", "--db", db});
  EXPECT_EQ(json.exit_code, 2);
  EXPECT_THAT(json.err, HasSubstr("--json is --format json"));
  auto help = RunBerth({"export", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("haproxy, nginx, envoy"));
  auto missing = RunBerth({"export", "--format", "envoy", "--db", db, "--backend", "api=h"});
  EXPECT_EQ(missing.exit_code, 2);  // Envoy proxies the UDP service too
  EXPECT_THAT(missing.err, HasSubstr("no backend address for dns, quoted: give --backend"));
}

TEST(LintExport, BadBackendsAreRefusedSaying) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string db = Registry(dir);
  auto missing = RunBerth({"export", "--format", "haproxy", "--db", db});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("no backend address for api: give --backend SERVICE=HOST[:PORT]"));
  auto missing_udp = RunBerth({"export", "--format", "nginx", "--db", db, "--backend", "api=h"});
  EXPECT_EQ(missing_udp.exit_code, 2);  // nginx proxies the UDP service too
  EXPECT_THAT(missing_udp.err, HasSubstr("no backend address for dns:"));
  auto evil = RunBerth({"export", "--format", "nginx", "--db", db, "--backend", "api=x;\x1b[2J\nserver evil",
                        "--backend", "dns=192.0.2.1"});
  EXPECT_EQ(evil.exit_code, 2);
  EXPECT_THAT(evil.err, HasSubstr("backend 'x;\\x1b[2J\\x0aserver evil': the host is neither"));
  EXPECT_EQ(evil.err.find('\x1b'), std::string::npos);
  EXPECT_EQ(evil.out, "");
  auto port = RunBerth({"export", "--format", "haproxy", "--db", db, "--backend", "api=h:99999",
                        "--backend", "dns=h"});
  EXPECT_EQ(port.exit_code, 2);
  EXPECT_THAT(port.err, HasSubstr("the port is not a number 1-65535"));
  auto stranger = RunBerth({"export", "--format", "haproxy", "--db", db, "--backend", "nosuch=h"});
  // The mistyped name is said, not only that api has no backend.
  EXPECT_EQ(stranger.exit_code, 2);
  EXPECT_THAT(stranger.err, HasSubstr("'nosuch' is not"));
  auto bind = RunBerth({"export", "--format", "nginx", "--db", db, "--backend", "api=h", "--backend",
                        "dns=h", "--bind", "localhost"});
  EXPECT_EQ(bind.exit_code, 2);
  EXPECT_THAT(bind.err, HasSubstr("invalid bind address 'localhost'"));
  EXPECT_EQ(RunBerth({"export", "--format", "k8s", "--db", db, "--backend", "api=h"}).exit_code, 2);
  auto envoy_bind = RunBerth({"export", "--format", "envoy", "--db", db, "--backend", "api=h",
                              "--backend", "dns=h", "--bind", "0.0.0.0\"\n- evil"});
  EXPECT_EQ(envoy_bind.exit_code, 2);
  EXPECT_THAT(envoy_bind.err, HasSubstr("invalid bind address"));
  EXPECT_EQ(envoy_bind.out, "");
}

// Stops a daemonized process by the PID in its pid file, also when the test fails.
class PidFileGuard {
 public:
  explicit PidFileGuard(std::string path) : path_(std::move(path)) {}
  ~PidFileGuard() {
    std::ifstream in(path_);
    pid_t pid = 0;
    if (in >> pid && pid > 1) ::kill(pid, SIGKILL);
  }

 private:
  std::string path_;
};

// A registered service, its backend in a network namespace, HAProxy in front of it on the
// registered port (addresses from 198.18.0.0/15): a client gets the backend's greeting.
TEST(LintExport, TrafficGoesThroughHaproxyToTheRegisteredBackend) {
  BERTH_REQUIRE_ROOT();
  if (!Have("haproxy")) BERTH_MISSING_PEER("haproxy is not installed (scripts/install-deps test installs it)");
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string db = dir.path() + "/registry.db";
  Assign(db, {"greeter", "--port", "18235"});
  auto ns = Netns::Create("lbexport");
  ASSERT_TRUE(ns.has_value());
  for (const char* address : {"198.18.0.1/32", "198.18.0.2/32"}) {
    auto a = ns->Exec({"ip", "addr", "add", address, "dev", "lo"});
    ASSERT_EQ(a.exit_code, 0) << a.err;
  }
  const std::string cfg = dir.path() + "/haproxy.cfg";
  auto e = RunBerth({"export", "--format", "haproxy", "--db", db, "--bind", "198.18.0.1",
                     "--backend", "greeter=198.18.0.2", "-o", cfg});
  ASSERT_EQ(e.exit_code, 0) << e.err;

  // The backend: listens on 198.18.0.2 at the registered port, greets every connection.
  Child backend = Child::Fork([&ns](int ready) {
    if (!ns->EnterThread()) ::_exit(1);
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(18235);
    ::inet_pton(AF_INET, "198.18.0.2", &sa.sin_addr);
    if (::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(s, 16) != 0) ::_exit(1);
    (void)!::write(ready, "r", 1);
    for (;;) {
      const int c = ::accept4(s, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      (void)!::write(c, "hello from greeter\n", 19);
      ::close(c);
    }
  });
  ASSERT_TRUE(backend.WaitReady());

  // haproxy -D returns once its listeners are bound; it is stopped by its pid.
  const std::string pidfile = dir.path() + "/haproxy.pid";
  PidFileGuard guard(pidfile);
  auto h = ns->Exec({"haproxy", "-D", "-p", pidfile, "-f", cfg});
  ASSERT_EQ(h.exit_code, 0) << h.out << h.err;
  auto client = ns->Exec({"python3", "-c",
                          "import socket\n"
                          "s = socket.create_connection(('198.18.0.1', 18235), timeout=10)\n"
                          "s.settimeout(10)\n"
                          "data = b''\n"
                          "while True:\n"
                          "    b = s.recv(100)\n"
                          "    if not b: break\n"
                          "    data += b\n"
                          "print(data.decode(), end='')\n"});
  EXPECT_EQ(client.exit_code, 0) << client.err;
  EXPECT_EQ(client.out, "hello from greeter\n");
}

}  // namespace
}  // namespace berth::test

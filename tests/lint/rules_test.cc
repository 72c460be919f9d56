// berth lint's rules on hand-made declarations: each rule fires where it should and only there.
#include "lint/rules.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string>

#include <fmt/core.h>

namespace berth::lint {
namespace {

PortDecl Decl(std::string file, int line, Port port, DeclKind kind = DeclKind::kListen,
              std::string service = "") {
  PortDecl d;
  d.where = Location{std::move(file), line, 1};
  d.key_path = "port";
  d.kind = kind;
  d.ports = PortRange{port, port};
  d.service = std::move(service);
  return d;
}

std::vector<LintRule> Rules(const std::vector<LintFinding>& f) {
  std::vector<LintRule> out;
  for (const auto& x : f) out.push_back(x.rule);
  return out;
}

// A rule context whose registry holds these (name, port) services.
RuleContext WithRegistry(std::initializer_list<std::pair<const char*, Port>> services) {
  RuleContext ctx;
  for (auto [name, port] : services) {
    Service s;
    s.name = name;
    s.port = port;
    ctx.registry.emplace(s.name, s);
  }
  return ctx;
}

TEST(LintRules, CleanDeclarationsGiveNothing) {
  std::vector<PortDecl> d{Decl("a", 1, 8080, DeclKind::kListen, "web"),
                          Decl("b", 1, 5432, DeclKind::kListen, "db"),
                          Decl("c", 1, 40000, DeclKind::kTarget, "client")};
  d[1].image = "postgres";  // IANA's postgresql: the image says it is one
  EXPECT_TRUE(ApplyRules(d, {}).empty());
}

TEST(LintRules, IanaAssignmentsToOtherWellKnownServicesAreInfo) {
  PortDecl cache = Decl("compose.yaml", 3, 5432, DeclKind::kPublish, "cache");
  cache.address = "127.0.0.1";
  PortDecl pg = Decl("compose.yaml", 4, 5432, DeclKind::kPublish, "postgresql");
  pg.address = "127.0.0.2";  // no collision with cache
  PortDecl obscure = Decl("b", 1, 5433, DeclKind::kListen, "db");  // IANA: pyrrho, nobody's
  PortDecl system = Decl("c", 1, 25, DeclKind::kListen, "mailer");  // smtp: a system port
  system.address = "127.0.0.4";
  PortDecl exim = Decl("d", 1, 25, DeclKind::kListen, "exim4");
  exim.address = "127.0.0.3";
  PortDecl target = Decl("e", 1, 3306, DeclKind::kTarget, "client");  // a client's, not a server's
  PortDecl recorded = Decl("f", 1, 6379, DeclKind::kListen, "sessions");
  auto f = ApplyRules(std::vector<PortDecl>{cache, pg, obscure, system, exim, target, recorded},
                      WithRegistry({{"sessions", 6379}}));
  ASSERT_EQ(Rules(f), (std::vector<LintRule>{LintRule::kIanaOtherService,
                                             LintRule::kIanaOtherService}));
  EXPECT_EQ(f[0].where.file, "c");
  EXPECT_EQ(f[0].severity, Severity::kInfo);
  EXPECT_EQ(f[1].where.file, "compose.yaml");
  EXPECT_EQ(f[1].where.line, 3);
  EXPECT_NE(f[1].why.find("IANA assigns 5432/tcp to postgresql (PostgreSQL Database), not to "
                          "cache"), std::string::npos) << f[1].why;
  EXPECT_NE(f[1].fix.find("berth assign cache --port 5432 --allow-iana"), std::string::npos)
      << f[1].fix;
}

// MariaDB speaks MySQL's protocol on IANA's mysql port: Debian's mariadb.socket (ListenStream=3306)
// and a Compose service whose image is mariadb are at home there.
TEST(LintRules, MariadbIsAtHomeOnMysqlsPort) {
  PortDecl socket = Decl("/lib/systemd/system/mariadb.socket", 25, 3306, DeclKind::kListen, "mariadb");
  PortDecl compose = Decl("compose.yaml", 4, 3306, DeclKind::kPublish, "db");
  compose.image = "mariadb";
  EXPECT_TRUE(ApplyRules(std::vector<PortDecl>{socket}, {}).empty());
  EXPECT_TRUE(ApplyRules(std::vector<PortDecl>{compose}, {}).empty());
  // Another service there is still told.
  PortDecl other = Decl("compose.yaml", 5, 3306, DeclKind::kPublish, "cache");
  EXPECT_EQ(Rules(ApplyRules(std::vector<PortDecl>{other}, {})),
            std::vector<LintRule>{LintRule::kIanaOtherService});
}

TEST(LintRules, ConventionalPortsOfOtherProductsAreInfoAndTheProductIsAtHome) {
  PortDecl billing = Decl("compose.yaml", 3, 9090, DeclKind::kPublish, "billing");
  PortDecl metrics = Decl("compose.yaml", 4, 9090, DeclKind::kPublish, "metrics");
  metrics.image = "prometheus";  // prom/prometheus: at home on 9090
  metrics.address = "127.0.0.2";
  PortDecl cockpit = Decl("cockpit.socket", 1, 9090, DeclKind::kListen, "cockpit");
  cockpit.address = "127.0.0.3";
  PortDecl grpc = Decl("g", 1, 50051, DeclKind::kListen, "api");
  PortDecl range = Decl("r", 1, 9000, DeclKind::kPublish, "workers");
  range.ports = PortRange{9000, 9100};  // a range is not judged port by port
  auto f = ApplyRules(std::vector<PortDecl>{billing, metrics, cockpit, grpc, range}, {});
  std::vector<LintFinding> conventional;
  for (const LintFinding& x : f) {
    if (x.rule == LintRule::kConventionalPort) conventional.push_back(x);
  }
  ASSERT_EQ(conventional.size(), 2u);
  EXPECT_EQ(conventional[0].where.file, "compose.yaml");
  EXPECT_EQ(conventional[0].where.line, 3);
  EXPECT_EQ(conventional[0].severity, Severity::kInfo);
  EXPECT_NE(conventional[0].why.find("Prometheus (server: web UI, API) and Cockpit (web console)"),
            std::string::npos) << conventional[0].why;
  EXPECT_NE(conventional[0].why.find("'billing' is not one of them"), std::string::npos);
  EXPECT_EQ(conventional[1].where.file, "g");
  EXPECT_NE(conventional[1].why.find("services that copy it collide"), std::string::npos)
      << conventional[1].why;
  // With the registry holding billing on 9090, the choice is recorded: nothing to say.
  auto recorded = ApplyRules(std::vector<PortDecl>{billing}, WithRegistry({{"billing", 9090}}));
  EXPECT_TRUE(recorded.empty());
}

TEST(LintRules, ANodePortRangeOverTheEphemeralRangeIsAWarningAndNothingElse) {
  PortDecl wide = Decl("kube-apiserver.yaml", 20, 30000, DeclKind::kNodePortRange, "kube-apiserver");
  wide.ports = PortRange{30000, 40000};
  PortDecl standard = Decl("kube-apiserver.service", 5, 30000, DeclKind::kNodePortRange);
  standard.ports = PortRange{30000, 32767};  // Kubernetes' default: below Linux's range
  PortDecl other = Decl("other.yaml", 1, 30000, DeclKind::kListen, "x");  // no collision with a range
  auto f = ApplyRules(std::vector<PortDecl>{wide, standard, other}, {});
  ASSERT_EQ(Rules(f), (std::vector<LintRule>{LintRule::kNodePortRange}));
  EXPECT_EQ(f[0].severity, Severity::kWarning);
  EXPECT_EQ(f[0].ports.Format(), "32768-40000");
  EXPECT_NE(f[0].why.find("the NodePort range 30000-40000 overlaps the Linux ephemeral range "
                          "32768-60999"), std::string::npos) << f[0].why;
  EXPECT_NE(f[0].fix.find("--service-node-port-range=30000-32767"), std::string::npos);
  EXPECT_NE(f[0].fix.find("ip_local_reserved_ports=32768-40000"), std::string::npos);
  // A group whose hosts' ephemeral range starts lower catches the default range too.
  RuleContext bsd;
  bsd.group = "bsd";
  bsd.group_ephemeral = PortSet{PortRange{10000, 65535}};
  auto g = ApplyRules(std::vector<PortDecl>{standard}, bsd);
  ASSERT_EQ(Rules(g), (std::vector<LintRule>{LintRule::kNodePortRange}));
  EXPECT_NE(g[0].why.find("group bsd's hosts"), std::string::npos) << g[0].why;
}

TEST(LintRules, DynamicPorts) {
  PortDecl zero = Decl("a", 3, 0);
  zero.dynamic = Dynamic::kZero;
  PortDecl unpublished = Decl("b", 4, 9000, DeclKind::kPublish, "worker");
  unpublished.dynamic = Dynamic::kUnpublished;
  PortDecl target = Decl("c", 5, 0, DeclKind::kTarget);  // a client's 0 is not a server's
  target.dynamic = Dynamic::kZero;
  auto f = ApplyRules(std::vector<PortDecl>{zero, unpublished, target}, {});
  ASSERT_EQ(Rules(f), (std::vector<LintRule>{LintRule::kDynamicPort, LintRule::kDynamicPort}));
  EXPECT_EQ(f[0].where.line, 3);
  EXPECT_NE(f[1].fix.find("HOSTPORT:9000"), std::string::npos) << f[1].fix;
}

TEST(LintRules, EphemeralRangeEdgesAndWindows) {
  std::vector<PortDecl> d{Decl("a", 1, 32767), Decl("a", 2, 32768), Decl("a", 3, 60999),
                          Decl("a", 4, 61000), Decl("a", 5, 50051, DeclKind::kTarget)};
  PortDecl win = Decl("w", 1, 62000);
  win.windows = true;
  d.push_back(win);
  auto f = ApplyRules(d, {});
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].where.line, 2);
  EXPECT_EQ(f[1].where.line, 3);
  EXPECT_EQ(f[2].where.file, "w");
  EXPECT_NE(f[2].why.find("Windows"), std::string::npos);
  EXPECT_NE(f[2].fix.find("excludedportrange"), std::string::npos);
}

TEST(LintRules, GroupEphemeralRanges) {
  RuleContext ctx;
  ctx.group = "bsd";
  ctx.group_ephemeral = PortSet{PortRange{10000, 65535}};
  auto f = ApplyRules(std::vector<PortDecl>{Decl("a", 1, 20000), Decl("a", 2, 9999)}, ctx);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].where.line, 1);
  EXPECT_NE(f[0].why.find("group bsd's hosts (10000-65535)"), std::string::npos) << f[0].why;
}

TEST(LintRules, DerivedPortsNameTheirOrigin) {
  PortDecl bus = Decl("redis.conf", 2, 40000, DeclKind::kDerived, "redis");
  bus.derived_from = "Redis cluster bus: port + 10000";
  auto f = ApplyRules(std::vector<PortDecl>{bus, Decl("x", 1, 40000, DeclKind::kListen, "other")}, {});
  ASSERT_EQ(Rules(f), (std::vector<LintRule>{LintRule::kEphemeralPort, LintRule::kPortCollision,
                                             LintRule::kEphemeralPort, LintRule::kPortCollision}));
  EXPECT_NE(f[0].why.find("cluster bus"), std::string::npos);
  EXPECT_NE(f[1].why.find("cluster bus"), std::string::npos);
}

TEST(LintRules, Collisions) {
  PortDecl web = Decl("compose.yaml", 6, 8080, DeclKind::kPublish, "web");
  PortDecl nginx1 = Decl("nginx/a", 2, 8080, DeclKind::kListen, "nginx");
  PortDecl nginx2 = Decl("nginx/b", 2, 8080, DeclKind::kListen, "nginx");
  PortDecl udp = Decl("u", 1, 8080, DeclKind::kListen, "dns");
  udp.proto = Protocol::kUdp;
  PortDecl pod = Decl("k", 1, 8080, DeclKind::kListen, "pod");
  pod.isolated = true;  // a containerPort: the pod's own namespace
  PortDecl other_addr = Decl("l", 1, 8080, DeclKind::kListen, "local");
  other_addr.address = "127.0.0.2";
  PortDecl same_addr = Decl("m", 1, 8080, DeclKind::kListen, "local2");
  same_addr.address = "127.0.0.2";
  auto f = ApplyRules(std::vector<PortDecl>{web, nginx1, nginx2, udp, pod}, {});
  ASSERT_EQ(f.size(), 3u);  // web with both nginx files, each nginx file with web
  for (const auto& x : f) EXPECT_EQ(x.rule, LintRule::kPortCollision);
  EXPECT_EQ(f[0].where.file, "compose.yaml");
  EXPECT_EQ(f[0].related.size(), 2u);
  EXPECT_EQ(f[0].severity, Severity::kError);

  auto addr = ApplyRules(std::vector<PortDecl>{other_addr, same_addr}, {});
  EXPECT_EQ(addr.size(), 2u);
  PortDecl v4 = other_addr;
  v4.address = "10.0.0.1";
  v4.service = "x";
  EXPECT_TRUE(ApplyRules(std::vector<PortDecl>{other_addr, v4}, {}).empty());
}

TEST(LintRules, RangesCollideWhenTheyOverlap) {
  PortDecl a = Decl("a", 1, 7000, DeclKind::kPublish, "a");
  a.ports = PortRange{7000, 7010};
  PortDecl b = Decl("b", 1, 7010, DeclKind::kPublish, "b");
  PortDecl c = Decl("c", 1, 7011, DeclKind::kPublish, "c");
  auto f = ApplyRules(std::vector<PortDecl>{a, b, c}, {});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].where.file, "a");
  EXPECT_EQ(f[1].where.file, "b");
}

TEST(LintRules, PortMapperClientsAndRegistry) {
  PortDecl named = Decl("appsettings.json", 3, 0, DeclKind::kTarget, "mssql.reporting");
  named.mapper = Mapper::kSqlBrowser;
  named.instance = "REPORTING";
  named.address = "sql1";
  PortDecl hp = Decl("appsettings.json", 4, 1433, DeclKind::kTarget);
  hp.host_port = true;
  hp.address = "sql2";
  PortDecl web = Decl("compose.yaml", 6, 8081, DeclKind::kPublish, "web");
  RuleContext ctx = WithRegistry({{"mssql.reporting", 1533}, {"web", 8080}});
  auto f = ApplyRules(std::vector<PortDecl>{named, hp, web}, ctx);
  ASSERT_EQ(Rules(f), (std::vector<LintRule>{LintRule::kPortMapperClient,
                                             LintRule::kSqlClientHostPort,
                                             LintRule::kRegistryMismatch}));
  EXPECT_NE(f[0].fix.find("Server=tcp:sql1,1533"), std::string::npos) << f[0].fix;
  EXPECT_EQ(f[0].ports.Format(), "1434");
  EXPECT_EQ(f[1].fix, "Server=tcp:sql2,1433");
  EXPECT_NE(f[2].fix.find("8080"), std::string::npos) << f[2].fix;
  EXPECT_FALSE(f[0].edit.has_value());  // the reader kept no text to rewrite
  ASSERT_TRUE(f[2].edit.has_value());
  EXPECT_EQ(*f[2].edit, (Edit{0, "8081", "8080"}));

  // Without the registry the fix still says what to do, with a placeholder.
  auto plain = ApplyRules(std::vector<PortDecl>{named}, {});
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_NE(plain[0].fix.find("Server=tcp:sql1,PORT"), std::string::npos);
  EXPECT_NE(plain[0].fix.find("berth assign mssql.reporting"), std::string::npos);
}

TEST(LintRules, EditsOnlyWhereCertain) {
  PortDecl named = Decl("appsettings.json", 3, 0, DeclKind::kTarget, "mssql.reporting");
  named.mapper = Mapper::kSqlBrowser;
  named.instance = "REPORTING";
  named.address = "sql1";
  named.text = "sql1\\REPORTING";
  named.text_offset = 40;
  PortDecl jdbc = named;
  jdbc.key_path = "jdbc:sqlserver";
  jdbc.where.line = 4;
  PortDecl jtds = named;
  jtds.key_path = "jdbc:jtds";
  jtds.where.line = 5;
  PortDecl pod = Decl("k8s.yaml", 1, 50051, DeclKind::kListen, "api");
  pod.isolated = true;  // a containerPort: the program inside decides, not the manifest
  PortDecl range = Decl("compose.yaml", 1, 50000, DeclKind::kPublish, "api");
  range.ports = PortRange{50000, 50001};
  RuleContext ctx = WithRegistry({{"mssql.reporting", 1533}, {"api", 18000}});
  auto f = ApplyRules(std::vector<PortDecl>{named, jdbc, jtds, pod, range}, ctx);
  std::vector<std::optional<Edit>> edits;
  for (const auto& x : f) edits.push_back(x.edit);
  ASSERT_EQ(f.size(), 6u);  // three mapper clients, two ephemeral ports, the range's mismatch
  EXPECT_EQ(edits[0], (Edit{40, "sql1\\REPORTING", "sql1\\REPORTING,1533"}));
  EXPECT_EQ(edits[1], (Edit{40, "sql1\\REPORTING", "sql1\\REPORTING:1533"}));
  EXPECT_EQ(edits[2], std::nullopt);  // jTDS: no certain rewrite
  EXPECT_EQ(edits[3], std::nullopt);  // a range (ephemeral-port)
  EXPECT_EQ(edits[4], std::nullopt);  // a range (registry-mismatch)
  EXPECT_EQ(edits[5], std::nullopt);  // isolated (ephemeral-port; no mismatch inside a pod)
}

// lint --probe: what berth probe saw of an instance gives its port where that port does not
// move (the registry's static port it reported, or a port outside the dynamic range); a
// dynamic port is named in the fix, never written.
TEST(LintRules, ProbedInstancesGiveTheirStaticPortAndOnlyNameADynamicOne) {
  auto client = [](int line, const char* host, const char* instance) {
    std::string service = fmt::format("mssql.{}", instance);  // as SqlMapperService names it
    for (char& c : service) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    PortDecl d = Decl("appsettings.json", line, 0, DeclKind::kTarget, service);
    d.mapper = Mapper::kSqlBrowser;
    d.instance = instance;
    d.address = host;
    d.text = fmt::format("{}\\{}", host, instance);
    d.text_offset = static_cast<std::size_t>(line) * 100;
    return d;
  };
  RuleContext ctx;
  ctx.probe_file = "probe.json";
  auto probed = [&](const char* target, const char* address, const char* instance, Port port,
                    bool dynamic, std::optional<Port> registered) {
    ProbedInstance p{target, address, instance, port, dynamic, registered};
    ctx.probed.emplace(ProbedKey(target, instance), p);
    ctx.probed.emplace(ProbedKey(address, instance), p);
  };
  probed("sql1", "192.0.2.1", "REPORTING", 1533, false, std::nullopt);  // a static port
  probed("sql2", "192.0.2.2", "SALES", 49731, true, std::nullopt);      // dynamic
  probed("sql3", "192.0.2.3", "HR", 49800, true, 21433);                // dynamic, registered
  const std::vector<PortDecl> decls{client(1, "SQL1", "reporting"), client(2, "sql2", "SALES"),
                                    client(3, "192.0.2.3", "HR"), client(4, "sql9", "SALES")};
  auto f = ApplyRules(decls, ctx);
  ASSERT_EQ(f.size(), 4u);
  // Matched whatever the case of host and instance; the port it listens on, statically.
  ASSERT_TRUE(f[0].edit.has_value()) << f[0].fix;
  EXPECT_EQ(f[0].edit->replacement, "SQL1\\reporting,1533");
  EXPECT_NE(f[0].fix.find("the static port sql1\\REPORTING listens on (berth probe, probe.json)"),
            std::string::npos) << f[0].fix;
  // Dynamic: named with what to do, nothing written.
  EXPECT_FALSE(f[1].edit.has_value());
  EXPECT_NE(f[1].fix.find("listens on dynamic port 49731 now"), std::string::npos) << f[1].fix;
  EXPECT_NE(f[1].fix.find("Server=tcp:sql2,PORT"), std::string::npos) << f[1].fix;
  // The registry's static port the probe reported, found by the address.
  ASSERT_TRUE(f[2].edit.has_value()) << f[2].fix;
  EXPECT_EQ(f[2].edit->replacement, "192.0.2.3\\HR,21433");
  // Another host's instance of the same name is not this one.
  EXPECT_FALSE(f[3].edit.has_value());
  EXPECT_EQ(f[3].fix.find("berth probe"), std::string::npos) << f[3].fix;
  // The registry, when it knows the service, wins over the probe.
  RuleContext both = ctx;
  Service s;
  s.name = "mssql.sales";
  s.port = 1600;
  both.registry.emplace(s.name, s);
  auto g = ApplyRules(std::vector<PortDecl>{decls[1]}, both);
  ASSERT_EQ(g.size(), 1u);
  ASSERT_TRUE(g[0].edit.has_value());
  EXPECT_EQ(g[0].edit->replacement, "sql2\\SALES,1600");
}

TEST(LintRules, PortMappersAndTheirClients) {
  PortDecl rpcbind = Decl("rpcbind.socket", 1, 111, DeclKind::kListen, "rpcbind");
  PortDecl epmap = Decl("smb", 1, 135, DeclKind::kPublish, "samba");
  PortDecl browser = Decl("b", 1, 1434, DeclKind::kListen, "sqlbrowser");
  browser.proto = Protocol::kUdp;
  PortDecl tcp1434 = Decl("c", 1, 1434, DeclKind::kListen, "x");  // the Browser is UDP only
  PortDecl pod = Decl("d", 1, 111, DeclKind::kListen, "pod");
  pod.isolated = true;
  PortDecl client = Decl("nfs-server.service", 6, 111, DeclKind::kTarget, "nfs-server");
  client.mapper = Mapper::kRpcbind;
  client.key_path = "Wants";
  client.instance = "rpcbind.socket";
  auto f = ApplyRules(std::vector<PortDecl>{rpcbind, epmap, browser, tcp1434, pod, client}, {});
  ASSERT_EQ(Rules(f), (std::vector<LintRule>{LintRule::kPortMapper, LintRule::kPortMapperClient,
                                             LintRule::kPortMapper, LintRule::kPortMapper}));
  EXPECT_EQ(f[0].where.file, "b");
  EXPECT_NE(f[1].why.find("Wants=rpcbind.socket"), std::string::npos) << f[1].why;
  EXPECT_NE(f[1].fix.find("[statd]"), std::string::npos) << f[1].fix;
  EXPECT_EQ(f[2].where.file, "rpcbind.socket");
  EXPECT_EQ(f[3].ports.Format(), "135");
}

TEST(LintRules, EveryRuleHasANameSummaryAndADocumentedRow) {
  std::ifstream in(std::string(BERTH_SOURCE_DIR) + "/docs/lint.md");
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(doc.empty()) << "docs/lint.md not found under " << BERTH_SOURCE_DIR;
  std::set<std::string_view> names;
  for (LintRule r : AllLintRules()) {
    EXPECT_FALSE(LintRuleName(r).empty());
    EXPECT_FALSE(LintRuleSummary(r).empty());
    EXPECT_TRUE(names.insert(LintRuleName(r)).second) << LintRuleName(r);
    EXPECT_NE(doc.find(fmt::format("| `{}` |", LintRuleName(r))), std::string::npos)
        << LintRuleName(r) << " has no row in docs/lint.md";
  }
}

}  // namespace
}  // namespace berth::lint

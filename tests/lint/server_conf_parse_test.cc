// The readers added for issue 14's second round: HAProxy, Apache, .service ExecStart= flags,
// odbc.ini, freetds.conf, go-mssqldb and pymssql strings; each declaration's position asserted.
#include <gtest/gtest.h>

#include <string>

#include "lint/conf_parse.h"
#include "lint/connstr_parse.h"
#include "lint/format.h"
#include "lint/rules.h"

namespace berth::lint {
namespace {

std::vector<PortDecl> ReadDecls(ConfigFormat f, std::string_view file, std::string_view text) {
  auto r = ReadPortDecls(f, file, text);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : std::vector<PortDecl>{};
}

void ExpectRangeAt(const PortDecl& d, int line, int column, PortRange ports) {
  EXPECT_EQ(d.where.line, line) << d.key_path;
  EXPECT_EQ(d.where.column, column) << d.key_path;
  EXPECT_EQ(d.ports, ports) << d.key_path;
}

TEST(HaproxyParse, BindInFrontendAndListenSections) {
  const std::string text =
      "global\n"
      "    stats socket ipv4@127.0.0.1:9999 level admin\n"  // not a front end
      "defaults\n    mode tcp\n"
      "frontend web # the site\n"
      "    bind :80,:::8443 ssl crt /x.pem\n"
      "    bind ipv4@127.0.0.1:40000-40010\n"
      "    bind unix@/run/h.sock\n"
      "    bind quic4@:443\n"
      "    bind :${PORT}\n"
      "backend app\n    bind :1\n    server a 10.0.0.1:8080 check\n"
      "listen db 0.0.0.0:5432\n"
      "    bind [::1]:6432\n";
  auto d = ReadDecls(ConfigFormat::kHaproxy, "/etc/haproxy/haproxy.cfg", text);
  ASSERT_EQ(d.size(), 6u);
  ExpectRangeAt(d[0], 6, 11, PortRange{80, 80});
  EXPECT_EQ(d[0].service, "web");
  EXPECT_EQ(d[0].key_path, "web.bind");
  EXPECT_EQ(d[0].address, "");
  ExpectRangeAt(d[1], 6, 17, PortRange{8443, 8443});
  EXPECT_EQ(d[1].address, "");  // ":::8443": IPv6's any address
  ExpectRangeAt(d[2], 7, 25, PortRange{40000, 40010});
  EXPECT_EQ(d[2].address, "127.0.0.1");
  ExpectRangeAt(d[3], 9, 17, PortRange{443, 443});
  EXPECT_EQ(d[3].proto, Protocol::kUdp);
  ExpectRangeAt(d[4], 14, 19, PortRange{5432, 5432});
  EXPECT_EQ(d[4].service, "db");
  ExpectRangeAt(d[5], 15, 16, PortRange{6432, 6432});
  EXPECT_EQ(d[5].address, "::1");
}

TEST(ApacheParse, ListenAndVirtualHosts) {
  const std::string text =
      "# Listen 1\n"
      "Listen 80\n"
      "<IfModule ssl_module>\n\tListen 443 https\n</IfModule>\n"
      "listen [2001:db8::1]:8080\n"
      "Listen ${APACHE_PORT}\n"
      "<VirtualHost *:80 [::1]:40080>\n</VirtualHost>\n"
      "<virtualhost _default_:443>\n<VirtualHost *>\n";
  auto d = ReadDecls(ConfigFormat::kApache, "/etc/apache2/ports.conf", text);
  ASSERT_EQ(d.size(), 6u);
  ExpectRangeAt(d[0], 2, 8, PortRange{80, 80});
  EXPECT_EQ(d[0].service, "apache");
  ExpectRangeAt(d[1], 4, 9, PortRange{443, 443});
  ExpectRangeAt(d[2], 6, 22, PortRange{8080, 8080});
  EXPECT_EQ(d[2].address, "2001:db8::1");
  ExpectRangeAt(d[3], 8, 16, PortRange{80, 80});
  EXPECT_EQ(d[3].key_path, "VirtualHost");
  ExpectRangeAt(d[4], 8, 25, PortRange{40080, 40080});
  EXPECT_EQ(d[4].address, "::1");
  ExpectRangeAt(d[5], 10, 24, PortRange{443, 443});
}

TEST(ExecStartParse, PortFlagsOfKnownProgramsOnly) {
  const std::string text =
      "[Unit]\nDescription=ExecStart=/usr/bin/redis-server --port 1\n"
      "[Service]\n"
      "ExecStartPre=/usr/bin/redis-server --port 2\n"
      "ExecStart=/usr/bin/redis-server /etc/redis/r.conf --port 6380 \\\n"
      "    --tls-port=6381 --daemonize no\n"
      "ExecStart=-@/usr/bin/memcached memcached -p 11211 -U 11212 -m 64 --port=0\n"
      "ExecStart=/usr/bin/python3 -m http.server -p 8000\n"  // -p is not known for python3
      "ExecStart=\"/usr/bin/sshd\" -D -p \"2222\"\n";
  auto d = ReadDecls(ConfigFormat::kSystemdService, "/etc/systemd/system/cache.service", text);
  ASSERT_EQ(d.size(), 5u);
  ExpectRangeAt(d[0], 5, 58, PortRange{6380, 6380});
  EXPECT_EQ(d[0].service, "redis");
  EXPECT_EQ(d[0].key_path, "ExecStart --port");
  ExpectRangeAt(d[1], 6, 16, PortRange{6381, 6381});
  EXPECT_EQ(d[1].key_path, "ExecStart --tls-port");
  ExpectRangeAt(d[2], 7, 45, PortRange{11211, 11211});
  EXPECT_EQ(d[2].service, "memcached");
  ExpectRangeAt(d[3], 7, 54, PortRange{11212, 11212});
  EXPECT_EQ(d[3].proto, Protocol::kUdp);  // --port=0 turns TCP off: no declaration
  ExpectRangeAt(d[4], 9, 34, PortRange{2222, 2222});
  EXPECT_EQ(d[4].service, "sshd");
}

TEST(ExecStartParse, KubeApiserversNodePortRangeIsARangeNotAPort) {
  const std::string text =
      "[Service]\n"
      "ExecStart=/usr/local/bin/kube-apiserver --advertise-address=10.0.0.1 \\\n"
      "  --service-node-port-range 30000-40000 --secure-port=6443\n"
      "ExecStart=/usr/local/bin/k3s server --service-node-port-range=20000-22767\n";
  auto d = ReadDecls(ConfigFormat::kSystemdService, "/etc/systemd/system/kube-apiserver.service", text);
  ASSERT_EQ(d.size(), 2u);
  ExpectRangeAt(d[0], 3, 29, PortRange{30000, 40000});
  EXPECT_EQ(d[0].kind, DeclKind::kNodePortRange);
  EXPECT_EQ(d[0].service, "kube-apiserver");
  EXPECT_EQ(d[0].key_path, "ExecStart --service-node-port-range");
  ExpectRangeAt(d[1], 4, 63, PortRange{20000, 22767});
  EXPECT_EQ(d[1].service, "k3s");
}

TEST(OdbcParse, NamedInstanceWithoutAPortIsABrowserClient) {
  const std::string text =
      "[ODBC Data Sources]\nsales = x\n"
      "[sales]\nDriver = ODBC Driver 18 for SQL Server\nServer = tcp:sql1\\SALES\nPassword = hunter2\n"
      "[main]\nDriver = FreeTDS\nServer = sql2\\MAIN\nPort = 1533\n"
      "[pinned]\nServer = sql3\\PIN,1433\n";
  auto d = ReadDecls(ConfigFormat::kOdbc, "/etc/odbc.ini", text);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].mapper, Mapper::kSqlBrowser);
  EXPECT_EQ(d[0].where.line, 5);
  EXPECT_EQ(d[0].where.column, 14);
  EXPECT_EQ(d[0].address, "sql1");
  EXPECT_EQ(d[0].instance, "SALES");
  EXPECT_EQ(d[0].service, "mssql.sales");
  ExpectRangeAt(d[1], 10, 8, PortRange{1533, 1533});
  EXPECT_EQ(d[1].kind, DeclKind::kTarget);
  EXPECT_EQ(d[1].address, "sql2");
  for (const PortDecl& x : d) EXPECT_EQ(x.text.find("hunter2"), std::string::npos);
}

TEST(FreetdsParse, InstanceIsAPortMapperDependency) {
  const std::string text =
      "[global]\n\ttds version = auto\n"
      "[reports]\n\thost = sql3.example.com\n\tinstance = REPORTS\n"
      "[main]\n\thost = sql4\n\tport = 1433\n";
  auto d = ReadDecls(ConfigFormat::kFreetds, "/etc/freetds/freetds.conf", text);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].mapper, Mapper::kSqlBrowser);
  EXPECT_EQ(d[0].where.line, 5);
  EXPECT_EQ(d[0].where.column, 13);
  EXPECT_EQ(d[0].address, "sql3.example.com");
  EXPECT_EQ(d[0].service, "mssql.reports");
  ExpectRangeAt(d[1], 8, 9, PortRange{1433, 1433});
  auto findings = ApplyRules(d, {});
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].rule, LintRule::kPortMapperClient);
  EXPECT_NE(findings[0].fix.find("port = PORT in place of instance = REPORTS"), std::string::npos)
      << findings[0].fix;
  EXPECT_FALSE(findings[0].edit.has_value());
}

TEST(ConnstrParse, GoMssqldbAndPymssql) {
  const std::string text =
      "a := \"sqlserver://sa:s3cret@sql5/INST5?database=x\"\n"
      "b := \"sqlserver://sa@sql6:1433/INST6\"\n"          // a port: the instance is not looked up
      "c := \"jdbc:sqlserver://sql7;databaseName=x\"\n"     // JDBC's reader, no instance
      "conn = pymssql.connect(server=r'sql8\\INST8', user='sa', password='pw')\n"
      "conn = pymssql.connect(server=\"sql9\\\\INST9\", port=1433)\n"
      "conn = pymssql.connect(host='sql10\\\\INST10')\n";
  auto d = ReadDecls(ConfigFormat::kText, "app.go", text);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].where.line, 1);
  EXPECT_EQ(d[0].where.column, 29);
  EXPECT_EQ(d[0].address, "sql5");
  EXPECT_EQ(d[0].instance, "INST5");
  EXPECT_EQ(d[0].key_path, "sqlserver");
  EXPECT_EQ(d[1].where.line, 4);
  EXPECT_EQ(d[1].where.column, 33);
  EXPECT_EQ(d[1].key_path, "pymssql");
  EXPECT_EQ(d[1].instance, "INST8");
  EXPECT_EQ(d[2].where.line, 6);
  EXPECT_EQ(d[2].address, "sql10");
  EXPECT_EQ(d[2].instance, "INST10");
  auto findings = ApplyRules(d, {});
  ASSERT_EQ(findings.size(), 3u);
  EXPECT_NE(findings[0].fix.find("sqlserver://sql5:PORT (go-mssqldb)"), std::string::npos);
  EXPECT_NE(findings[1].fix.find("server='sql8', port=PORT (pymssql)"), std::string::npos);
}

TEST(FormatDetection, NewFormats) {
  EXPECT_EQ(DetectFormat("/etc/haproxy/haproxy.cfg", ""), ConfigFormat::kHaproxy);
  EXPECT_EQ(DetectFormat("lb/haproxy.cfg", ""), ConfigFormat::kHaproxy);
  EXPECT_EQ(DetectFormat("/etc/apache2/apache2.conf", ""), ConfigFormat::kApache);
  EXPECT_EQ(DetectFormat("/etc/apache2/sites-enabled/000-default.conf", ""), ConfigFormat::kApache);
  EXPECT_EQ(DetectFormat("/etc/httpd/conf/httpd.conf", ""), ConfigFormat::kApache);
  EXPECT_EQ(DetectFormat("site.conf", "<VirtualHost *:80>\n"), ConfigFormat::kApache);
  EXPECT_EQ(DetectFormat("/etc/odbc.ini", ""), ConfigFormat::kOdbc);
  EXPECT_EQ(DetectFormat("/etc/freetds/freetds.conf", ""), ConfigFormat::kFreetds);
  EXPECT_EQ(DetectFormat("app.ini", ""), ConfigFormat::kText);
}

}  // namespace
}  // namespace berth::lint

// The line readers (systemd, nginx, sshd, postgresql, redis, my.cnf, .env, .properties), the
// connection-string reader and format detection, each declaration's position asserted.
#include "lint/conf_parse.h"

#include <gtest/gtest.h>

#include <string>

#include "lint/connstr_parse.h"
#include "lint/format.h"
#include "lint/line_reader.h"

namespace berth::lint {
namespace {

std::vector<PortDecl> Read(ConfigFormat f, std::string_view file, std::string_view text) {
  auto r = ParseConfPorts(f, file, text);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : std::vector<PortDecl>{};
}

void ExpectAt(const PortDecl& d, int line, int column, Port port) {
  EXPECT_EQ(d.where.line, line) << d.key_path;
  EXPECT_EQ(d.where.column, column) << d.key_path;
  EXPECT_EQ(d.ports, (PortRange{port, port})) << d.key_path;
}

TEST(ConfParse, SystemdSocket) {
  auto d = Read(ConfigFormat::kSystemdSocket, "/lib/systemd/system/app.socket",
                "[Unit]\nListenStream=1\n[Socket]\nListenStream=[::]:8022\nListenDatagram=0\n"
                "ListenStream=/run/x.sock\nListenStream=127.0.0.1:53\n");
  ASSERT_EQ(d.size(), 3u);
  ExpectAt(d[0], 4, 19, 8022);
  EXPECT_EQ(d[0].service, "app");
  EXPECT_EQ(d[1].proto, Protocol::kUdp);
  EXPECT_EQ(d[1].dynamic, Dynamic::kZero);
  ExpectAt(d[2], 7, 24, 53);
  EXPECT_EQ(d[2].address, "127.0.0.1");
}

TEST(ConfParse, SystemdServiceThatNeedsRpcbind) {
  auto d = Read(ConfigFormat::kSystemdService, "/lib/systemd/system/rpc-statd.service",
                "[Unit]\nRequires=nss-lookup.target rpcbind.socket\nAfter=rpcbind.service\n"
                "[Service]\nWants=rpcbind.socket\n");
  ASSERT_EQ(d.size(), 1u);  // After= orders, it does not depend; [Service] has no Wants=
  EXPECT_EQ(d[0].where.line, 2);
  EXPECT_EQ(d[0].where.column, 28);
  EXPECT_EQ(d[0].mapper, Mapper::kRpcbind);
  EXPECT_EQ(d[0].service, "rpc-statd");
  EXPECT_EQ(d[0].instance, "rpcbind.socket");
  // rpcbind's own units are the mapper, not its clients.
  EXPECT_TRUE(Read(ConfigFormat::kSystemdService, "portmap.service", "[Unit]\nRequires=rpcbind.socket\n").empty());
}

TEST(ConfParse, Nginx) {
  auto d = Read(ConfigFormat::kNginx, "default",
                "server { listen 8080; # listen 1;\n"
                "  listen [::]:443 ssl http2;\n"
                "  listen 127.0.0.1;\n"
                "  listen unix:/run/n.sock;\n"
                "  listen 10.0.0.1:8443 quic reuseport;\n"
                "  server_name listen;\n}\n");
  ASSERT_EQ(d.size(), 4u);
  ExpectAt(d[0], 1, 17, 8080);
  ExpectAt(d[1], 2, 15, 443);
  EXPECT_EQ(d[1].address, "");
  ExpectAt(d[2], 3, 10, 80);  // an address alone is port 80
  EXPECT_EQ(d[2].address, "127.0.0.1");
  EXPECT_EQ(d[3].proto, Protocol::kUdp);
  EXPECT_EQ(d[3].service, "nginx");
}

TEST(ConfParse, Sshd) {
  auto d = Read(ConfigFormat::kSshd, "sshd_config",
                "#Port 22\nport 2222\nListenAddress 10.0.0.1:2200\nListenAddress [::1]:2201\n"
                "ListenAddress 0.0.0.0\nMatch User x\nPort 9\n");
  ASSERT_EQ(d.size(), 3u);
  ExpectAt(d[0], 2, 6, 2222);
  ExpectAt(d[1], 3, 24, 2200);
  EXPECT_EQ(d[1].address, "10.0.0.1");
  ExpectAt(d[2], 4, 21, 2201);
  EXPECT_EQ(d[2].address, "::1");
}

TEST(ConfParse, PostgresqlAndRedisAndMysql) {
  auto pg = Read(ConfigFormat::kPostgresql, "postgresql.conf",
                 "#port = 1\nport = '5433'  # comment\n");
  ASSERT_EQ(pg.size(), 1u);
  ExpectAt(pg[0], 2, 9, 5433);

  auto redis = Read(ConfigFormat::kRedis, "redis.conf",
                    "port 7000\ntls-port 0\ncluster-enabled yes\n");
  ASSERT_EQ(redis.size(), 2u);
  ExpectAt(redis[0], 1, 6, 7000);
  EXPECT_EQ(redis[1].kind, DeclKind::kDerived);
  EXPECT_EQ(redis[1].ports, (PortRange{17000, 17000}));
  auto bus = Read(ConfigFormat::kRedis, "redis.conf", "port 7000\ncluster-enabled yes\ncluster-port 7100\n");
  ASSERT_EQ(bus.size(), 2u);
  EXPECT_EQ(bus[1].ports, (PortRange{7100, 7100}));
  EXPECT_EQ(Read(ConfigFormat::kRedis, "redis.conf", "port 6379\n").size(), 1u);

  auto my = Read(ConfigFormat::kMysql, "my.cnf",
                 "[client]\nport=3307\n[mysqld]\nport = 3306\n");
  ASSERT_EQ(my.size(), 3u);
  EXPECT_EQ(my[0].kind, DeclKind::kTarget);
  ExpectAt(my[1], 4, 8, 3306);
  EXPECT_EQ(my[2].kind, DeclKind::kDerived);
  EXPECT_EQ(my[2].ports, (PortRange{33060, 33060}));
  // MariaDB has no X Plugin; mysqlx=OFF turns it off; mysqlx_port moves it.
  EXPECT_EQ(Read(ConfigFormat::kMysql, "my.cnf", "[mysqld]\nport=3306\n[mariadb]\n").size(), 1u);
  EXPECT_EQ(Read(ConfigFormat::kMysql, "my.cnf", "[mysqld]\nport=3306\nmysqlx=OFF\n").size(), 1u);
  auto x = Read(ConfigFormat::kMysql, "my.cnf", "[mysqld]\nport=3306\nmysqlx-port=23060\n");
  ASSERT_EQ(x.size(), 2u);
  EXPECT_EQ(x[1].ports, (PortRange{23060, 23060}));
}

// MariaDB's option groups: the server also reads [client-server] (Debian's mariadb.cnf has its
// "# port = 3306" there), [mariadbd] and [galera]; [mariadb-client] and [client-mariadb] are the
// clients' (sql/mysqld.cc's and client/mysql.cc's load_default_groups).
TEST(ConfParse, MariadbOptionGroups) {
  auto both = Read(ConfigFormat::kMysql, "/etc/mysql/my.cnf", "[client-server]\nport = 40306\n");
  ASSERT_EQ(both.size(), 1u);  // MariaDB's group: no X Plugin
  ExpectAt(both[0], 2, 8, 40306);
  EXPECT_EQ(both[0].kind, DeclKind::kListen);
  EXPECT_EQ(both[0].key_path, "[client-server].port");
  EXPECT_EQ(both[0].service, "mysql");

  auto clients = Read(ConfigFormat::kMysql, "my.cnf",
                      "[mariadb-client]\nport=3307\n[client-mariadb]\nport=3308\n");
  ASSERT_EQ(clients.size(), 2u);
  EXPECT_EQ(clients[0].kind, DeclKind::kTarget);
  EXPECT_EQ(clients[1].kind, DeclKind::kTarget);

  auto servers = Read(ConfigFormat::kMysql, "my.cnf",
                      "[mariadbd]\nport=3309\n[galera]\nport=3310\n[mariadb-10.11]\nport=3311\n"
                      "[mysqldump]\nport=3312\n");
  ASSERT_EQ(servers.size(), 3u);  // [mysqldump] is a client program's, not read
  for (const PortDecl& d : servers) EXPECT_EQ(d.kind, DeclKind::kListen) << d.key_path;
  ExpectAt(servers[1], 4, 6, 3310);
}

TEST(ConfParse, EnvAndProperties) {
  auto env = Read(ConfigFormat::kEnv, ".env",
                  "# PORT=1\nPORT=3000\nexport DB_PORT=\"5432\"\nREPORT_DIR=/tmp\nAPP_PORT=${random.int}\n");
  ASSERT_EQ(env.size(), 3u);
  ExpectAt(env[0], 2, 6, 3000);
  EXPECT_EQ(env[0].kind, DeclKind::kListen);
  ExpectAt(env[1], 3, 17, 5432);
  EXPECT_EQ(env[1].kind, DeclKind::kTarget);
  EXPECT_EQ(env[2].dynamic, Dynamic::kRandom);

  auto props = Read(ConfigFormat::kProperties, "application.properties",
                    "server.port: 0\nspring.application.name=orders\nmanagement.server.port 8081\n");
  ASSERT_EQ(props.size(), 2u);
  EXPECT_EQ(props[0].dynamic, Dynamic::kZero);
  EXPECT_EQ(props[0].service, "orders");
  ExpectAt(props[1], 3, 24, 8081);
}

TEST(ConfParse, PortKeys) {
  EXPECT_TRUE(IsPortKey("PORT"));
  EXPECT_TRUE(IsPortKey("listenPort"));
  EXPECT_TRUE(IsPortKey("server.port"));
  EXPECT_FALSE(IsPortKey("REPORT"));
  EXPECT_FALSE(IsPortKey("SUPPORT_EMAIL"));
  EXPECT_FALSE(IsPortKey("portal"));
}

TEST(ConfParse, OverlongLinesAndNulBytesAreErrors) {
  auto big = ParseConfPorts(ConfigFormat::kNginx, "n", std::string(kMaxLineBytes + 1, 'x'));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code, ErrorCode::kMalformed);
  auto nul = ParseConfPorts(ConfigFormat::kSshd, "s", std::string("Port 22\0", 8));
  ASSERT_FALSE(nul.has_value());
  EXPECT_NE(nul.error().message.find("NUL"), std::string::npos);
}

std::vector<PortDecl> Conn(std::string_view text) {
  auto r = ParseConnectionStrings(ConfigFormat::kText, "f", text);
  EXPECT_TRUE(r.has_value());
  return r ? *r : std::vector<PortDecl>{};
}

TEST(ConnStr, NamedInstancesNeedTheBrowser) {
  auto d = Conn("x = \"Server=tcp:db1\\\\SQLEXPRESS;Password=secret\"\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].mapper, Mapper::kSqlBrowser);
  EXPECT_EQ(d[0].address, "db1");
  EXPECT_EQ(d[0].instance, "SQLEXPRESS");
  EXPECT_EQ(d[0].service, "mssql.sqlexpress");
  EXPECT_EQ(d[0].where.column, 17);  // the host, after "tcp:"
  for (std::string_view s : {"Data Source=.\\I;", "Network Address = h\\I", "<add c=\"Address=h\\I\"/>",
                             "url=jdbc:sqlserver://h\\I;databaseName=x",
                             "url=jdbc:sqlserver://h;instanceName=I;user=sa",
                             "jdbc:jtds:sqlserver://h/db;instance=I"}) {
    auto one = Conn(s);
    ASSERT_EQ(one.size(), 1u) << s;
    EXPECT_EQ(one[0].instance, "I") << s;
  }
  auto nm = Conn("Network Address = h\\I");
  ASSERT_EQ(nm.size(), 1u);  // "address" inside "network address" is read once
  EXPECT_EQ(nm[0].key_path, "Network Address");
}

TEST(ConnStr, PinnedOrOtherStringsAreNotFindings) {
  for (std::string_view s : {"Server=tcp:h\\I,1533;", "Server=h,1433", "jdbc:sqlserver://h\\I:1533;x=y",
                             "jdbc:sqlserver://h;instanceName=I;portNumber=1533",
                             "Server=np:\\\\h\\pipe\\sql\\query", "Server=myhost:5432;Database=x",
                             "myserver=h\\I", "server {", "Data Source=C:\\data\\app.db",
                             "Data Source=(localdb)\\MSSQLLocalDB", "Server=h\\a.b",
                             "Data Source=\\\\share\\x"}) {
    EXPECT_TRUE(Conn(s).empty()) << s;
  }
  auto hp = Conn("Data Source=sql2:1433;Initial Catalog=main");
  ASSERT_EQ(hp.size(), 1u);
  EXPECT_TRUE(hp[0].host_port);
  EXPECT_EQ(hp[0].ports, (PortRange{1433, 1433}));
}

TEST(Format, ByNameAndContent) {
  EXPECT_EQ(DetectFormat("a/docker-compose.prod.yml", ""), ConfigFormat::kCompose);
  EXPECT_EQ(DetectFormat("k8s/app.yaml", ""), ConfigFormat::kYaml);
  EXPECT_EQ(DetectFormat("/etc/ssh/sshd_config", ""), ConfigFormat::kSshd);
  EXPECT_EQ(DetectFormat("/etc/ssh/sshd_config.d/10.conf", ""), ConfigFormat::kSshd);
  EXPECT_EQ(DetectFormat("/etc/nginx/sites-enabled/default", ""), ConfigFormat::kNginx);
  EXPECT_EQ(DetectFormat("site.conf", "server {\n listen 80;\n}"), ConfigFormat::kNginx);
  EXPECT_EQ(DetectFormat("site.conf", "a=b"), std::nullopt);
  EXPECT_EQ(DetectFormat("x/.env.local", ""), ConfigFormat::kEnv);
  EXPECT_EQ(DetectFormat("appsettings.Production.json", ""), ConfigFormat::kJson);
  EXPECT_EQ(DetectFormat("app/config.json", ""), ConfigFormat::kJson);
  EXPECT_EQ(DetectFormat("app/config.production.json", ""), ConfigFormat::kJson);
  EXPECT_EQ(DetectFormat("app/service.config.json", ""), ConfigFormat::kJson);
  EXPECT_EQ(DetectFormat("app/config/default.json", ""), ConfigFormat::kJson);  // node-config
  EXPECT_EQ(DetectFormat("tsconfig.json", ""), std::nullopt);
  EXPECT_EQ(DetectFormat(".vscode/settings.json", ""), std::nullopt);
  EXPECT_EQ(DetectFormat("package.json", ""), std::nullopt);  // walked past: not read
  EXPECT_EQ(DetectFormat("package.json", "{}"), ConfigFormat::kJson);  // named or included
  EXPECT_EQ(DetectFormat("web.config", ""), ConfigFormat::kXml);
  EXPECT_EQ(DetectFormat("/etc/tomcat10/server.xml", ""), ConfigFormat::kXml);
  EXPECT_EQ(DetectFormat("pom.xml", ""), std::nullopt);
  EXPECT_EQ(DetectFormat("pom.xml", "<project/>"), ConfigFormat::kXml);
  EXPECT_EQ(DetectFormat("php.ini", ""), ConfigFormat::kText);
  EXPECT_EQ(DetectFormat("/etc/mysql/mariadb.conf.d/50-server.cnf", ""), ConfigFormat::kMysql);
}

}  // namespace
}  // namespace berth::lint

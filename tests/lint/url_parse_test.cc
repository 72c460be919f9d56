// Ports inside URLs: the RFC 3986 authority reader (userinfo skipped, IP literals, no default
// port invented, what is not an authority refused), and the declarations each reader makes of
// them (.env, .properties, YAML, Compose, JSON, XML) at the port's exact line and column.
#include "lint/url_parse.h"

#include <gtest/gtest.h>

#include <string>

#include "lint/format.h"
#include "lint/line_reader.h"
#include "lint/lint_decl_expect.h"

namespace berth::lint {
namespace {

std::vector<PortDecl> ReadWithUrls(ConfigFormat f, std::string_view file, std::string_view text) {
  auto r = ReadPortDecls(f, file, text);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : std::vector<PortDecl>{};
}

// `d` is at `line`:`column`, its offset is that place in `text` and starts the port's digits.
void ExpectUrlPort(std::string_view text, const PortDecl& d, int line, int column, Port port,
                   DeclKind kind, std::string_view address) {
  ExpectDeclAt(text, d, line, column, port);
  EXPECT_EQ(d.kind, kind) << d.key_path;
  EXPECT_EQ(d.address, address) << d.key_path;
  const LineColumn at = PositionOf(text, d.offset);
  EXPECT_EQ(at.line, line) << d.key_path;
  EXPECT_EQ(at.column, column) << d.key_path;
}

TEST(UrlParse, AuthorityGrammar) {
  auto u = FindUrlPorts("postgres://app:pw@db:5432/app");
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].scheme, "postgres");
  EXPECT_EQ(u[0].host, "db");
  EXPECT_EQ(u[0].port, 5432);
  EXPECT_EQ(u[0].port_offset, 21u);
  EXPECT_EQ(u[0].port_size, 4u);

  u = FindUrlPorts("jdbc:postgresql://db.internal:5432/app?ssl=true");
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].scheme, "postgresql");
  EXPECT_EQ(u[0].host, "db.internal");

  u = FindUrlPorts("http://[::1]:8080/ and http://[fe80::1%25eth0]:9000");
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].host, "::1");
  EXPECT_EQ(u[0].port, 8080);
  EXPECT_EQ(u[1].host, "fe80::1%25eth0");
  EXPECT_EQ(u[1].port, 9000);

  // A password with '@' and ':' in it: the host is after the last '@', and the password is
  // in no field.
  u = FindUrlPorts("redis://:p@ss:w0rd@cache:6379/0");
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].host, "cache");
  EXPECT_EQ(u[0].port, 6379);

  // Several hosts (PostgreSQL's and MongoDB's drivers), JDBC properties after ';'.
  u = FindUrlPorts("mongodb://u:p@h1:27017,h2:27018/db");
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[1].host, "h2");
  EXPECT_EQ(u[1].port, 27018);
  u = FindUrlPorts("jdbc:sqlserver://sql1:1433;databaseName=app");
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].port, 1433);

  EXPECT_EQ(FindUrlPorts("http://0.0.0.0:0/")[0].port, 0);
  EXPECT_EQ(FindUrlPorts("redis://${REDIS_HOST}:6379")[0].host, "${REDIS_HOST}");
}

TEST(UrlParse, NoPortIsNotInventedAndNonAuthoritiesGiveNothing) {
  EXPECT_TRUE(FindUrlPorts("https://example.com/path").empty());     // no default 443
  EXPECT_TRUE(FindUrlPorts("http://host:/x").empty());               // empty port: the default
  EXPECT_TRUE(FindUrlPorts("http://host:${PORT}/").empty());         // a placeholder port
  EXPECT_TRUE(FindUrlPorts("http://host:70000/").empty());           // past 65535
  EXPECT_TRUE(FindUrlPorts("http://host:123456/").empty());
  EXPECT_TRUE(FindUrlPorts("http://::1:8080/").empty());             // IPv6 without brackets
  EXPECT_TRUE(FindUrlPorts("http://[::1/").empty());                 // unclosed literal
  EXPECT_TRUE(FindUrlPorts("http://[zz]:80/").empty());              // not an address
  EXPECT_TRUE(FindUrlPorts("http://h%zz:80/").empty());              // bad percent-encoding
  EXPECT_TRUE(FindUrlPorts("://host:80").empty());                   // no scheme
  EXPECT_TRUE(FindUrlPorts("1http://host:80").size() == 1u);         // the scheme starts at a letter
  EXPECT_TRUE(FindUrlPorts("file:///etc/hosts").empty());
  EXPECT_TRUE(FindUrlPorts("C:\\dir\\x").empty());
  // One bad host makes the authority not RFC 3986's: none of its ports is taken.
  EXPECT_TRUE(FindUrlPorts("mongodb://h1:27017,h2:x/db").empty());
}

TEST(UrlParse, BoundedOnHostileValues) {
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "a://h:1 ";
  EXPECT_EQ(FindUrlPorts(many).size(), kMaxUrlsPerValue);
  std::string hosts = "m://";
  for (int i = 0; i < 1000; ++i) hosts += "h:1,";
  hosts += "h:2";
  EXPECT_EQ(FindUrlPorts(hosts).size(), kMaxHostsPerUrl);
  EXPECT_TRUE(FindUrlPorts(std::string(60000, ':') + "//").empty());
}

TEST(UrlParse, EnvAndProperties) {
  const std::string env =
      "# DATABASE_URL=postgres://commented:1/\n"
      "DATABASE_URL=postgres://app:pw-s3cret@db:5432/app\n"
      "export CACHE_URL=\"redis://cache:6379/0\"\n"
      "LISTEN_URL=http://0.0.0.0:0/\n"
      "HOME_PAGE=https://example.com/\n";
  auto d = ReadWithUrls(ConfigFormat::kEnv, ".env", env);
  ASSERT_EQ(d.size(), 3u);
  ExpectUrlPort(env, d[0], 2, 42, 5432, DeclKind::kTarget, "db");
  EXPECT_EQ(d[0].key_path, "DATABASE_URL");
  ExpectUrlPort(env, d[1], 3, 33, 6379, DeclKind::kTarget, "cache");
  ExpectUrlPort(env, d[2], 4, 27, 0, DeclKind::kListen, "");
  EXPECT_EQ(d[2].dynamic, Dynamic::kZero);
  for (const PortDecl& x : d) {
    EXPECT_EQ(x.text.find("s3cret"), std::string::npos);
    EXPECT_EQ(x.address.find("s3cret"), std::string::npos);
  }

  const std::string props =
      "spring.application.name=orders\n"
      "spring.datasource.url=jdbc:postgresql://db:5432/app\n"
      "spring.rabbitmq.addresses: amqp://mq:5672\n"
      "server.bind-url = http://[::]:8081\n";
  d = ReadWithUrls(ConfigFormat::kProperties, "application.properties", props);
  ASSERT_EQ(d.size(), 3u);
  ExpectUrlPort(props, d[0], 2, 44, 5432, DeclKind::kTarget, "db");
  EXPECT_EQ(d[0].service, "orders");
  ExpectUrlPort(props, d[1], 3, 38, 5672, DeclKind::kTarget, "mq");
  ExpectUrlPort(props, d[2], 4, 31, 8081, DeclKind::kListen, "");
}

TEST(UrlParse, Yaml) {
  const std::string yaml =
      "spring:\n"
      "  datasource:\n"
      "    url: jdbc:postgresql://db:5432/app\n"
      "health:\n"
      "  url: 'http://svc:31000/health'\n"
      "  escaped: \"http://a\\x41:31001/\"\n"
      "  folded: >\n"
      "    http://svc:31002/\n"
      "mirrors:\n"
      "  - http://m1:8080/\n"
      "listen_url: http://0.0.0.0:39000\n";
  auto d = ReadWithUrls(ConfigFormat::kYaml, "application.yml", yaml);
  ASSERT_EQ(d.size(), 4u);
  ExpectUrlPort(yaml, d[0], 3, 31, 5432, DeclKind::kTarget, "db");
  EXPECT_EQ(d[0].key_path, "spring.datasource.url");
  ExpectUrlPort(yaml, d[1], 5, 20, 31000, DeclKind::kTarget, "svc");
  ExpectUrlPort(yaml, d[2], 10, 15, 8080, DeclKind::kTarget, "m1");
  EXPECT_EQ(d[2].key_path, "mirrors[0]");
  ExpectUrlPort(yaml, d[3], 11, 28, 39000, DeclKind::kListen, "");
  EXPECT_FALSE(d[3].isolated);
}

TEST(UrlParse, ComposeEnvironmentIsTheContainers) {
  const std::string compose =
      "services:\n"
      "  api:\n"
      "    image: example/api\n"
      "    environment:\n"
      "      - DATABASE_URL=postgres://u:pw@db:5432/app\n"
      "      - LISTEN_URL=http://0.0.0.0:8080\n"
      "  worker:\n"
      "    image: example/worker\n"
      "    environment:\n"
      "      AMQP_URL: amqp://mq:5672\n";
  auto d = ReadWithUrls(ConfigFormat::kCompose, "compose.yaml", compose);
  ASSERT_EQ(d.size(), 3u);
  ExpectUrlPort(compose, d[0], 5, 41, 5432, DeclKind::kTarget, "db");
  EXPECT_EQ(d[0].service, "api");
  EXPECT_EQ(d[0].format, ConfigFormat::kCompose);
  ExpectUrlPort(compose, d[1], 6, 35, 8080, DeclKind::kListen, "");
  EXPECT_TRUE(d[1].isolated);
  ExpectUrlPort(compose, d[2], 10, 27, 5672, DeclKind::kTarget, "mq");
  EXPECT_EQ(d[2].service, "worker");
}

// A manifest's container env: the program runs in the pod's own namespace.
TEST(UrlParse, KubernetesEnvIsThePods) {
  const std::string k8s =
      "apiVersion: apps/v1\n"
      "kind: Deployment\n"
      "metadata:\n"
      "  name: api\n"
      "spec:\n"
      "  template:\n"
      "    spec:\n"
      "      containers:\n"
      "        - name: api\n"
      "          env:\n"
      "            - name: DATABASE_URL\n"
      "              value: \"postgres://u:pw@db.prod.svc:5432/app\"\n"
      "            - name: BIND_URL\n"
      "              value: http://0.0.0.0:40000\n";
  auto d = ReadWithUrls(ConfigFormat::kYaml, "deploy.yaml", k8s);
  ASSERT_EQ(d.size(), 2u);
  ExpectUrlPort(k8s, d[0], 12, 51, 5432, DeclKind::kTarget, "db.prod.svc");
  EXPECT_EQ(d[0].format, ConfigFormat::kKubernetes);
  EXPECT_EQ(d[0].service, "api");
  // {name: BIND_URL, value: ...} is keyed by its name: a listen, in the pod's namespace.
  ExpectUrlPort(k8s, d[1], 14, 37, 40000, DeclKind::kListen, "");
  EXPECT_TRUE(d[1].isolated);
  EXPECT_EQ(d[1].key_path, "spec.template.spec.containers[0].env[1].value");
}

TEST(UrlParse, Json) {
  const std::string json =
      "{\n"
      "  \"ConnectionStrings\": { \"Redis\": \"redis://cache:6379/0\" },\n"
      "  \"Endpoints\": [\"http://[::1]:8080/\", \"http:\\/\\/x:9/\"],\n"
      "  \"Kestrel\": { \"Endpoints\": { \"Http\": { \"Url\": \"http://0.0.0.0:5000\" } } },\n"
      "  \"ListenUrl\": \"http://*:0\"\n"
      "}\n";
  auto d = ReadWithUrls(ConfigFormat::kJson, "appsettings.json", json);
  ASSERT_EQ(d.size(), 4u);
  ExpectUrlPort(json, d[0], 2, 50, 6379, DeclKind::kTarget, "cache");
  EXPECT_EQ(d[0].key_path, "ConnectionStrings.Redis");
  ExpectUrlPort(json, d[1], 3, 31, 8080, DeclKind::kTarget, "::1");
  EXPECT_EQ(d[1].key_path, "Endpoints[0]");
  ExpectUrlPort(json, d[2], 4, 64, 5000, DeclKind::kListen, "");  // Kestrel's endpoints listen
  ExpectUrlPort(json, d[3], 5, 26, 0, DeclKind::kListen, "");
  EXPECT_EQ(d[3].dynamic, Dynamic::kZero);
}

TEST(UrlParse, Xml) {
  const std::string xml =
      "<configuration>\n"
      "  <appSettings>\n"
      "    <add key=\"ApiUrl\" value=\"http://api:8080/x?a=1&amp;b=2\"/>\n"
      "    <add key=\"BindUrl\" value=\"http://127.0.0.1:9100\"/>\n"
      "  </appSettings>\n"
      "  <endpoint address=\"net.tcp://svc:808/Service\"/>\n"
      "  <url> http://svc:31000/health </url>\n"
      "  <odd value=\"http://a&#58;1:2/\"/>\n"
      "</configuration>\n";
  auto d = ReadWithUrls(ConfigFormat::kXml, "web.config", xml);
  ASSERT_EQ(d.size(), 4u);
  ExpectUrlPort(xml, d[0], 3, 41, 8080, DeclKind::kTarget, "api");
  EXPECT_EQ(d[0].key_path, "configuration.appSettings.add[ApiUrl]");
  ExpectUrlPort(xml, d[1], 4, 48, 9100, DeclKind::kListen, "127.0.0.1");
  ExpectUrlPort(xml, d[2], 6, 36, 808, DeclKind::kTarget, "svc");
  EXPECT_EQ(d[2].key_path, "configuration.endpoint@address");
  ExpectUrlPort(xml, d[3], 7, 20, 31000, DeclKind::kTarget, "svc");
  EXPECT_EQ(d[3].key_path, "configuration.url");
}

}  // namespace
}  // namespace berth::lint

// The JSON and XML readers: keys, attributes and elements named port with their positions,
// what they leave alone, and hostile documents (deep nesting, entities, huge or binary text).
#include "lint/json_parse.h"
#include "lint/xml_parse.h"

#include <gtest/gtest.h>

#include <string>

#include "lint/format.h"
#include "lint/lint_decl_expect.h"

namespace berth::lint {
namespace {

TEST(JsonParse, KeysNamedPortWithTheirPositions) {
  const std::string text =
      "// .NET allows comments\n"
      "{\n"
      "  \"server\": {\"port\": 8080, \"name\": \"8081\"},\n"
      "  \"Database\": { /* the primary */ \"Port\": \"5432\" },\n"
      "  \"workers\": [{\"listenPort\": 0}, {\"listenPort\": 9100}],\n"
      "  \"escaped\": {\"port\": \"\\u0038080\"},\n"
      "  \"far\": {\"port\": 70000, \"offset\": -1, \"ratio\": 1.5},\n"
      "  \"random\": {\"port\": \"${random.int[20000,30000]}\"}\n"
      "}\n";
  auto r = ParseJsonPorts("config.json", text);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 5u);
  const auto& d = *r;
  ExpectDeclAt(text, d[0], 3, 22, 8080);
  EXPECT_EQ(d[0].key_path, "server.port");
  EXPECT_EQ(d[0].kind, DeclKind::kListen);  // server.port, as in Spring
  EXPECT_EQ(d[0].format, ConfigFormat::kJson);
  ExpectDeclAt(text, d[1], 4, 44, 5432);  // after the quote
  EXPECT_EQ(d[1].key_path, "Database.Port");
  EXPECT_EQ(d[2].key_path, "workers[0].listenPort");
  EXPECT_EQ(d[2].kind, DeclKind::kListen);
  EXPECT_EQ(d[2].dynamic, Dynamic::kZero);
  ExpectDeclAt(text, d[3], 5, 49, 9100);
  EXPECT_EQ(d[3].key_path, "workers[1].listenPort");
  EXPECT_EQ(d[4].key_path, "random.port");
  EXPECT_EQ(d[4].dynamic, Dynamic::kRandom);
}

TEST(JsonParse, TrailingCommasAsDotNetAcceptsThemKeepEveryOffset) {
  const std::string text =
      "{\n"
      "  \"Kestrel\": {\"Port\": 5000, /* last */ },\n"
      "  \"list\": [1, 2, // two\n  ],\n"
      "  \"note\": \"a, }\",\n"
      "  \"Metrics\": {\"ListenPort\": 9102,},\n"
      "}\n";
  auto r = ParseJsonPorts("appsettings.json", text);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  ExpectDeclAt(text, (*r)[0], 2, 23, 5000);
  ExpectDeclAt(text, (*r)[1], 6, 29, 9102);
  // A comma before nothing at all is still invalid.
  EXPECT_FALSE(ParseJsonPorts("a.json", "{\"port\": 1,,}").has_value());
}

TEST(JsonParse, AppsettingsGiveTheirPortsAndTheirConnectionStrings) {
  const std::string text =
      "{\"Port\": 5000,\n"
      " \"ConnectionStrings\": {\"Main\": \"Server=sql1\\\\SALES;Database=s\"}}\n";
  auto r = ReadPortDecls(ConfigFormat::kJson, "appsettings.json", text);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].key_path, "Port");
  EXPECT_EQ((*r)[0].kind, DeclKind::kListen);
  EXPECT_EQ((*r)[1].mapper, Mapper::kSqlBrowser);
  EXPECT_EQ((*r)[1].instance, "SALES");
}

TEST(JsonParse, HostileDocumentsAreAClearErrorForTheFile) {
  auto invalid = ParseJsonPorts("a.json", "{\n  \"port\": 80,\n  oops\n}");
  ASSERT_FALSE(invalid.has_value());
  EXPECT_EQ(invalid.error().code, ErrorCode::kMalformed);
  EXPECT_NE(invalid.error().message.find("invalid JSON at line 3"), std::string::npos)
      << invalid.error().message;
  auto deep = ParseJsonPorts("a.json", std::string(100000, '[') + std::string(100000, ']'));
  ASSERT_FALSE(deep.has_value());
  EXPECT_NE(deep.error().message.find("nested deeper than 64"), std::string::npos) << deep.error().message;
  auto nul = ParseJsonPorts("a.json", std::string("{\"port\": 1}\0", 12));
  ASSERT_FALSE(nul.has_value());
  EXPECT_NE(nul.error().message.find("NUL"), std::string::npos);
  auto huge = ParseJsonPorts("a.json", "[\"" + std::string(kMaxJsonBytes, 'x') + "\"]");
  ASSERT_FALSE(huge.has_value());
  EXPECT_NE(huge.error().message.find("more than the 1024 KiB"), std::string::npos);
  auto utf8 = ParseJsonPorts("a.json", "{\"port\": \"\xff\"}");
  EXPECT_FALSE(utf8.has_value());
}

TEST(XmlParse, WebConfigAppSettingsAndIisBindings) {
  const std::string text =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<configuration>\n"
      "  <appSettings>\n"
      "    <add key=\"ListenPort\" value=\"8080\" />\n"
      "    <add key=\"Retries\" value=\"9\" />\n"
      "    <add key=\"BackendPort\"\n"
      "         value = '9200' />\n"
      "  </appSettings>\n"
      "  <connectionStrings>\n"
      "    <add name=\"r\" connectionString=\"Server=sql1\\REPORTING;Database=r\" />\n"
      "  </connectionStrings>\n"
      "  <system.applicationHost><sites><site name=\"web\"><bindings>\n"
      "    <binding protocol=\"http\" bindingInformation=\"10.0.0.5:8081:shop.example\" />\n"
      "    <binding protocol=\"https\" bindingInformation=\"*:443:\" />\n"
      "  </bindings></site></sites></system.applicationHost>\n"
      "</configuration>\n";
  auto r = ReadPortDecls(ConfigFormat::kXml, "web.config", text);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 5u);
  const auto& d = *r;
  ExpectDeclAt(text, d[0], 4, 34, 8080);
  EXPECT_EQ(d[0].key_path, "configuration.appSettings.add[ListenPort]");
  EXPECT_EQ(d[0].kind, DeclKind::kListen);
  EXPECT_EQ(d[0].format, ConfigFormat::kXml);
  ExpectDeclAt(text, d[1], 7, 19, 9200);
  EXPECT_EQ(d[1].kind, DeclKind::kTarget);
  ExpectDeclAt(text, d[2], 13, 59, 8081);
  EXPECT_EQ(d[2].address, "10.0.0.5");
  EXPECT_EQ(d[2].kind, DeclKind::kListen);
  ExpectDeclAt(text, d[3], 14, 53, 443);
  EXPECT_EQ(d[3].address, "");
  EXPECT_EQ(d[4].mapper, Mapper::kSqlBrowser);  // the connection strings are still read
}

TEST(XmlParse, TomcatConnectorsAndPortElements) {
  const std::string text =
      "<Server port=\"8005\" shutdown=\"SHUTDOWN\">\n"
      "  <Service name=\"Catalina\">\n"
      "    <Connector protocol=\"HTTP/1.1\" connectionTimeout=\"20000\"\n"
      "               redirectPort=\"8443\" port=\"8080\" />\n"
      "    <Engine><Cluster><port>\n"
      "      4000 </port></Cluster></Engine>\n"
      "    <Connector port=\"&#56;009\" protocol=\"AJP/1.3\" />\n"
      "  </Service>\n"
      "</Server>\n";
  auto r = ParseXmlPorts("server.xml", text);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 4u);
  const auto& d = *r;
  ExpectDeclAt(text, d[0], 1, 15, 8005);
  EXPECT_EQ(d[0].key_path, "Server@port");
  EXPECT_EQ(d[0].kind, DeclKind::kListen);
  ExpectDeclAt(text, d[1], 4, 30, 8443);
  EXPECT_EQ(d[1].key_path, "Server.Service.Connector@redirectPort");
  EXPECT_EQ(d[1].kind, DeclKind::kTarget);
  ExpectDeclAt(text, d[2], 4, 42, 8080);
  ExpectDeclAt(text, d[3], 6, 7, 4000);
  EXPECT_EQ(d[3].key_path, "Server.Service.Engine.Cluster.port");
  // The character reference in 8009 is libxml2's to decode, not berth's to place: skipped.
}

TEST(XmlParse, EntitiesAndDocumentTypesAreRefusedBeforeLibxml2) {
  const std::string laughs =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;\">]>\n"
      "<lolz port=\"80\">&lol2;</lolz>\n";
  auto bomb = ParseXmlPorts("web.config", laughs);
  ASSERT_FALSE(bomb.has_value());
  EXPECT_EQ(bomb.error().code, ErrorCode::kMalformed);
  EXPECT_NE(bomb.error().message.find("document type declaration"), std::string::npos);
  auto external = ParseXmlPorts(
      "web.config", "<!DOCTYPE c SYSTEM \"http://example.com/x.dtd\"><c port=\"1\"/>");
  EXPECT_FALSE(external.has_value());
  // An entity reference without a declaration is an error of libxml2's, not an expansion.
  auto undeclared = ParseXmlPorts("web.config", "<c port=\"&xxe;\"/>");
  ASSERT_FALSE(undeclared.has_value());
  EXPECT_NE(undeclared.error().message.find("invalid XML at line 1"), std::string::npos)
      << undeclared.error().message;
}

TEST(XmlParse, HostileDocumentsAreAClearErrorForTheFile) {
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  for (int i = 0; i < 100; ++i) deep += "</a>";
  auto nested = ParseXmlPorts("a.config", deep);
  ASSERT_FALSE(nested.has_value());
  EXPECT_NE(nested.error().message.find("nested deeper than 64"), std::string::npos)
      << nested.error().message;
  auto invalid = ParseXmlPorts("a.config", "<a>\n<b port=\"1\">\n</a>\n");
  ASSERT_FALSE(invalid.has_value());
  EXPECT_NE(invalid.error().message.find("invalid XML at line"), std::string::npos);
  auto huge = ParseXmlPorts("a.config", "<a>" + std::string(kMaxXmlBytes, 'x') + "</a>");
  ASSERT_FALSE(huge.has_value());
  EXPECT_NE(huge.error().message.find("more than the 1024 KiB"), std::string::npos);
  auto nul = ParseXmlPorts("a.config", std::string("<a port=\"1\"/>\0", 14));
  ASSERT_FALSE(nul.has_value());
  auto wide = std::string("<a>");
  for (int i = 0; i < 100001; ++i) wide += "<b/>";
  wide += "</a>";
  auto many = ParseXmlPorts("a.config", wide);
  ASSERT_FALSE(many.has_value());
  EXPECT_NE(many.error().message.find("more than 100000 XML elements"), std::string::npos);
}

}  // namespace
}  // namespace berth::lint

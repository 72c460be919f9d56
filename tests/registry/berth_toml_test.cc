#include "registry/berth_toml.h"

#include <gtest/gtest.h>

namespace berth::registry {
namespace {

constexpr std::string_view kFile = R"(schema = 1

[[group]]
name = "win"
hosts = ["a", "b"]
ephemeral = "49152-65535"
range = "2000-30000"
allow = "22"

[[family]]
name = "mssql"
base = 1433
size = 10
skip = "1434"

[[service]]
name = "mssql.instance1"
port = 1433
family = "mssql"
owner = "dba \"team\""
tags = ["prod", "db"]

[[service]]
name = "dns"
port = 5353
proto = "both"
group = "win"
created = 2026-01-31T12:00:00Z
updated = 2026-02-01T13:00:00+01:00
)";

TEST(RegistryToml, ParsesEveryField) {
  auto doc = ParseBerthToml(kFile, "t.toml");
  ASSERT_TRUE(doc) << doc.error().message;
  ASSERT_EQ(doc->groups.size(), 1u);
  EXPECT_EQ(doc->groups[0].ephemeral, (PortSet{{49152, 65535}}));
  EXPECT_EQ(doc->groups[0].range, (PortRange{2000, 30000}));
  ASSERT_EQ(doc->families.size(), 1u);
  EXPECT_EQ(doc->families[0].skip, (PortSet{{1434, 1434}}));
  ASSERT_EQ(doc->services.size(), 2u);
  EXPECT_EQ(doc->services[0].name, "dns");  // sorted
  EXPECT_EQ(doc->services[0].proto, ServiceProto::kBoth);
  EXPECT_EQ(doc->services[0].created, 1769860800);
  EXPECT_EQ(doc->services[0].updated, 1769947200);
  EXPECT_EQ(doc->services[1].owner, "dba \"team\"");
  EXPECT_EQ(doc->services[1].group, "default");
}

TEST(RegistryToml, FormatRoundTripsExactly) {
  auto doc = ParseBerthToml(kFile, "t.toml");
  ASSERT_TRUE(doc);
  const std::string once = FormatBerthToml(*doc);
  auto again = ParseBerthToml(once, "once.toml");
  ASSERT_TRUE(again) << again.error().message << "\n" << once;
  EXPECT_EQ(FormatBerthToml(*again), once);
}

void ExpectError(std::string_view text, std::string_view needle) {
  auto doc = ParseBerthToml(text, "bad.toml");
  ASSERT_FALSE(doc) << "accepted: " << text;
  EXPECT_EQ(doc.error().code, ErrorCode::kMalformed);
  EXPECT_NE(doc.error().message.find(needle), std::string::npos) << doc.error().message;
}

TEST(RegistryToml, SyntaxErrorsNameFileLineAndColumn) {
  ExpectError("schema = 1\n[[service]]\nname = \"a\nport = 1\n", "bad.toml:3:");
  ExpectError("[[service]]\nname = \"a\"\nport = = 4\n", "bad.toml:3:");
}

TEST(RegistryToml, SemanticErrorsAreClear) {
  ExpectError("[[service]]\nname = \"a\"\nport = 1\nprot = \"tcp\"\n",
              "bad.toml:4:1: unknown key 'prot' in [[service]]");
  ExpectError("[[service]]\nname = \"a\"\nport = 70000\n", "bad.toml:3:8: 'port' must be an integer 1-65535");
  ExpectError("[[service]]\nname = \"a\"\nport = 0\n", "'port' must be an integer 1-65535");
  ExpectError("[[service]]\nname = \"a\"\nport = 1\n[[service]]\nname = \"a\"\nport = 2\n",
              "bad.toml:4:1: duplicate service 'a' (first at line 1)");
  ExpectError("[[service]]\nname = \"a\"\nport = 5000\n[[service]]\nname = \"b\"\nport = 5000\n",
              "'b' claims 5000/tcp in group 'default', which 'a' (line 1) already claims");
  ExpectError("[[service]]\nname = \"A_b\"\nport = 1\n", "lowercase DNS labels");
  ExpectError("[[service]]\nname = \"a\"\ngroup = \"g\"\n", "does not define");
  ExpectError("[[service]]\nname = \"a\"\nproto = \"sctp\"\n", "use tcp, udp or both");
  ExpectError("service = 3\n", "must be written as [[service]] tables");
  ExpectError("schema = 2\n", "schema 2 is not supported");
  ExpectError("[[family]]\nname = \"f\"\n", "missing key 'base'");
}

TEST(RegistryToml, ServiceWithoutPortIsLeftForTheAllocator) {
  auto doc = ParseBerthToml("[[service]]\nname = \"a\"\n", "t.toml");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->services[0].port, 0);
}

}  // namespace
}  // namespace berth::registry

namespace berth::registry {
namespace {

TEST(RegistryToml, NonAsciiOnlyInsideStringsAndComments) {
  auto ok = ParseBerthToml("# caf\xc3\xa9\n[[service]]\nname = \"a\"\ndescription = \"caf\xc3\xa9 \\\" \xc5\x96\"\n"
                           "owner = '''x\n\xc3\xa9'''\n",
                           "t.toml");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->services[0].description, "caf\xc3\xa9 \" \xc5\x96");
  ExpectError("[\xc5\x96" "ervice]]\nname = \"web\"\n", "bad.toml:1:2: a non-ASCII character");
  ExpectError("[[service]]\nname = \"a\"\xc5\x96\n", "bad.toml:2:11: a non-ASCII character");
}

}  // namespace
}  // namespace berth::registry

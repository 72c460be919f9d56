// The etcd store's values: what berth writes reads back the same, and values that someone
// else put under the prefix are refused with a message naming the key, never trusted.
#include "registry/etcd_records.h"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::registry::etcd {
namespace {

using ::testing::HasSubstr;

std::string RecordsFixture(const std::string& name) {
  std::ifstream in(std::string(BERTH_FIXTURES) + "/fuzz/etcd_records_fuzz/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(EtcdRecords, ValuesWrittenByBerthOnARealServerDecode) {
  auto s = DecodeService(RecordsFixture("service.json"), "/dev/g/1/services/dns");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->service.name, "dns");
  EXPECT_EQ(s->service.proto, ServiceProto::kBoth);
  EXPECT_EQ(s->service.group, "win");
  EXPECT_EQ(s->service.tags, std::vector<std::string>{"prod"});
  EXPECT_EQ(s->revision, 0);  // not stored: the key's mod_revision stands for it
  auto g = DecodeGroup(RecordsFixture("group.json"), "k");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->ephemeral, (PortSet{{49152, 65535}}));
  EXPECT_EQ(g->allow, (PortSet{{135, 135}}));
  auto f = DecodeFamily(RecordsFixture("family.json"), "k");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->base, 14330);
  auto h = DecodeHostScans(RecordsFixture("host.json"), "k");
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->scans.size(), 2u);
  EXPECT_FALSE(h->observations.empty());
}

TEST(EtcdRecords, EncodeThenDecodeKeepsEveryField) {
  ServiceRecord r;
  r.service.name = "mssql.sales";
  r.service.proto = ServiceProto::kUdp;
  r.service.port = 65535;
  r.service.group = "win";
  r.service.family = "mssql";
  r.service.owner = "dba \"team\"";
  r.service.description = "line\nbreak ü";
  r.service.tags = {"a", "b"};
  r.service.sources = {"10.0.0.0/8", "::1/128"};
  r.service.created = 1;
  r.service.updated = 2;
  r.reason = "why";
  r.revision = 42;
  auto back = DecodeService(EncodeService(r), "k");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(SameService(back->service, r.service));
  EXPECT_EQ(back->service.created, 1);
  EXPECT_EQ(back->reason, "why");
  EXPECT_EQ(back->revision, 42);
}

TEST(EtcdRecords, ForeignValuesAreRefusedNamingTheKey) {
  const std::string key = "/berth/g/1/services/x\x1b[31m";
  for (std::string_view bad :
       {std::string_view("not json"), std::string_view("[]"), std::string_view(R"({"name":"x"})"),
        std::string_view(R"({"name":"x","proto":"tcp","port":0,"group":"default"})"),
        std::string_view(R"({"name":"x","proto":"tcp","port":70000,"group":"default"})"),
        std::string_view(R"({"name":"x","proto":"sctp","port":80,"group":"default"})"),
        std::string_view(R"({"name":"x","proto":"tcp","port":"80","group":"default"})"),
        std::string_view(R"({"name":"x","proto":"tcp","port":80,"group":"default","tags":[1]})"),
        std::string_view(R"({"name":"x","proto":"tcp","port":80,"group":"default","created":-1})")}) {
    auto r = DecodeService(bad, key);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kMalformed);
    EXPECT_THAT(r.error().message, HasSubstr("/berth/g/1/services/x")) << bad;
    EXPECT_EQ(r.error().message.find('\x1b'), std::string::npos) << "a raw escape reached the message";
  }
  EXPECT_FALSE(DecodeGroup(R"({"name":"g","range_low":9,"range_high":1})", "k"));
  EXPECT_FALSE(DecodeGroup(R"({"name":"g","ephemeral":"1-x"})", "k"));
  EXPECT_FALSE(DecodeFamily(R"({"name":"f","base":1,"size":0})", "k"));
  EXPECT_FALSE(DecodeHostScans(R"({"scans":[3,2],"observations":[]})", "k"));  // out of order
  EXPECT_FALSE(DecodeHostScans(R"({"scans":[],"observations":[{"proto":"tcp","port":-1}]})", "k"));
  // Bounded: nesting and size.
  EXPECT_FALSE(DecodeService(std::string(100, '[') + std::string(100, ']'), "k"));
  EXPECT_FALSE(DecodeService(std::string(kMaxRecordBytes + 1, ' '), "k"));
}

TEST(EtcdRecords, KeyPartsEscapeWhatWouldSplitAKey) {
  EXPECT_EQ(KeyPart("web.a-b_c"), "web.a-b_c");
  EXPECT_EQ(KeyPart("h/2"), "h%2F2");
  EXPECT_EQ(KeyPart("a%b c"), "a%25b%20c");
  EXPECT_EQ(FromKeyPart("h%2F2").value(), "h/2");
  EXPECT_FALSE(FromKeyPart("h%2"));
  EXPECT_FALSE(FromKeyPart("h%zz"));
}

}  // namespace
}  // namespace berth::registry::etcd

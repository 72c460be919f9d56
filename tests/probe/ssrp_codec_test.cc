#include "probe/ssrp_codec.h"

#include <gtest/gtest.h>

#include "probe/probe_test_util.h"

namespace berth::probe {
namespace {

using test::Bytes;
using test::Fixture;

TEST(ProbeSsrpCodec, RequestsMatchCaptures) {
  EXPECT_EQ(EncodeSsrpUcastEx(), std::vector<std::byte>{std::byte{0x03}});
  EXPECT_EQ(*EncodeSsrpInst("SQLEXPRESS"), Fixture("ssrp_inst_request.bin"));
  EXPECT_EQ(*EncodeSsrpDac("SQLEXPRESS"), Fixture("ssrp_dac_request.bin"));
  EXPECT_EQ(*EncodeSsrpInst("NOPE"), Fixture("ssrp_unknown_request.bin"));
  EXPECT_FALSE(EncodeSsrpInst(""));
  EXPECT_FALSE(EncodeSsrpInst(std::string(33, 'A')));
  EXPECT_FALSE(EncodeSsrpInst(std::string("A\0B", 3)));
}

TEST(ProbeSsrpCodec, ParsesBothRecordsInAnyKeyOrder) {
  // The second record lists np before tcp; FreeTDS chokes on that, we must not.
  auto found = DecodeSsrpResponse(Fixture("ssrp_ucast_ex_reply.bin"));
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].server_name, "PMHOST");
  EXPECT_EQ((*found)[0].instance_name, "MSSQLSERVER");
  EXPECT_EQ((*found)[0].version, "16.0.1000.6");
  EXPECT_EQ((*found)[0].tcp_port, Port{1433});
  EXPECT_EQ((*found)[0].np, "\\\\PMHOST\\pipe\\sql\\query");
  EXPECT_EQ((*found)[1].instance_name, "SQLEXPRESS");
  EXPECT_EQ((*found)[1].is_clustered, "No");
  EXPECT_EQ((*found)[1].tcp_port, Port{49731});
}

TEST(ProbeSsrpCodec, InstanceReply) {
  auto found = DecodeSsrpResponse(Fixture("ssrp_inst_reply.bin"));
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].tcp_port, Port{49731});
}

TEST(ProbeSsrpCodec, DacSizeCountsWholePacket) {
  auto port = DecodeSsrpDacResponse(Fixture("ssrp_dac_reply.bin"));
  ASSERT_TRUE(port);
  EXPECT_EQ(*port, 49732);  // 44 c2 little-endian
  // The SVR_RESP reading (size counts only data) must not accept it.
  EXPECT_FALSE(DecodeSsrpResponse(Fixture("ssrp_dac_reply.bin")));
  auto wrong_version = Fixture("ssrp_dac_reply.bin");
  wrong_version[3] = std::byte{2};
  EXPECT_FALSE(DecodeSsrpDacResponse(wrong_version));
}

TEST(ProbeSsrpCodec, SizeMustMatchDatagram) {
  auto reply = Fixture("ssrp_ucast_ex_reply.bin");
  reply.pop_back();
  EXPECT_FALSE(DecodeSsrpResponse(reply));
  for (std::size_t n = 0; n < 3; ++n) EXPECT_FALSE(DecodeSsrpResponse(std::span(reply).first(n)));
}

std::vector<std::byte> Resp(std::string_view data) {
  std::vector<std::byte> out{std::byte{5}, static_cast<std::byte>(data.size() & 0xff),
                             static_cast<std::byte>(data.size() >> 8)};
  auto b = Bytes(data);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

TEST(ProbeSsrpCodec, EmptyFieldsAndOtherProtocols) {
  auto found = DecodeSsrpResponse(Resp(
      "ServerName;H;InstanceName;I;IsClustered;No;Version;1;bv;;g;o;via;H,0:1433;tcp;0;;"));
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found->size(), 1u);
  EXPECT_FALSE((*found)[0].tcp_port);  // port 0 is no port
  ASSERT_EQ((*found)[0].other.size(), 2u);
  EXPECT_EQ((*found)[0].other[0].second, ";g;o");
  EXPECT_FALSE(DecodeSsrpResponse(Resp("InstanceName;I;;")));  // before ServerName
  EXPECT_FALSE(DecodeSsrpResponse(Resp("ServerName;H;Version;1;;")));  // no InstanceName
  EXPECT_FALSE(DecodeSsrpResponse(Resp("ServerName;" + std::string(256, 'x') + ";InstanceName;I;;")));
  auto empty = DecodeSsrpResponse(Resp(""));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace berth::probe

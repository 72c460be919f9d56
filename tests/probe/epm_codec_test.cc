#include "probe/epm_codec.h"

#include <gtest/gtest.h>

#include "probe/probe_test_util.h"

namespace berth::probe {
namespace {

using test::Fixture;

TEST(ProbeEpmCodec, BindAndLookupMatchImpacketCapture) {
  EXPECT_EQ(EncodeEpmBind(1), Fixture("epm_bind.bin"));
  EXPECT_EQ(EncodeEptLookup(1, ContextHandle{}), Fixture("epm_lookup_request.bin"));
}

TEST(ProbeEpmCodec, BindAckFromSamba) {
  const auto ack = Fixture("epm_bind_ack.bin");
  ASSERT_EQ(*FramePdu(ack), ack.size());
  auto pdu = DecodePdu(ack);
  ASSERT_TRUE(pdu) << pdu.error().message;
  EXPECT_EQ(pdu->type, PduType::kBindAck);
  EXPECT_EQ(pdu->status, 0u);
}

std::vector<std::byte> JoinedStub() {
  std::vector<std::byte> stub;
  for (const char* name : {"epm_lookup_response_frag1.bin", "epm_lookup_response_frag2.bin"}) {
    const auto frag = Fixture(name);
    auto pdu = DecodePdu(frag);
    EXPECT_TRUE(pdu) << name;
    if (!pdu) return {};
    stub.insert(stub.end(), pdu->stub.begin(), pdu->stub.end());
  }
  return stub;
}

TEST(ProbeEpmCodec, TwoFragmentResponseFromSambaDcerpcd) {
  auto f1 = DecodePdu(Fixture("epm_lookup_response_frag1.bin"));
  auto f2 = DecodePdu(Fixture("epm_lookup_response_frag2.bin"));
  ASSERT_TRUE(f1 && f2);
  EXPECT_EQ(f1->flags & (kFirstFrag | kLastFrag), kFirstFrag);
  EXPECT_EQ(f2->flags & kLastFrag, kLastFrag);
  auto result = DecodeEptLookupStub(JoinedStub());
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->entries.size(), 38u);
  EXPECT_EQ(result->status, kEptNoMoreEntries);  // the samba-dcerpcd end-of-walk style
  EXPECT_TRUE(result->handle_closed());
  EXPECT_EQ(result->entries[0].annotation, "eventlog");
  const auto& last = result->entries.back();
  ASSERT_TRUE(last.tower);
  EXPECT_EQ(last.tower->protocol, TowerProtocol::kNamedPipe);
  EXPECT_EQ(last.tower->endpoint, "\\pipe\\netdfs");
  EXPECT_EQ(last.tower->interface_uuid, "4fc742e0-4a10-11cf-8273-00aa004ae673");
  EXPECT_EQ(last.tower->version_major, 3);
  int tcp = 0;
  for (const auto& e : result->entries) {
    if (e.tower && e.tower->protocol == TowerProtocol::kTcp) {
      ++tcp;
      EXPECT_TRUE(e.tower->port >= 49152 || e.tower->port == kEpmPort) << e.tower->port;
      EXPECT_FALSE(e.tower->host.empty());
    }
  }
  EXPECT_GT(tcp, 0);
}

TEST(ProbeEpmCodec, TruncatedStubFailsCleanly) {
  const auto stub = JoinedStub();
  for (std::size_t n = 0; n + 1 < stub.size(); n += 13) {
    EXPECT_FALSE(DecodeEptLookupStub(std::span(stub).first(n))) << n;
  }
}

TEST(ProbeEpmCodec, FaultPdu) {
  // nca_s_fault_context_mismatch, as Samba answers a reused closed handle.
  std::vector<std::byte> fault{std::byte{5}, std::byte{0}, std::byte{3}, std::byte{3}, std::byte{0x10},
                               std::byte{0}, std::byte{0}, std::byte{0}, std::byte{28}, std::byte{0},
                               std::byte{0}, std::byte{0}, std::byte{7}, std::byte{0}, std::byte{0}, std::byte{0}};
  fault.resize(24, std::byte{0});  // header + alloc_hint, p_cont_id, cancel_count, reserved
  for (int b : {0x1a, 0x00, 0x00, 0x1c}) fault.push_back(static_cast<std::byte>(b));
  auto pdu = DecodePdu(fault);
  ASSERT_TRUE(pdu) << pdu.error().message;
  EXPECT_EQ(pdu->type, PduType::kFault);
  EXPECT_EQ(pdu->status, 0x1c00001au);
  EXPECT_EQ(pdu->call_id, 7u);
}

TEST(ProbeEpmCodec, FramingNeedsWholePdu) {
  const auto frag = Fixture("epm_lookup_response_frag1.bin");
  EXPECT_EQ(*FramePdu(std::span(frag).first(9)), 0u);
  EXPECT_EQ(*FramePdu(std::span(frag).first(100)), 0u);
  EXPECT_EQ(*FramePdu(frag), frag.size());
  auto bad = frag;
  bad[0] = std::byte{4};
  EXPECT_FALSE(FramePdu(bad));
}

TEST(ProbeEpmCodec, TcpTowerEndianness) {
  // 75-byte TCP tower: le16 counts, be16 port, be32 address.
  std::vector<std::byte> t;
  auto put = [&](std::initializer_list<int> v) { for (int b : v) t.push_back(static_cast<std::byte>(b)); };
  put({5, 0, 19, 0, 0x0d});
  for (int i = 0; i < 16; ++i) put({i});
  put({3, 0, 2, 0, 0, 0});
  put({19, 0, 0x0d});
  for (int i = 0; i < 16; ++i) put({0});
  put({2, 0, 2, 0, 0, 0});
  put({1, 0, 0x0b, 2, 0, 0, 0});
  put({1, 0, 0x07, 2, 0, 0xc0, 0x01});  // port 49153
  put({1, 0, 0x09, 4, 0, 0, 0, 0, 0});  // 0.0.0.0
  ASSERT_EQ(t.size(), 75u);
  auto tower = DecodeTower(t);
  ASSERT_TRUE(tower) << tower.error().message;
  EXPECT_EQ(tower->port, 49153);
  EXPECT_EQ(tower->host, "0.0.0.0");
  EXPECT_EQ(tower->version_major, 3);
}

TEST(ProbeEpmCodec, HandleFreeStubSaysWhetherTheServerLetGo) {
  std::vector<std::byte> stub(24, std::byte{0});
  auto freed = DecodeHandleFreeStub(stub);
  ASSERT_TRUE(freed) << freed.error().message;
  EXPECT_TRUE(freed->released());
  stub[3] = std::byte{0x7f};  // the handle echoed back, as samba-dcerpcd does: still released
  EXPECT_TRUE(DecodeHandleFreeStub(stub)->released());
  EXPECT_EQ(DecodeHandleFreeStub(stub)->handle[3], std::byte{0x7f});
  stub[20] = std::byte{0xd6};  // status 0x000000d6, little-endian
  ASSERT_TRUE(DecodeHandleFreeStub(stub));
  EXPECT_EQ(DecodeHandleFreeStub(stub)->status, 0xd6u);
  EXPECT_FALSE(DecodeHandleFreeStub(stub)->released());
  auto shortened = DecodeHandleFreeStub(std::span<const std::byte>(stub).first(23));
  ASSERT_FALSE(shortened);
  EXPECT_NE(shortened.error().message.find("lookup_handle_free response"), std::string::npos) << shortened.error().message;
}

}  // namespace
}  // namespace berth::probe

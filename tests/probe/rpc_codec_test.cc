#include "probe/rpc_codec.h"

#include <gtest/gtest.h>

#include <set>

#include "probe/probe_test_util.h"

namespace berth::probe {
namespace {

using test::Fixture;

TEST(ProbeRpcCodec, CallMatchesRpcinfoDumpCapture) {
  const auto captured = Fixture("rpcb_v3_dump_call.bin");  // rpcinfo 127.0.0.1, TCP
  ASSERT_EQ(captured.size(), 44u);
  // The xid is the only field we choose differently; take it from the capture.
  const std::uint32_t xid = (std::to_integer<std::uint32_t>(captured[4]) << 24) |
                            (std::to_integer<std::uint32_t>(captured[5]) << 16) |
                            (std::to_integer<std::uint32_t>(captured[6]) << 8) |
                            std::to_integer<std::uint32_t>(captured[7]);
  EXPECT_EQ(EncodeRecord(EncodeRpcCall(xid, kRpcbProgram, 3, kRpcbProcDump)), captured);
}

Result<std::vector<RpcbEntry>> DecodeDumpFixture(const std::string& name, int vers) {
  auto scan = BERTH_TRY(ScanRecord(Fixture(name)));
  if (!scan.complete) return Fail(ErrorCode::kMalformed, "incomplete");
  auto reply = BERTH_TRY(DecodeRpcReply(scan.record));
  if (reply.kind != RpcReplyKind::kSuccess) return Fail(ErrorCode::kMalformed, "not success");
  return vers == 2 ? DecodePmapDump(reply.results) : DecodeRpcbDump(reply.results);
}

TEST(ProbeRpcCodec, DecodesV3DumpCaptureIncludingLocal) {
  auto entries = DecodeDumpFixture("rpcb_v3_dump_reply.bin", 3);
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_FALSE(entries->empty());
  const RpcbEntry& first = entries->front();
  EXPECT_EQ(first.prog, 100000u);
  EXPECT_EQ(first.vers, 4u);
  EXPECT_EQ(first.netid, "tcp6");
  EXPECT_EQ(first.uaddr, "::.0.111");
  EXPECT_EQ(first.owner, "superuser");
  EXPECT_EQ(first.port, Port{111});
  bool saw_local = false;
  for (const auto& e : *entries) saw_local = saw_local || e.netid == "local";
  EXPECT_TRUE(saw_local);
  EXPECT_FALSE(IsInetNetid("local"));
}

TEST(ProbeRpcCodec, DecodesV2DumpCapture) {
  auto entries = DecodeDumpFixture("rpcb_v2_dump_reply.bin", 2);
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_FALSE(entries->empty());
  EXPECT_EQ((*entries)[0].prog, 100000u);
  EXPECT_EQ((*entries)[0].vers, 4u);
  EXPECT_EQ((*entries)[0].netid, "tcp");
  EXPECT_EQ((*entries)[0].port, Port{111});
}

TEST(ProbeRpcCodec, UnpinnedMountdHasDifferentPortPerVersion) {
  // nmap's (program, netid) key collapsed these; ours keeps (program, version, netid).
  auto entries = DecodeDumpFixture("rpcb_v4_dump_reply_unpinned.bin", 4);
  ASSERT_TRUE(entries) << entries.error().message;
  std::set<Port> mountd_tcp;
  for (const auto& e : *entries) {
    if (e.prog == 100005 && e.netid == "tcp") mountd_tcp.insert(*e.port);
  }
  EXPECT_EQ(mountd_tcp.size(), 3u);
}

TEST(ProbeRpcCodec, ReassemblesFragmentsAndWaitsForTheLast) {
  const auto whole = Fixture("rpcb_v3_dump_reply.bin");
  const std::span<const std::byte> body = std::span(whole).subspan(4);
  // Re-frame the captured body as three fragments.
  std::vector<std::byte> stream;
  const std::size_t cuts[] = {0, 100, 333, body.size()};
  for (int i = 0; i < 3; ++i) {
    const std::size_t len = cuts[i + 1] - cuts[i];
    const std::uint32_t h = static_cast<std::uint32_t>(len) | (i == 2 ? 0x80000000u : 0);
    for (int s = 24; s >= 0; s -= 8) stream.push_back(static_cast<std::byte>((h >> s) & 0xff));
    stream.insert(stream.end(), body.begin() + static_cast<long>(cuts[i]),
                  body.begin() + static_cast<long>(cuts[i + 1]));
  }
  for (std::size_t cut = 0; cut < stream.size(); cut += 37) {
    auto partial = ScanRecord(std::span(stream).first(cut));
    ASSERT_TRUE(partial);
    EXPECT_FALSE(partial->complete) << cut;
  }
  auto scan = ScanRecord(stream);
  ASSERT_TRUE(scan && scan->complete);
  EXPECT_EQ(scan->consumed, stream.size());
  EXPECT_TRUE(std::equal(scan->record.begin(), scan->record.end(), body.begin(), body.end()));
}

TEST(ProbeRpcCodec, RefusesOversizedRecordFromTheHeaderAlone) {
  const std::vector<std::byte> header{std::byte{0x80}, std::byte{0x10}, std::byte{0}, std::byte{0}};
  auto scan = ScanRecord(header, 1 << 16);
  ASSERT_FALSE(scan);
  EXPECT_EQ(scan.error().code, ErrorCode::kMalformed);
  std::vector<std::byte> many;  // 401 empty non-last fragments
  for (int i = 0; i < 401; ++i) many.insert(many.end(), 4, std::byte{0});
  EXPECT_FALSE(ScanRecord(many));
}

TEST(ProbeRpcCodec, ProgMismatchFromRealRpcbind) {
  auto scan = ScanRecord(Fixture("rpc_mismatch_reply_tcp.bin"));
  ASSERT_TRUE(scan && scan->complete);
  auto reply = DecodeRpcReply(scan->record);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->kind, RpcReplyKind::kProgMismatch);
  EXPECT_EQ(reply->low, 2u);
  EXPECT_EQ(reply->high, 4u);
}

TEST(ProbeRpcCodec, DeniedReplyHasNoVerifier) {
  // rpcbind's answer to a garbage AUTH_SYS credential (protocols.md 1.1).
  std::vector<std::byte> denied(20, std::byte{0});
  for (std::size_t at : {3u, 7u, 11u, 15u, 19u}) denied[at] = std::byte{1};
  auto reply = DecodeRpcReply(denied);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->kind, RpcReplyKind::kAuthError);
  EXPECT_EQ(reply->auth_stat, 1u);
}

TEST(ProbeRpcCodec, NullReplyOverUdp) {
  auto reply = DecodeRpcReply(Fixture("rpc_null_reply_udp.bin"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->kind, RpcReplyKind::kSuccess);
  EXPECT_TRUE(reply->results.empty());
}

TEST(ProbeRpcCodec, UniversalAddressSplitsAtLastTwoDots) {
  EXPECT_EQ(ParseUaddr("0.0.0.0.78.80")->port, 20048);
  EXPECT_EQ(ParseUaddr("0.0.0.0.78.80")->host, "0.0.0.0");
  EXPECT_EQ(ParseUaddr("::.127.253")->port, 32765);
  EXPECT_EQ(ParseUaddr("::.127.253")->host, "::");
  EXPECT_EQ(ParseUaddr("fe80::1.0.111")->port, 111);
  EXPECT_FALSE(ParseUaddr("/run/rpcbind.sock"));
  EXPECT_FALSE(ParseUaddr("1.2.3.4.256.0"));
  EXPECT_FALSE(ParseUaddr(".1"));
  EXPECT_FALSE(ParseUaddr("a.b.c"));
}

TEST(ProbeRpcCodec, TruncatedDumpFailsCleanly) {
  auto scan = ScanRecord(Fixture("rpcb_v3_dump_reply.bin"));
  ASSERT_TRUE(scan && scan->complete);
  auto reply = DecodeRpcReply(scan->record);
  ASSERT_TRUE(reply);
  for (std::size_t n = 0; n + 1 < reply->results.size(); n += 7) {
    EXPECT_FALSE(DecodeRpcbDump(reply->results.first(n))) << n;
  }
}

}  // namespace
}  // namespace berth::probe

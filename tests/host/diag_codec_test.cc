#include "host/diag_codec.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

namespace berth {
namespace {

// Builds replies with the kernel's own UAPI structs: an independent path from the decoder,
// which reads bytes field by field.
class Reply {
 public:
  Reply& Socket(int family, std::uint8_t state, const char* src, std::uint16_t sport,
                const char* dst, std::uint16_t dport, std::uint32_t inode, std::uint32_t uid,
                int v6only = -1, std::uint32_t seq = 7, std::uint16_t type = SOCK_DIAG_BY_FAMILY) {
    inet_diag_msg m{};
    m.idiag_family = static_cast<std::uint8_t>(family);
    m.idiag_state = state;
    m.id.idiag_sport = htons(sport);
    m.id.idiag_dport = htons(dport);
    inet_pton(family, src, m.id.idiag_src);
    inet_pton(family, dst, m.id.idiag_dst);
    m.idiag_inode = inode;
    m.idiag_uid = uid;
    m.idiag_rqueue = 3;
    m.idiag_wqueue = 128;
    std::vector<std::byte> body(sizeof m);
    std::memcpy(body.data(), &m, sizeof m);
    if (v6only >= 0) {
      rtattr a{};
      a.rta_len = RTA_LENGTH(1);
      a.rta_type = INET_DIAG_SKV6ONLY;
      std::vector<std::byte> attr(RTA_SPACE(1));
      std::memcpy(attr.data(), &a, sizeof a);
      attr[RTA_LENGTH(0)] = std::byte{static_cast<unsigned char>(v6only)};
      body.insert(body.end(), attr.begin(), attr.end());
    }
    return Message(type, body, seq);
  }
  Reply& Done(std::int32_t status = 0, std::uint32_t seq = 7) {
    std::vector<std::byte> body(4);
    std::memcpy(body.data(), &status, 4);
    return Message(NLMSG_DONE, body, seq);
  }
  Reply& Error(std::int32_t err, std::uint32_t seq = 7) {
    nlmsgerr e{};
    e.error = err;
    std::vector<std::byte> body(sizeof e);
    std::memcpy(body.data(), &e, sizeof e);
    return Message(NLMSG_ERROR, body, seq);
  }
  Reply& Message(std::uint16_t type, const std::vector<std::byte>& body, std::uint32_t seq,
                 std::uint16_t flags = NLM_F_MULTI) {
    nlmsghdr h{};
    h.nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(body.size()));
    h.nlmsg_type = type;
    h.nlmsg_flags = flags;
    h.nlmsg_seq = seq;
    const std::size_t at = bytes.size();
    bytes.resize(at + NLMSG_SPACE(body.size()));
    std::memcpy(bytes.data() + at, &h, sizeof h);
    std::memcpy(bytes.data() + at + NLMSG_HDRLEN, body.data(), body.size());
    return *this;
  }
  std::vector<std::byte> bytes;
};

TEST(DiagCodec, RequestMatchesTheKernelLayout) {
  auto req = BuildDiagRequest(AF_INET6, Protocol::kUdp, 1u << 7, 99);
  ASSERT_EQ(req.size(), sizeof(nlmsghdr) + sizeof(inet_diag_req_v2));
  nlmsghdr h;
  std::memcpy(&h, req.data(), sizeof h);
  EXPECT_EQ(h.nlmsg_type, SOCK_DIAG_BY_FAMILY);
  EXPECT_EQ(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(h.nlmsg_seq, 99u);
  inet_diag_req_v2 r;
  std::memcpy(&r, req.data() + sizeof h, sizeof r);
  EXPECT_EQ(r.sdiag_family, AF_INET6);
  EXPECT_EQ(r.sdiag_protocol, IPPROTO_UDP);
  EXPECT_EQ(r.idiag_states, 1u << 7);
}

// The port-range program of a request whose header (nlmsghdr and request) is `header`
// bytes: the attribute that carries it, and its four ops. The caller checked the size.
std::array<inet_diag_bc_op, 4> PortRangeProgram(const std::vector<std::byte>& req, std::size_t header) {
  nlmsghdr h;
  std::memcpy(&h, req.data(), sizeof h);
  EXPECT_EQ(h.nlmsg_len, req.size());
  nlattr a;
  std::memcpy(&a, req.data() + header, sizeof a);
  EXPECT_EQ(a.nla_type, INET_DIAG_REQ_BYTECODE);
  EXPECT_EQ(a.nla_len, sizeof(nlattr) + 16);
  std::array<inet_diag_bc_op, 4> ops;
  std::memcpy(ops.data(), req.data() + header + sizeof a, sizeof ops);
  return ops;
}

TEST(DiagCodec, ARequestForAPortRangeCarriesTheKernelsBytecode) {
  auto req = BuildDiagRequest(AF_INET, Protocol::kTcp, kAllStates, 7, PortRange{32768, 65535});
  ASSERT_EQ(req.size(), sizeof(nlmsghdr) + sizeof(inet_diag_req_v2) + sizeof(nlattr) + 16);
  const auto ops = PortRangeProgram(req, sizeof(nlmsghdr) + sizeof(inet_diag_req_v2));
  // sport >= 32768: on to the next test, else past the end (20 = the 16 bytes left + 4).
  EXPECT_EQ(ops[0].code, INET_DIAG_BC_S_GE);
  EXPECT_EQ(ops[0].yes, 8);
  EXPECT_EQ(ops[0].no, 20);
  EXPECT_EQ(ops[1].no, 32768);
  EXPECT_EQ(ops[2].code, INET_DIAG_BC_S_LE);
  EXPECT_EQ(ops[2].yes, 8);
  EXPECT_EQ(ops[2].no, 12);
  EXPECT_EQ(ops[3].no, 65535);
}

// Both TCP families: the kernel's older request (TCPDIAG_GETSOCK + inet_diag_req), which it
// dumps as AF_UNSPEC; a port range's bytecode follows that shorter header.
TEST(DiagCodec, ARequestForBothTcpFamiliesIsTheKernelsOlderOne) {
  auto req = BuildDiagRequest(AF_UNSPEC, Protocol::kTcp, kAllStates, 5);
  ASSERT_EQ(req.size(), sizeof(nlmsghdr) + sizeof(inet_diag_req));
  nlmsghdr h;
  std::memcpy(&h, req.data(), sizeof h);
  EXPECT_EQ(h.nlmsg_type, TCPDIAG_GETSOCK);
  EXPECT_EQ(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(h.nlmsg_len, req.size());
  EXPECT_EQ(h.nlmsg_seq, 5u);
  inet_diag_req r;
  std::memcpy(&r, req.data() + sizeof h, sizeof r);
  EXPECT_EQ(r.idiag_family, AF_UNSPEC);
  EXPECT_EQ(r.idiag_states, kAllStates);
  EXPECT_EQ(r.idiag_ext, 0);

  req = BuildDiagRequest(AF_UNSPEC, Protocol::kTcp, kAllStates, 6, PortRange{0, 32767});
  ASSERT_EQ(req.size(), sizeof(nlmsghdr) + sizeof(inet_diag_req) + sizeof(nlattr) + 16);
  const auto ops = PortRangeProgram(req, sizeof(nlmsghdr) + sizeof(inet_diag_req));
  EXPECT_EQ(ops[0].code, INET_DIAG_BC_S_GE);
  EXPECT_EQ(ops[1].no, 0);
  EXPECT_EQ(ops[2].code, INET_DIAG_BC_S_LE);
  EXPECT_EQ(ops[3].no, 32767);
}

// Its replies carry the request's type (TCPDIAG_GETSOCK), each socket its own family.
TEST(DiagCodec, RepliesToTheOlderRequestDecodeWithEachSocketsFamily) {
  Reply r;
  r.Socket(AF_INET, 10, "127.0.0.1", 8080, "0.0.0.0", 0, 4242, 0, -1, 7, TCPDIAG_GETSOCK)
      .Socket(AF_INET6, 1, "::1", 40000, "::1", 5432, 4243, 0, -1, 7, TCPDIAG_GETSOCK)
      .Done();
  HostSnapshot snap;
  auto b = DecodeDiagBatch(r.bytes, Protocol::kTcp, 7, snap);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_TRUE(b->done);
  ASSERT_EQ(snap.sockets.size(), 2u);
  EXPECT_EQ(snap.Local(snap.sockets[0]).Format(), "127.0.0.1");
  EXPECT_EQ(snap.sockets[0].state, SocketState::kListen);
  EXPECT_EQ(snap.Local(snap.sockets[1]).Format(), "::1");
  EXPECT_EQ(snap.Remote(snap.sockets[1]).family, 6);
  EXPECT_EQ(snap.sockets[1].remote_port, 5432);
  EXPECT_EQ(snap.sockets[1].inode, 4243u);
}

TEST(DiagCodec, DecodesSocketsAttributesAndDone) {
  Reply r;
  r.Socket(AF_INET, 10, "127.0.0.1", 8080, "0.0.0.0", 0, 4242, 1000)
      .Socket(AF_INET6, 1, "::1", 40000, "::1", 5432, 4243, 0, 1)
      .Done();
  HostSnapshot snap;
  std::vector<SocketRecord>& out = snap.sockets;
  auto b = DecodeDiagBatch(r.bytes, Protocol::kTcp, 7, snap);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_TRUE(b->done);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].state, SocketState::kListen);
  EXPECT_EQ(snap.Local(out[0]).Format(), "127.0.0.1");
  EXPECT_EQ(out[0].local_port, 8080);
  EXPECT_EQ(out[0].inode, 4242u);
  EXPECT_EQ(snap.Uid(out[0]), 1000u);
  EXPECT_EQ(out[0].rqueue, 3u);
  EXPECT_EQ(out[0].wqueue, 128u);
  EXPECT_TRUE(out[0].is_server());
  EXPECT_EQ(snap.Local(out[1]).family, 6);
  EXPECT_EQ(FormatEndpoint(snap.Remote(out[1]), out[1].remote_port), "[::1]:5432");
  EXPECT_TRUE(out[1].v6only);
  EXPECT_FALSE(out[1].is_server());
}

TEST(DiagCodec, SkipsOtherSequenceNumbers) {
  Reply r;
  r.Socket(AF_INET, 10, "1.2.3.4", 1, "0.0.0.0", 0, 1, 0, -1, /*seq=*/6).Done();
  HostSnapshot snap;
  std::vector<SocketRecord>& out = snap.sockets;
  auto b = DecodeDiagBatch(r.bytes, Protocol::kTcp, 7, snap);
  ASSERT_TRUE(b);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(b->done);
}

TEST(DiagCodec, KernelErrorsBecomeErrnoErrors) {
  Reply r;
  r.Error(-ENOENT);
  HostSnapshot snap;
  auto b = DecodeDiagBatch(r.bytes, Protocol::kUdp, 7, snap);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::kNotFound);
  Reply done_err;
  done_err.Done(-EINTR);
  EXPECT_FALSE(DecodeDiagBatch(done_err.bytes, Protocol::kUdp, 7, snap));
}

TEST(DiagCodec, TruncatedAndInconsistentInputIsMalformedNotACrash) {
  Reply r;
  r.Socket(AF_INET, 10, "127.0.0.1", 22, "0.0.0.0", 0, 5, 0).Done();
  HostSnapshot snap;
  std::vector<SocketRecord>& out = snap.sockets;
  // Every truncation point: either a clean error or (at message boundaries) fewer sockets.
  for (std::size_t n = 1; n < r.bytes.size(); ++n) {
    out.clear();
    auto b = DecodeDiagBatch(std::span(r.bytes.data(), n), Protocol::kTcp, 7, snap);
    if (b) EXPECT_LE(out.size(), 1u);
    else EXPECT_EQ(b.error().code, ErrorCode::kMalformed);
  }
  // A length field larger than the buffer.
  auto big = r.bytes;
  std::uint32_t len = 1 << 20;
  std::memcpy(big.data(), &len, 4);
  out.clear();
  auto b = DecodeDiagBatch(big, Protocol::kTcp, 7, snap);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("does not fit"), std::string::npos);
  // An attribute whose length runs past its message.
  Reply attr;
  attr.Socket(AF_INET6, 10, "::", 22, "::", 0, 5, 0, 1);
  auto bad = attr.bytes;
  const std::size_t rta_at = NLMSG_HDRLEN + sizeof(inet_diag_msg);
  std::uint16_t rta_len = 200;
  std::memcpy(bad.data() + rta_at, &rta_len, 2);
  out.clear();
  EXPECT_FALSE(DecodeDiagBatch(bad, Protocol::kTcp, 7, snap));
  // A state the kernel never sends.
  Reply st;
  st.Socket(AF_INET, 0, "1.1.1.1", 1, "0.0.0.0", 0, 1, 0);
  EXPECT_FALSE(DecodeDiagBatch(st.bytes, Protocol::kTcp, 7, snap));
}

}  // namespace
}  // namespace berth

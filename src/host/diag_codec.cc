#include "host/diag_codec.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "base/byte_reader.h"

namespace berth {
namespace {

constexpr std::size_t kNlHeader = 16;
constexpr std::size_t kDiagMsg = 72;  // sizeof(struct inet_diag_msg)
static_assert(sizeof(nlmsghdr) == kNlHeader);
static_assert(sizeof(inet_diag_msg) == kDiagMsg);

constexpr std::size_t Align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// The kernel sends -errno; anything outside 1..4095 is not an errno (and INT_MIN cannot be
// negated), so it becomes EPROTO.
int ErrnoFromNetlink(std::int32_t err) {
  return err < 0 && err > -4096 ? -err : EPROTO;
}


}  // namespace

std::vector<std::byte> BuildDiagRequest(int family, Protocol proto, std::uint32_t states,
                                        std::uint32_t seq, std::optional<PortRange> local_ports) {
  // The filter, as ss builds "sport >= LOW and sport <= HIGH": each test is an op and a second
  // op whose `no` holds the port; a passing test jumps to the next test (yes = 8), a failing
  // one past the program's end (the kernel's inet_diag_bc_run then says no).
  std::vector<inet_diag_bc_op> program;
  if (local_ports) {
    program = {{INET_DIAG_BC_S_GE, 8, 16 + 4}, {0, 0, local_ports->low},
               {INET_DIAG_BC_S_LE, 8, 8 + 4}, {0, 0, local_ports->high}};
  }
  const std::size_t attr = program.empty() ? 0 : sizeof(nlattr) + program.size() * sizeof(inet_diag_bc_op);
  // Both families of TCP: the kernel's older request (TCPDIAG_GETSOCK + inet_diag_req), which
  // it dumps as AF_UNSPEC, one walk of its socket tables for both; SOCK_DIAG_BY_FAMILY names
  // one family, and each request walks every socket of both to find that family's.
  const bool both = family == AF_UNSPEC;
  const std::size_t body = both ? sizeof(inet_diag_req) : sizeof(inet_diag_req_v2);
  nlmsghdr nh{};
  nh.nlmsg_len = static_cast<std::uint32_t>(sizeof(nlmsghdr) + body + attr);
  nh.nlmsg_type = both ? TCPDIAG_GETSOCK : SOCK_DIAG_BY_FAMILY;
  nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nh.nlmsg_seq = seq;
  std::vector<std::byte> out(nh.nlmsg_len);
  std::memcpy(out.data(), &nh, sizeof nh);
  if (both) {
    inet_diag_req req{};
    req.idiag_family = AF_UNSPEC;  // the kernel dumps this request as AF_UNSPEC whatever it says
    req.idiag_states = states;
    std::memcpy(out.data() + sizeof nh, &req, sizeof req);
  } else {
    inet_diag_req_v2 req{};
    req.sdiag_family = static_cast<std::uint8_t>(family);
    req.sdiag_protocol = proto == Protocol::kTcp ? IPPROTO_TCP : IPPROTO_UDP;
    req.idiag_states = states;
    std::memcpy(out.data() + sizeof nh, &req, sizeof req);
  }
  if (attr != 0) {
    nlattr na{};
    na.nla_len = static_cast<std::uint16_t>(attr);
    na.nla_type = INET_DIAG_REQ_BYTECODE;
    std::memcpy(out.data() + sizeof nh + body, &na, sizeof na);
    std::memcpy(out.data() + sizeof nh + body + sizeof na, program.data(),
                program.size() * sizeof(inet_diag_bc_op));
  }
  return out;
}

Result<DiagBatch> DecodeDiagBatch(std::span<const std::byte> bytes, Protocol proto,
                                  std::uint32_t seq, HostSnapshot& out) {
  DiagBatch batch;
  ByteReader all(bytes, "netlink sock_diag reply");
  while (all.remaining() >= kNlHeader) {
    ByteReader head = all;
    const std::uint32_t len = BERTH_TRY(head.U32Le("nlmsg_len"));
    const std::uint16_t type = BERTH_TRY(head.U16Le("nlmsg_type"));
    const std::uint16_t flags = BERTH_TRY(head.U16Le("nlmsg_flags"));
    const std::uint32_t msg_seq = BERTH_TRY(head.U32Le("nlmsg_seq"));
    BERTH_TRY(head.Skip(4, "nlmsg_pid"));
    if (len < kNlHeader || len > all.remaining()) {
      return Fail(ErrorCode::kMalformed,
                  fmt::format("netlink sock_diag reply: message length {} at offset {} does not "
                              "fit the {} bytes left",
                              len, all.position(), all.remaining()));
    }
    auto body_bytes = BERTH_TRY(all.Bytes(len, "netlink message"));
    BERTH_TRY(all.Skip(std::min(Align4(len) - len, all.remaining()), "netlink padding"));
    ByteReader body(body_bytes.subspan(kNlHeader), "netlink sock_diag message");
    ++batch.messages;
    if (flags & NLM_F_DUMP_INTR) batch.interrupted = true;
    if (msg_seq != seq) continue;

    if (type == NLMSG_DONE) {
      batch.done = true;
      if (body.remaining() >= 4) {
        const auto err = static_cast<std::int32_t>(BERTH_TRY(body.U32Le("NLMSG_DONE status")));
        if (err < 0) return std::unexpected(ErrnoError(ErrnoFromNetlink(err), "netlink sock_diag dump"));
      }
      return batch;
    }
    if (type == NLMSG_ERROR) {
      const auto err = static_cast<std::int32_t>(BERTH_TRY(body.U32Le("nlmsgerr.error")));
      if (err == 0) continue;  // an ACK
      return std::unexpected(ErrnoError(ErrnoFromNetlink(err), "netlink sock_diag request"));
    }
    if (type != SOCK_DIAG_BY_FAMILY && type != TCPDIAG_GETSOCK) continue;

    SocketRecord rec;
    rec.proto = proto;
    const std::uint8_t family = BERTH_TRY(body.U8("idiag_family"));
    const std::uint8_t state = BERTH_TRY(body.U8("idiag_state"));
    BERTH_TRY(body.Skip(2, "idiag_timer/retrans"));
    if (family != AF_INET && family != AF_INET6) {
      return Fail(ErrorCode::kMalformed,
                  fmt::format("netlink sock_diag message: address family {} is neither AF_INET "
                              "nor AF_INET6",
                              family));
    }
    if (state < 1 || state > 12) {
      return Fail(ErrorCode::kMalformed,
                  fmt::format("netlink sock_diag message: socket state {} is not 1-12", state));
    }
    rec.state = static_cast<SocketState>(state);
    IpAddress local, remote;
    local.family = remote.family = family == AF_INET ? 4 : 6;
    rec.local_port = BERTH_TRY(body.U16Be("idiag_sport"));
    rec.remote_port = BERTH_TRY(body.U16Be("idiag_dport"));
    auto src = BERTH_TRY(body.Bytes(16, "idiag_src"));
    auto dst = BERTH_TRY(body.Bytes(16, "idiag_dst"));
    const std::size_t addr_len = local.family == 4 ? 4 : 16;
    std::memcpy(local.bytes.data(), src.data(), addr_len);
    std::memcpy(remote.bytes.data(), dst.data(), addr_len);
    out.SetAddresses(rec, local, remote);
    out.SetInterface(rec, BERTH_TRY(body.U32Le("idiag_if")));
    BERTH_TRY(body.Skip(8 + 4, "idiag_cookie/expires"));
    rec.rqueue = BERTH_TRY(body.U32Le("idiag_rqueue"));
    rec.wqueue = BERTH_TRY(body.U32Le("idiag_wqueue"));
    out.SetUid(rec, BERTH_TRY(body.U32Le("idiag_uid")));
    rec.inode = BERTH_TRY(body.U32Le("idiag_inode"));

    while (body.remaining() >= 4) {
      const std::uint16_t rta_len = BERTH_TRY(body.U16Le("rta_len"));
      const std::uint16_t rta_type = BERTH_TRY(body.U16Le("rta_type"));
      if (rta_len < 4 || rta_len - 4u > body.remaining()) {
        return Fail(ErrorCode::kMalformed,
                    fmt::format("netlink sock_diag attribute {}: length {} does not fit the {} "
                                "bytes left",
                                rta_type, rta_len, body.remaining() + 4));
      }
      auto payload = BERTH_TRY(body.Bytes(rta_len - 4u, "attribute payload"));
      BERTH_TRY(body.Skip(std::min(Align4(rta_len) - rta_len, body.remaining()), "padding"));
      if (rta_type == INET_DIAG_SKV6ONLY && !payload.empty()) {
        rec.v6only = std::to_integer<std::uint8_t>(payload[0]) != 0;
      }
    }
    out.sockets.push_back(rec);
  }
  if (!all.empty()) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("netlink sock_diag reply: {} trailing bytes after the last message",
                            all.remaining()));
  }
  return batch;
}

}  // namespace berth

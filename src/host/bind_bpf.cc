#include "host/bind_bpf.h"

#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

#include <fmt/core.h>

#include "base/file.h"

namespace berth {
namespace {

constexpr std::size_t kMaxRanges = 64;
constexpr std::size_t kMaxPorts = 16;

bpf_insn Insn(std::uint8_t code, int dst, int src, std::int16_t off, std::int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = static_cast<std::uint8_t>(dst) & 0xf;
  i.src_reg = static_cast<std::uint8_t>(src) & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

// A jump whose target is a label resolved once the program is complete.
struct Fixup {
  std::size_t at;
  int label;
};

class Assembler {
 public:
  void Emit(bpf_insn i) { code_.push_back(i); }
  void Jump(std::uint8_t op, int reg, std::int32_t imm, int label) {
    fixups_.push_back({code_.size(), label});
    Emit(Insn(static_cast<std::uint8_t>(BPF_JMP | op | BPF_K), reg, 0, 0, imm));
  }
  void Bind(int label) {
    if (labels_.size() <= static_cast<std::size_t>(label)) labels_.resize(static_cast<std::size_t>(label) + 1);
    labels_[static_cast<std::size_t>(label)] = code_.size();
  }
  std::vector<bpf_insn> Finish() {
    for (const Fixup& f : fixups_) {
      const auto target = static_cast<std::ptrdiff_t>(labels_[static_cast<std::size_t>(f.label)]);
      code_[f.at].off = static_cast<std::int16_t>(target - static_cast<std::ptrdiff_t>(f.at) - 1);
    }
    return std::move(code_);
  }

 private:
  std::vector<bpf_insn> code_;
  std::vector<Fixup> fixups_;
  std::vector<std::size_t> labels_;
};

long Bpf(int cmd, bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof attr); }

Error BpfError(int err, std::string_view what) {
  Error e = ErrnoError(err, what);
  if (err == EPERM || err == EACCES) {
    e.code = ErrorCode::kPermissionDenied;
    e.message += " (the cgroup BPF engine needs CAP_BPF and CAP_NET_ADMIN: run as root, or "
                 "use the seccomp engine, which needs no privilege)";
  } else if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP) {
    e.code = ErrorCode::kUnavailable;
    e.message += " (this kernel lacks cgroup sock_addr programs or bpf links: Linux 5.7 or later)";
  }
  return e;
}

}  // namespace

bool HasBpfPrivilege() {
  auto status = ReadSmallFile("/proc/self/status");
  if (!status) return false;
  const std::size_t at = status->find("CapEff:");
  if (at == std::string::npos) return false;
  const std::uint64_t caps = std::strtoull(status->c_str() + at + 7, nullptr, 16);
  auto has = [caps](int cap) { return (caps >> cap) & 1U; };
  constexpr int kNetAdmin = 12, kSysAdmin = 21, kBpf = 39;
  return has(kNetAdmin) && (has(kBpf) || has(kSysAdmin));
}

Result<std::vector<bpf_insn>> BuildBindProgram(const BindRewrite& rewrite, BindFamily family,
                                               int counter_map_fd) {
  if (rewrite.from.ranges().size() > kMaxRanges) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} port ranges to move: at most {}", rewrite.from.ranges().size(), kMaxRanges));
  }
  if (rewrite.tcp.empty() && rewrite.udp.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "a bind rewrite needs a port and a protocol");
  }
  for (const Protocol proto : {Protocol::kTcp, Protocol::kUdp}) {
    const std::span<const Port> ports = rewrite.PortsOf(proto);
    if (ports.size() > kMaxPorts) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} {} ports to pin: at most {}", ports.size(), ProtocolName(proto), kMaxPorts));
    }
    if (std::ranges::find(ports, Port{0}) != ports.end()) {
      return Fail(ErrorCode::kInvalidArgument, "a bind rewrite cannot move a bind to port 0");
    }
    if (ports.size() > 1 && counter_map_fd < 0) {
      return Fail(ErrorCode::kInvalidArgument, "several ports of a protocol need the bind counter map");
    }
  }
  // Labels: kMatched (the bind asks for a port to move), kOut (leave it), then one per
  // protocol's port choice, then the `from` ranges' and the counter's own.
  enum Label { kMatched, kOut, kTakeTcp, kTakeUdp, kFirstFree };
  int next_label = kFirstFree;
  constexpr auto kPort = static_cast<std::int16_t>(offsetof(bpf_sock_addr, user_port));
  constexpr auto kProto = static_cast<std::int16_t>(offsetof(bpf_sock_addr, protocol));
  auto store_port = [&](Assembler& a, Port port) {
    a.Emit(Insn(BPF_ST | BPF_W | BPF_MEM, 6, 0, kPort, htons(port)));
    a.Jump(BPF_JA, 0, 0, kOut);
  };
  Assembler a;
  a.Emit(Insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0));     // r6 = ctx
  a.Emit(Insn(BPF_LDX | BPF_W | BPF_MEM, 2, 6, kPort, 0));   // r2 = ctx->user_port (network order)
  a.Emit(Insn(BPF_ALU | BPF_END | BPF_TO_BE, 2, 0, 0, 16));  // r2 = host order, 16 bits
  a.Jump(BPF_JEQ, 2, 0, kMatched);
  for (const PortRange& r : rewrite.from.ranges()) {
    const int next = next_label++;
    a.Jump(BPF_JLT, 2, r.low, next);
    a.Jump(BPF_JLE, 2, r.high, kMatched);
    a.Bind(next);
  }
  a.Jump(BPF_JA, 0, 0, kOut);
  a.Bind(kMatched);
  a.Emit(Insn(BPF_LDX | BPF_W | BPF_MEM, 2, 6, kProto, 0));  // r2 = ctx->protocol
  if (!rewrite.tcp.empty()) a.Jump(BPF_JEQ, 2, IPPROTO_TCP, kTakeTcp);
  if (!rewrite.udp.empty()) a.Jump(BPF_JEQ, 2, IPPROTO_UDP, kTakeUdp);
  a.Jump(BPF_JA, 0, 0, kOut);
  for (const Protocol proto : {Protocol::kTcp, Protocol::kUdp}) {
    const std::span<const Port> ports = rewrite.PortsOf(proto);
    if (ports.empty()) continue;
    a.Bind(proto == Protocol::kTcp ? kTakeTcp : kTakeUdp);
    if (ports.size() == 1) {
      store_port(a, ports[0]);
      continue;
    }
    // r1 = the count of this protocol and family's moved binds so far (atomically taken).
    a.Emit(Insn(BPF_ST | BPF_W | BPF_MEM, 10, 0, -4, CounterSlot(proto, family)));  // key on the stack
    a.Emit(Insn(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0));
    a.Emit(Insn(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4));                         // r2 = &key
    a.Emit(Insn(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, counter_map_fd));  // r1 = map
    a.Emit(Insn(0, 0, 0, 0, 0));
    a.Emit(Insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem));
    a.Jump(BPF_JEQ, 0, 0, kOut);  // never for an array map's key in range; the verifier wants it
    a.Emit(Insn(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 1));
    a.Emit(Insn(BPF_STX | BPF_W | BPF_ATOMIC, 0, 1, 0, BPF_ADD | BPF_FETCH));  // r1 = (*r0)++
    for (std::size_t k = 0; k + 1 < ports.size(); ++k) {
      const int next = next_label++;
      a.Jump(BPF_JNE, 1, static_cast<std::int32_t>(k), next);
      store_port(a, ports[k]);
      a.Bind(next);
    }
    store_port(a, ports.back());  // the last port, and every bind past it
  }
  a.Bind(kOut);
  a.Emit(Insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1));  // 1: let the bind go on
  a.Emit(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return a.Finish();
}

Result<BindBpf> BindBpf::Attach(int cgroup_dir_fd, const BindRewrite& rewrite) {
  BindBpf out;
  int counter_fd = -1;
  if (rewrite.tcp.size() > 1 || rewrite.udp.size() > 1) {
    bpf_attr create{};
    create.map_type = BPF_MAP_TYPE_ARRAY;
    create.key_size = sizeof(std::uint32_t);
    create.value_size = sizeof(std::uint32_t);
    create.max_entries = 4;
    std::memcpy(create.map_name, "berth_pin_binds", sizeof "berth_pin_binds");
    UniqueFd map(static_cast<int>(Bpf(BPF_MAP_CREATE, create)));
    if (!map.valid()) return std::unexpected(BpfError(errno, "creating the bind counter (bpf BPF_MAP_CREATE)"));
    counter_fd = map.get();
    out.fds_.push_back(std::move(map));
  }
  for (const bpf_attach_type hook : {BPF_CGROUP_INET4_BIND, BPF_CGROUP_INET6_BIND}) {
    const bool v4 = hook == BPF_CGROUP_INET4_BIND;
    const char* name = v4 ? "bind4" : "bind6";
    const std::vector<bpf_insn> program =
        BERTH_TRY(BuildBindProgram(rewrite, v4 ? BindFamily::kInet4 : BindFamily::kInet6, counter_fd));
    std::string log(4096, '\0');
    bpf_attr load{};
    load.prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
    load.expected_attach_type = hook;
    load.insns = reinterpret_cast<std::uintptr_t>(program.data());
    load.insn_cnt = static_cast<std::uint32_t>(program.size());
    load.license = reinterpret_cast<std::uintptr_t>("GPL");
    load.log_buf = reinterpret_cast<std::uintptr_t>(log.data());
    load.log_size = static_cast<std::uint32_t>(log.size());
    load.log_level = 1;
    std::memcpy(load.prog_name, "berth_pin", sizeof "berth_pin");
    UniqueFd prog(static_cast<int>(Bpf(BPF_PROG_LOAD, load)));
    if (!prog.valid()) {
      Error e = BpfError(errno, fmt::format("loading the {} program (bpf BPF_PROG_LOAD)", name));
      log.resize(std::strlen(log.c_str()));
      if (!log.empty()) e.message += "; verifier: " + log;
      return std::unexpected(std::move(e));
    }
    bpf_attr link{};
    link.link_create.prog_fd = static_cast<std::uint32_t>(prog.get());
    link.link_create.target_fd = static_cast<std::uint32_t>(cgroup_dir_fd);
    link.link_create.attach_type = hook;
    UniqueFd link_fd(static_cast<int>(Bpf(BPF_LINK_CREATE, link)));
    if (!link_fd.valid()) {
      return std::unexpected(BpfError(errno, fmt::format("linking the {} program to the cgroup "
                                                         "(bpf BPF_LINK_CREATE)", name)));
    }
    out.fds_.push_back(std::move(prog));
    out.fds_.push_back(std::move(link_fd));
  }
  return out;
}

}  // namespace berth

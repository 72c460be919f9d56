#include "host/bind_bpf.h"

#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <utility>

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
                                               BindMaps maps) {
  if (rewrite.from.ranges().size() > kMaxRanges) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} port ranges to move: at most {}", rewrite.from.ranges().size(), kMaxRanges));
  }
  if (rewrite.tcp.empty() && rewrite.udp.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "a bind rewrite needs a port and a protocol");
  }
  if (maps.overflow >= 0 && maps.counter < 0) {
    return Fail(ErrorCode::kInvalidArgument, "telling of binds past the last port needs the bind counter map");
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
    if (ports.size() > 1 && maps.counter < 0) {
      return Fail(ErrorCode::kInvalidArgument, "several ports of a protocol need the bind counter map");
    }
  }
  // Labels: kMatched (the bind asks for a port to move), kOut (leave it), then one per
  // protocol's port choice, then the `from` ranges' and the counter's own.
  enum Label { kMatched, kOut, kTakeTcp, kTakeUdp, kFirstFree };
  int next_label = kFirstFree;
  constexpr auto kPort = static_cast<std::int16_t>(offsetof(bpf_sock_addr, user_port));
  constexpr auto kProto = static_cast<std::int16_t>(offsetof(bpf_sock_addr, protocol));
  Assembler a;
  auto store_port = [&](Port port) { a.Emit(Insn(BPF_ST | BPF_W | BPF_MEM, 6, 0, kPort, htons(port))); };
  auto load_map = [&](int reg, int fd) {
    a.Emit(Insn(BPF_LD | BPF_DW | BPF_IMM, reg, BPF_PSEUDO_MAP_FD, 0, fd));
    a.Emit(Insn(0, 0, 0, 0, 0));
  };
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
    if (maps.counter < 0) {  // one port, nothing counted
      store_port(ports[0]);
      a.Jump(BPF_JA, 0, 0, kOut);
      continue;
    }
    const int slot = CounterSlot(proto, family);
    const int last = next_label++;
    // r7 = this bind's rank among the protocol and family's moved binds (atomically taken).
    a.Emit(Insn(BPF_ALU64 | BPF_MOV | BPF_K, 7, 0, 0, 0));     // (rank 0 if the lookup fails)
    a.Emit(Insn(BPF_ST | BPF_W | BPF_MEM, 10, 0, -4, slot));  // the key, on the stack
    a.Emit(Insn(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0));
    a.Emit(Insn(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4));   // r2 = &key
    load_map(1, maps.counter);
    a.Emit(Insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem));
    a.Jump(BPF_JEQ, 0, 0, last);  // never for an array map's key in range; the verifier wants it
    a.Emit(Insn(BPF_ALU64 | BPF_MOV | BPF_K, 7, 0, 0, 1));
    a.Emit(Insn(BPF_STX | BPF_W | BPF_ATOMIC, 0, 7, 0, BPF_ADD | BPF_FETCH));  // r7 = (*r0)++
    for (std::size_t k = 0; k + 1 < ports.size(); ++k) {
      const int next = next_label++;
      a.Jump(BPF_JNE, 7, static_cast<std::int32_t>(k), next);
      store_port(ports[k]);
      a.Jump(BPF_JA, 0, 0, kOut);
      a.Bind(next);
    }
    a.Bind(last);
    store_port(ports.back());  // the last port, and every bind past it
    if (maps.overflow >= 0) {
      // The first bind past the last port: tell berth {slot, rank} through the ring buffer.
      // Only the first: berth says it once, and a server that rebinds (a reload, or a loop of
      // binds) should not pay a wakeup of berth at every bind.
      a.Jump(BPF_JNE, 7, static_cast<std::int32_t>(ports.size()), kOut);
      a.Emit(Insn(BPF_ST | BPF_W | BPF_MEM, 10, 0, -16, slot));
      a.Emit(Insn(BPF_STX | BPF_W | BPF_MEM, 10, 7, -12, 0));
      load_map(1, maps.overflow);
      a.Emit(Insn(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0));
      a.Emit(Insn(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -16));  // r2 = &event
      a.Emit(Insn(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 8));    // its size
      a.Emit(Insn(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0));    // flags
      a.Emit(Insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_output));
    }
    a.Jump(BPF_JA, 0, 0, kOut);
  }
  a.Bind(kOut);
  a.Emit(Insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1));  // 1: let the bind go on
  a.Emit(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return a.Finish();
}

namespace {

constexpr std::uint32_t kOverflowBytes = 4096;  // the ring: 512 events of 8 bytes, a page

long PageSize() { return ::sysconf(_SC_PAGESIZE); }

Result<UniqueFd> CreateMap(bpf_map_type type, std::uint32_t key, std::uint32_t value,
                           std::uint32_t entries, std::string_view name, std::string_view what) {
  bpf_attr create{};
  create.map_type = type;
  create.key_size = key;
  create.value_size = value;
  create.max_entries = entries;
  std::memcpy(create.map_name, name.data(), std::min(name.size(), sizeof create.map_name - 1));
  UniqueFd map(static_cast<int>(Bpf(BPF_MAP_CREATE, create)));
  if (!map.valid()) return std::unexpected(BpfError(errno, fmt::format("creating {} (bpf BPF_MAP_CREATE)", what)));
  return map;
}

}  // namespace

Result<BindBpf> BindBpf::Attach(int cgroup_dir_fd, const BindRewrite& rewrite) {
  BindBpf out;
  out.rewrite_ = rewrite;
  out.counter_ = BERTH_TRY(CreateMap(BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t), sizeof(std::uint32_t), 4,
                                     "berth_pin_binds", "the bind counter"));
  // The ring buffer only serves a warning: a kernel without one (before Linux 5.8) pins all
  // the same, and a second listener's EADDRINUSE is then the server's to explain.
  if (auto ring = CreateMap(BPF_MAP_TYPE_RINGBUF, 0, 0, kOverflowBytes, "berth_pin_over",
                            "the ring buffer for binds past the last port")) {
    const auto page = static_cast<std::size_t>(PageSize());
    void* consumer = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, ring->get(), 0);
    void* producer = ::mmap(nullptr, page + 2 * kOverflowBytes, PROT_READ, MAP_SHARED, ring->get(),
                            static_cast<off_t>(page));
    if (consumer != MAP_FAILED && producer != MAP_FAILED) {
      out.overflow_ = std::move(*ring);
      out.consumer_ = consumer;
      out.producer_ = producer;
    } else {
      if (consumer != MAP_FAILED) ::munmap(consumer, page);
      if (producer != MAP_FAILED) ::munmap(producer, page + 2 * kOverflowBytes);
    }
  }
  const BindMaps maps{out.counter_.get(), out.overflow_.valid() ? out.overflow_.get() : -1};
  for (const bpf_attach_type hook : {BPF_CGROUP_INET4_BIND, BPF_CGROUP_INET6_BIND}) {
    const bool v4 = hook == BPF_CGROUP_INET4_BIND;
    const char* name = v4 ? "bind4" : "bind6";
    const std::vector<bpf_insn> program =
        BERTH_TRY(BuildBindProgram(rewrite, v4 ? BindFamily::kInet4 : BindFamily::kInet6, maps));
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
    out.links_.push_back(std::move(prog));
    out.links_.push_back(std::move(link_fd));
  }
  return out;
}

BindBpf::BindBpf(BindBpf&& o) noexcept
    : rewrite_(std::move(o.rewrite_)), counter_(std::move(o.counter_)), overflow_(std::move(o.overflow_)),
      links_(std::move(o.links_)), consumer_(std::exchange(o.consumer_, nullptr)),
      producer_(std::exchange(o.producer_, nullptr)) {}

BindBpf::~BindBpf() {
  const auto page = static_cast<std::size_t>(PageSize());
  if (consumer_ != nullptr) ::munmap(consumer_, page);
  if (producer_ != nullptr) ::munmap(producer_, page + 2 * kOverflowBytes);
}

std::vector<BindOverflow> BindBpf::TakeOverflows() {
  std::vector<BindOverflow> out;
  if (consumer_ == nullptr || producer_ == nullptr) return out;
  const auto page = static_cast<std::size_t>(PageSize());
  auto* consumer_pos = static_cast<unsigned long*>(consumer_);
  const auto* producer_pos = static_cast<const unsigned long*>(producer_);
  const auto* data = static_cast<const unsigned char*>(producer_) + page;
  unsigned long cons = __atomic_load_n(consumer_pos, __ATOMIC_ACQUIRE);
  const unsigned long prod = __atomic_load_n(producer_pos, __ATOMIC_ACQUIRE);
  while (cons < prod) {
    const auto* header = reinterpret_cast<const std::uint32_t*>(data + (cons & (kOverflowBytes - 1)));
    std::uint32_t len = __atomic_load_n(header, __ATOMIC_ACQUIRE);
    if (len & BPF_RINGBUF_BUSY_BIT) break;  // still being written
    const bool discarded = (len & BPF_RINGBUF_DISCARD_BIT) != 0;
    len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    if (!discarded && len == 8) {
      std::uint32_t event[2];
      std::memcpy(event, reinterpret_cast<const unsigned char*>(header) + BPF_RINGBUF_HDR_SZ, sizeof event);
      BindOverflow o;
      o.proto = event[0] >= 2 ? Protocol::kUdp : Protocol::kTcp;
      o.family = event[0] % 2 == 0 ? BindFamily::kInet4 : BindFamily::kInet6;
      o.rank = event[1];
      const std::span<const Port> ports = rewrite_.PortsOf(o.proto);
      o.port = ports.empty() ? 0 : ports.back();
      if (event[0] < 4) out.push_back(o);
    }
    cons += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7UL;
    __atomic_store_n(consumer_pos, cons, __ATOMIC_RELEASE);
  }
  return out;
}

}  // namespace berth

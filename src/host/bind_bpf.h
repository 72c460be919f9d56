// The cgroup BPF engine of `berth pin`: a BPF_PROG_TYPE_CGROUP_SOCK_ADDR program on the
// BPF_CGROUP_INET4_BIND and BPF_CGROUP_INET6_BIND hooks of one cgroup v2 that moves the binds a
// BindRewrite names to its static port. It sees every bind of the cgroup's processes however
// it is made (libc, raw syscall, static binary, io_uring IORING_OP_BIND); implicit binds of
// connect() and sendto() do not pass through the hook and are never touched.
//
// The program is built here as a struct bpf_insn[] (a dozen instructions, the ports and the
// protocols as immediates) and loaded with the raw bpf() syscall: no libbpf, no clang, no
// object file to install (docs/pin.md says why). It counts the moved binds in a four-slot
// array map (TCP/UDP x IPv4/IPv6), an atomic fetch-and-add per bind, and stores the port of
// that rank; a bind past the last port (a second listener, when one service is pinned) also
// gets the last port, and the first such bind of a protocol and family is told to berth
// through a ring buffer, so that berth can say why the server's bind then fails. It is attached with BPF_LINK_CREATE: the link
// lives as long as its fd, so the program is detached when berth exits, however it exits.
// Needs CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN. One thread per object.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "host/bind_rewrite.h"

namespace berth {

// The maps a bind program uses, by fd: the bind counter (an array of four u32, key
// CounterSlot) and the ring buffer that hears of binds past the last port. -1: none.
struct BindMaps {
  int counter = -1;  // needed when a protocol has several ports, or with `overflow`
  int overflow = -1;
};

// The program for the hook of `family`, pure (unit-tested without a kernel). At most 64 ranges
// of `rewrite.from` and 16 ports a protocol are compared; more is kInvalidArgument.
[[nodiscard]] Result<std::vector<bpf_insn>> BuildBindProgram(const BindRewrite& rewrite,
                                                             BindFamily family = BindFamily::kInet4,
                                                             BindMaps maps = {});

// True when the effective capabilities hold what Attach needs: CAP_NET_ADMIN and CAP_BPF
// (or CAP_SYS_ADMIN). Reads /proc/self/status; false when it cannot.
bool HasBpfPrivilege();

// The loaded programs and their links to one cgroup; dropping the object detaches them.
class BindBpf {
 public:
  // Loads the program and links it to the cgroup whose directory `cgroup_dir_fd` is open, on
  // both hooks. Failure: kPermissionDenied without CAP_BPF/CAP_NET_ADMIN, kUnavailable when
  // the kernel lacks the program type or bpf links (with the verifier's log when it refused).
  [[nodiscard]] static Result<BindBpf> Attach(int cgroup_dir_fd, const BindRewrite& rewrite);
  BindBpf(BindBpf&& o) noexcept;
  BindBpf& operator=(BindBpf&&) = delete;
  ~BindBpf();

  // Readable (poll) when the program has told of binds past the last port; -1 on a kernel
  // without BPF ring buffers (before Linux 5.8), where nothing is told.
  int overflow_fd() const { return overflow_.valid() ? overflow_.get() : -1; }
  // The binds past the last port told since the last call (none when there are none).
  std::vector<BindOverflow> TakeOverflows();

 private:
  BindBpf() = default;
  BindRewrite rewrite_;
  UniqueFd counter_, overflow_;
  std::vector<UniqueFd> links_;  // programs and links
  // The ring buffer's pages mapped: the consumer position (ours to write), then the producer
  // position and the data, mapped twice in a row by the kernel so a record never wraps.
  void* consumer_ = nullptr;
  void* producer_ = nullptr;
};

}  // namespace berth

// The cgroup BPF engine of `berth pin`: a BPF_PROG_TYPE_CGROUP_SOCK_ADDR program on the
// BPF_CGROUP_INET4_BIND and BPF_CGROUP_INET6_BIND hooks of one cgroup v2 that moves the binds a
// BindRewrite names to its static port. It sees every bind of the cgroup's processes however
// it is made (libc, raw syscall, static binary, io_uring IORING_OP_BIND); implicit binds of
// connect() and sendto() do not pass through the hook and are never touched.
//
// The program is built here as a struct bpf_insn[] (a dozen instructions, the ports and the
// protocols as immediates) and loaded with the raw bpf() syscall: no libbpf, no clang, no
// object file to install (docs/pin.md says why). With several ports for a protocol it counts
// the moved binds in a four-slot array map (TCP/UDP x IPv4/IPv6), an atomic fetch-and-add per
// bind, and stores the port of that count. It is attached with BPF_LINK_CREATE: the link
// lives as long as its fd, so the program is detached when berth exits, however it exits.
// Needs CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN. One thread per object.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "host/bind_rewrite.h"

namespace berth {

// The program for the hook of `family`, pure (unit-tested without a kernel). `counter_map_fd`
// is the bind counter (an array of four u32, key CounterSlot), read only when a protocol has
// more than one port. At most 64 ranges of `rewrite.from` and 16 ports a protocol are compared;
// more is kInvalidArgument.
[[nodiscard]] Result<std::vector<bpf_insn>> BuildBindProgram(const BindRewrite& rewrite,
                                                             BindFamily family = BindFamily::kInet4,
                                                             int counter_map_fd = -1);

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

 private:
  std::vector<UniqueFd> fds_;  // the counter map, programs and links
};

}  // namespace berth

// Every socket fd of every process of the host in one pass, through a task_file BPF iterator
// (src/host/bpf/socket_fds.bpf.c, compiled at build time and embedded; loaded with libbpf): the
// fast path of berth scan's owner walk (host/proc_owners.h), about ten times cheaper per fd
// than reading /proc/PID/fd links. The kernel reports each (process, fd, socket inode) once;
// threads that share their process's file table are skipped by the kernel itself.
// Needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), kernel BTF (/sys/kernel/btf/vmlinux) and
// task_file iterators (Linux 5.8). One thread per object.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "base/error.h"

struct bpf_object;
struct bpf_link;

namespace berth {

// One record of the iterator's output, as the BPF program writes it (host byte order).
struct SocketFdRecord {
  std::uint32_t pid;  // the process (thread group) id, in the initial PID namespace
  std::uint32_t fd;
  std::uint64_t inode;  // the socket's inode: /proc/PID/fd/FD reads "socket:[inode]"
};
static_assert(sizeof(SocketFdRecord) == 16);

// Why this process cannot use the iterator, before trying: it runs in a child PID namespace
// (the kernel reports the initial namespace's pids), lacks CAP_BPF + CAP_PERFMON (or
// CAP_SYS_ADMIN), or the kernel has no BTF. "" when nothing is known to stand in the way.
std::string SocketFdIteratorBlocker();

class SocketFdIterator {
 public:
  // Loads and attaches the program. Done before the socket dump, so the kernel BTF libbpf reads
  // for the relocations (several MiB) is freed before the sockets take their memory.
  // Failure: kPermissionDenied without CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN); kUnavailable
  // when the kernel or libbpf refuses (their words in the message).
  [[nodiscard]] static Result<SocketFdIterator> Load();

  // Runs the walk: `each` gets the records in batches (a batch lives until `each` returns).
  // Returns the number of records. Each call is a new walk of the live system.
  [[nodiscard]] Result<std::size_t> Read(const std::function<void(std::span<const SocketFdRecord>)>& each);

  SocketFdIterator(SocketFdIterator&& other) noexcept;
  SocketFdIterator& operator=(SocketFdIterator&& other) noexcept;
  ~SocketFdIterator();

 private:
  SocketFdIterator(bpf_object* object, bpf_link* link) : object_(object), link_(link) {}
  bpf_object* object_ = nullptr;
  bpf_link* link_ = nullptr;
};

}  // namespace berth

// The task_file BPF iterator of `berth scan` (src/host/socket_fds.h): one pass over every open
// file of every process of the host, emitting a 16-byte record (tgid, fd, inode) for each
// socket. Compiled at build time with clang -target bpf (CMakeLists.txt) and embedded in berth;
// loaded with libbpf. CO-RE: the few kernel types it reads are declared below with
// preserve_access_index, and libbpf relocates their offsets against the running kernel's BTF
// (/sys/kernel/btf/vmlinux), so no vmlinux.h is generated and one object runs on any kernel
// with BTF and task_file iterators (5.8 and later).
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#define BERTH_CORE __attribute__((preserve_access_index))

struct seq_file;
struct bpf_iter_meta {
  struct seq_file* seq;
} BERTH_CORE;
struct task_struct {
  int tgid;
} BERTH_CORE;
struct inode {
  unsigned short i_mode;
  unsigned long i_ino;
} BERTH_CORE;
struct file {
  struct inode* f_inode;
} BERTH_CORE;
struct bpf_iter__task_file {
  struct bpf_iter_meta* meta;
  struct task_struct* task;
  __u32 fd;
  struct file* file;
} BERTH_CORE;

// Must match SocketFdRecord in src/host/socket_fds.h.
struct berth_socket_fd {
  __u32 pid;
  __u32 fd;
  __u64 inode;
};

#define BERTH_S_IFMT 0170000
#define BERTH_S_IFSOCK 0140000

SEC("iter/task_file")
int berth_socket_fds(struct bpf_iter__task_file* ctx) {
  struct file* file = ctx->file;
  struct task_struct* task = ctx->task;
  if (file == 0 || task == 0) return 0;  // the end of the walk
  struct inode* inode = file->f_inode;
  if (inode == 0 || (inode->i_mode & BERTH_S_IFMT) != BERTH_S_IFSOCK) return 0;
  struct berth_socket_fd rec = {(__u32)task->tgid, ctx->fd, inode->i_ino};
  bpf_seq_write(ctx->meta->seq, &rec, sizeof rec);
  return 0;
}

// bpf_seq_write is offered to GPL-compatible programs only: this file alone is under BSD-2-Clause
// or GPL-2.0 (packaging/deb/copyright); the object is data berth hands to the kernel.
char LICENSE[] SEC("license") = "Dual BSD/GPL";

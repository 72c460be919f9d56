// Attributing sockets to processes. Two walks give the same owners: a task_file BPF iterator
// (host/socket_fds.h: one pass in the kernel, every owner of every socket), or /proc/PID/fd,
// where each fd whose link reads "socket:[INODE]" names an owner; that walk runs on several
// threads over a read-only inode -> socket table and stops as soon as every wanted socket has
// an owner (unless asked for every owner). Either walk can also be collected before the
// sockets are known (WalkRecords: CollectBpfWalk, ProcWalk), to run beside the dump.
// Call from one thread; it starts and joins its own workers. When the system refuses a
// thread (RLIMIT_NPROC, memory), the walk goes on with the threads it has, down to the
// calling thread alone.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/socket.h"

namespace berth {

class SocketFdIterator;


// The most threads one walk uses, whatever OwnerWalkOptions::threads asks for.
inline constexpr unsigned kMaxWalkThreads = 64;

struct OwnerWalkOptions {
  std::string proc_root = "/proc";
  unsigned threads = 0;            // 0: one per core, at most 8; at most kMaxWalkThreads
  bool stop_when_all_found = true; // false: every owner of every socket (slower)
  OwnerWalk via = OwnerWalk::kAuto;  // kAuto, kBpf or kProc; the BPF walk needs proc_root "/proc"
};

struct OwnerWalkStats {
  OwnerWalk via = OwnerWalk::kProc;  // the walk that ran: kBpf or kProc
  std::string bpf_fallback;      // kAuto fell back to /proc: why the BPF walk did not run
  unsigned threads = 0;         // threads that walked (fewer than asked when some could not start)
  std::size_t processes = 0;    // pid directories listed (BPF: processes holding a socket)
  std::size_t unreadable = 0;   // fd tables we may not read (not root)
  std::size_t vanished = 0;     // exited while we walked
  std::size_t fds = 0;          // fd links read (BPF: socket fds reported)
  bool stopped_early = false;
};

// Fills snap.processes and snap.owners for snap.sockets and sets owners_resolved. Sockets
// nobody visible holds keep no owner. When owners stay unknown because fd tables were
// unreadable, marks the snapshot partial with a warning saying what to do.
// With `bpf` (loaded by the caller, see ScanHost) the owners come from the iterator, and every
// owner of every socket is found (as stop_when_all_found = false); without it, from /proc.
// The processes' names, users, units and containers are read from /proc either way.
// Failure: only when proc_root itself cannot be listed (kNotFound / kPermissionDenied), or the
// iterator fails mid-walk (the caller may walk /proc instead).
[[nodiscard]] Result<OwnerWalkStats> ResolveOwners(HostSnapshot& snap,
                                                   const OwnerWalkOptions& options = {},
                                                   SocketFdIterator* bpf = nullptr);

// A walk taken before the sockets are known, so that it runs while they are dumped (ScanHost,
// on other threads): every socket fd of the host as a SocketOwner whose `socket` holds the
// fd's inode until ResolveOwners matches it (the same 12 bytes, matched in place), and the
// walk's figures (`stats.fds`: BPF, socket fds reported; /proc, fd links read).
struct WalkRecords {
  std::vector<SocketOwner> fds;
  OwnerWalkStats stats;
};

// The BPF walk, collected. `reserve`: records to make room for at once (address space only
// until written: a generous guess costs no memory, a short one a copy).
[[nodiscard]] Result<WalkRecords> CollectBpfWalk(SocketFdIterator& bpf, std::size_t reserve);

// The /proc walk, collected: Start lists the pid directories and starts options.threads - 1
// workers (none on one core); Finish walks on the calling thread too until every pid is
// done, joins the workers and returns the records. Without a table of wanted sockets it
// cannot stop early: it reads every fd link (as stop_when_all_found = false). Destroying an
// unfinished walk waits for its workers to finish the pids.
class ProcWalk {
 public:
  // Failure: only when proc_root cannot be listed.
  [[nodiscard]] static Result<std::unique_ptr<ProcWalk>> Start(const OwnerWalkOptions& options);
  [[nodiscard]] virtual WalkRecords Finish() = 0;
  virtual ~ProcWalk() = default;
};

// ResolveOwners from a walk collected before: the same owners as walking afterwards.
[[nodiscard]] Result<OwnerWalkStats> ResolveOwners(HostSnapshot& snap, const OwnerWalkOptions& options,
                                                   WalkRecords walk);

}  // namespace berth

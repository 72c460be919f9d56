// Attributing sockets to processes by walking /proc/PID/fd: each fd whose link reads
// "socket:[INODE]" names an owner. The walk runs on several threads over a read-only
// inode -> socket table and stops as soon as every wanted socket has an owner.
// Call from one thread; it starts and joins its own workers. When the system refuses a
// thread (RLIMIT_NPROC, memory), the walk goes on with the threads it has, down to the
// calling thread alone.
#pragma once

#include <string>

#include "core/socket.h"

namespace berth {

// The most threads one walk uses, whatever OwnerWalkOptions::threads asks for.
inline constexpr unsigned kMaxWalkThreads = 64;

struct OwnerWalkOptions {
  std::string proc_root = "/proc";
  unsigned threads = 0;            // 0: one per core, at most 8; at most kMaxWalkThreads
  bool stop_when_all_found = true; // false: every owner of every socket (slower)
};

struct OwnerWalkStats {
  unsigned threads = 0;         // threads that walked (fewer than asked when some could not start)
  std::size_t processes = 0;    // pid directories listed
  std::size_t unreadable = 0;   // fd tables we may not read (not root)
  std::size_t vanished = 0;     // exited while we walked
  std::size_t fds = 0;          // fd links read
  bool stopped_early = false;
};

// Fills snap.processes and snap.owners for snap.sockets and sets owners_resolved. Sockets
// nobody visible holds keep no owner. When owners stay unknown because fd tables were
// unreadable, marks the snapshot partial with a warning saying what to do.
// Failure: only when proc_root itself cannot be listed (kNotFound / kPermissionDenied).
[[nodiscard]] Result<OwnerWalkStats> ResolveOwners(HostSnapshot& snap,
                                                   const OwnerWalkOptions& options = {});

}  // namespace berth

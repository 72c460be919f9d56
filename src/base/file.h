// Files: reading a small file whole, and replacing a file atomically (readers see the old
// content or the new, never a mix or a truncated file: the data goes to a temporary file in
// the same directory, is fsynced and renamed over the target; the directory is fsynced too).
// Thread-safe (no shared state; concurrent writers to one path: the last rename wins).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "base/error.h"

namespace berth {

inline constexpr std::size_t kMaxSmallFile = std::size_t{1} << 20;  // 1 MiB
inline constexpr std::size_t kMaxUserFile = std::size_t{16} << 20;  // 16 MiB

// Both readers open without blocking and read regular files only: a FIFO, a device
// (/dev/zero), a socket or a directory is refused at once, never read or waited on.
// Failure: the errno Error naming the path; kInvalidArgument for a file that is not a
// regular file; kMalformed for a file larger than the cap.

// Reads a whole small file (at most kMaxSmallFile): /proc and /sys files, saved state.
[[nodiscard]] Result<std::string> ReadSmallFile(const std::string& path);

// Reads a whole file named by the user (at most kMaxUserFile): berth.toml, --from.
[[nodiscard]] Result<std::string> ReadWholeFile(const std::string& path);

// Writes `data` to `path` with permission `mode` (before umask). On failure the target is
// unchanged and the temporary file removed. Failure: the errno Error naming the path
// (kNotFound for a missing directory, kPermissionDenied, ...).
[[nodiscard]] Result<void> WriteFileAtomic(const std::string& path, std::string_view data,
                                           mode_t mode = 0644);

}  // namespace berth

// Files: reading a small file whole, and replacing a file atomically (readers see the old
// content or the new, never a mix or a truncated file: the data goes to a temporary file in
// the same directory, is fsynced and renamed over the target; the directory is fsynced too).
// Thread-safe (no shared state; concurrent writers to one path: the last rename wins).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/error.h"

namespace berth {

// Reads a whole small file (at most 1 MiB). Failure: the errno Error naming the path;
// kMalformed for a larger file.
[[nodiscard]] Result<std::string> ReadSmallFile(const std::string& path);

// Reads a whole file of any size (a file named by the user). Failure: the errno Error naming
// the path.
[[nodiscard]] Result<std::string> ReadWholeFile(const std::string& path);

// Writes `data` to `path` with permission `mode` (before umask). On failure the target is
// unchanged and the temporary file removed. Failure: the errno Error naming the path
// (kNotFound for a missing directory, kPermissionDenied, ...).
[[nodiscard]] Result<void> WriteFileAtomic(const std::string& path, std::string_view data,
                                           mode_t mode = 0644);

}  // namespace berth

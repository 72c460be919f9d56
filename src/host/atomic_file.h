// Replacing a file atomically: readers see the old content or the new, never a mix or a
// truncated file. The data goes to a temporary file in the same directory, is fsynced and
// renamed over the target; the directory is fsynced too. Thread-safe (no shared state;
// concurrent writers to one path: the last rename wins).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "core/error.h"

namespace berth {

// Writes `data` to `path` with permission `mode` (before umask). On failure the target is
// unchanged and the temporary file removed. Failure: the errno Error naming the path
// (kNotFound for a missing directory, kPermissionDenied, ...).
[[nodiscard]] Result<void> WriteFileAtomic(const std::string& path, std::string_view data,
                                           mode_t mode = 0644);

}  // namespace berth

// Target lists for `berth probe`: host names, numeric addresses, CIDR blocks and -iL files,
// expanded to numeric addresses under a hard cap that is checked before anything is
// expanded. Name resolution uses getaddrinfo (blocking). Thread-compatible.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/error.h"

namespace berth::probe {

struct ProbeTarget {
  std::string given;    // the word it came from ("db1", "10.0.0.0/30")
  std::string address;  // numeric address
};

inline constexpr std::size_t kDefaultMaxTargets = 65536;

// Expands `words` plus the words of `list_file` (one or more per line, '#' starts a comment;
// empty: none). Failure: kInvalidArgument for a malformed word or prefix, a total above
// `max_targets` (naming --max-targets), or a name that does not resolve; kNotFound for an
// unreadable list file.
[[nodiscard]] Result<std::vector<ProbeTarget>> ExpandTargets(const std::vector<std::string>& words,
                                                             const std::string& list_file,
                                                             std::size_t max_targets);

}  // namespace berth::probe

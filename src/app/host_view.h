// What the allocator knows of this host (its live port ranges and listeners), taken from a
// host source. Shared by every use case that hands out or checks ports. One thread.
#pragma once

#include <string>
#include <vector>

#include "core/host_source.h"
#include "registry/allocator.h"

namespace berth::app {

// The host's ranges and current listeners (no owners). The snapshot's warnings (a sysctl that
// could not be read...) are appended to `warnings` for the caller to show. Failure: the
// source's.
[[nodiscard]] Result<registry::HostView> TakeHostView(HostSource& host,
                                                      std::vector<std::string>& warnings);

// The allocator's view of a snapshot already taken (its ranges and server ports).
registry::HostView HostViewOf(const HostSnapshot& snap);

}  // namespace berth::app

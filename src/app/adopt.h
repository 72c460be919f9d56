// `berth adopt`: registers a service on the port its running listener holds now, the one
// case `assign --port` refuses ("has a listener right now"). The listener is identified from
// a live snapshot with owners (process, systemd unit, pid); an expected owner can be given,
// and a listener that is someone else is refused, naming who it is. Every other allocator
// rule still applies; an ephemeral port is accepted with a warning. Never prints. One thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/host_source.h"
#include "core/port_holder.h"
#include "registry/allocator.h"
#include "registry/store.h"

namespace berth::app {

// Who the listener must be; empty fields match anyone.
struct AdoptExpect {
  std::string process;  // /proc/PID/comm; a longer name matches its first 15 characters
  std::string unit;     // systemd unit; "web" matches "web.service"
  int pid = 0;          // any process holding the socket (a master or one of its workers)
  bool any() const { return !process.empty() || !unit.empty() || pid != 0; }
};

struct AdoptRequest {
  registry::AssignRequest assign;  // assign.port is required; assign.adopt is set by Adopt
  AdoptExpect expect;
};

struct AdoptResult {
  registry::Assignment assignment;  // its warnings: an ephemeral port, with the remedy
  std::vector<PortHolder> holders;  // who listens on the port now
  bool unidentified = false;        // a holder's process could not be seen (accepted anyway)
};

// Failure: kInvalidArgument without a port, or for a rule the port breaks (as Assign);
// kNotFound when nothing listens on the port (hint: assign it instead); kConflict when a
// listener is not `expect`, naming who it is; kPermissionDenied when `expect` is given but a
// listener's process is hidden from this user; the host's and the store's failures. The
// snapshot's warnings are appended to `warnings`.
[[nodiscard]] Result<AdoptResult> Adopt(registry::Store& store, HostSource& host,
                                        const AdoptRequest& request,
                                        std::vector<std::string>& warnings);

}  // namespace berth::app

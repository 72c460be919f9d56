// Telling systemd about a service's state (sd_notify(3), Type=notify units) without libsystemd:
// one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET ("/path" or "@abstract").
// Thread-safe (no shared state).
#pragma once

#include <string_view>

#include "base/error.h"

namespace berth {

// Sends `state` ("READY=1", "STOPPING=1", "STATUS=...") when $NOTIFY_SOCKET is set; returns
// false (sending nothing) when it is not. Failure: the errno Error naming the socket, or
// kInvalidArgument for a NOTIFY_SOCKET that is not an AF_UNIX path.
[[nodiscard]] Result<bool> NotifySystemd(std::string_view state);

}  // namespace berth

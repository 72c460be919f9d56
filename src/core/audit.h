// The host audit: turns a HostSnapshot into findings about its servers (TCP listeners and
// bound UDP sockets) and its port configuration. Pure: no I/O; safe to call concurrently.
// Every finding id it can produce is documented in docs/findings.md.
#pragma once

#include <vector>

#include "core/finding.h"
#include "core/socket.h"

namespace berth {

std::vector<Finding> AuditHost(const HostSnapshot& snap);

// True when `command` (a /proc comm) plausibly is the service IANA names `service`
// ("sshd" is "ssh", "nginx" is "http"). Exposed for tests.
bool CommandMatchesService(std::string_view command, std::string_view service);

}  // namespace berth

// The audit of a collected Windows host (core/windows_host.h): the same finding model as a
// Linux scan, with Windows' fixes. Listeners inside the Windows dynamic range, SQL Server
// instances with TcpDynamicPorts set, the port mappers (RPC endpoint mapper, SQL Server
// Browser) and the services they hide, firewall rules that open broad ranges, a dynamic
// range netsh would refuse. Every id is documented in docs/findings.md. Pure; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "core/finding.h"
#include "core/windows_host.h"

namespace berth::windows {

// `remedy` is the berth command line that prints this host's remedy script, already quoted
// for a POSIX shell (findings name it as their fix). Findings come most severe first.
std::vector<Finding> AuditWindowsHost(const WindowsHost& host, std::string_view remedy);

// The registry name of a SQL Server instance: "mssql." plus its name as a registry label
// ("mssql.sqlexpress", "mssql.mssqlserver"), cut to the registry's 63 characters; "" when
// the name has nothing printable.
std::string SqlServiceName(std::string_view instance);

}  // namespace berth::windows

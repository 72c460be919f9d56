#include "app/adopt.h"

#include <algorithm>

#include <fmt/core.h>

#include "app/host_view.h"
#include "app/registry_ops.h"
#include "core/socket_filter.h"  // UnitMatches

namespace berth::app {
namespace {

bool ProcessMatches(const AdoptExpect& e, const ProcessInfo& p) {
  // /proc comm keeps 15 bytes (TASK_COMM_LEN - 1): a longer expected name matches its start.
  constexpr std::size_t kCommLen = 15;
  if (!e.process.empty() && p.command != e.process &&
      !(e.process.size() > kCommLen && e.process.substr(0, kCommLen) == p.command)) {
    return false;
  }
  if (!e.unit.empty() && !UnitMatches(e.unit, p.unit)) return false;
  return e.pid == 0 || p.pid == e.pid;
}

std::string DescribeExpect(const AdoptExpect& e) {
  std::vector<std::string> parts;
  if (!e.process.empty()) parts.push_back(fmt::format("process '{}'", e.process));
  if (!e.unit.empty()) parts.push_back(fmt::format("unit '{}'", e.unit));
  if (e.pid != 0) parts.push_back(fmt::format("pid {}", e.pid));
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string PortProto(PortRange ports, ServiceProto proto) {
  return fmt::format("{}/{}", FormatRange(ports), ServiceProtoName(proto));
}

}  // namespace

Result<AdoptResult> Adopt(registry::Store& store, HostSource& host, const AdoptRequest& request,
                          std::vector<std::string>& warnings) {
  const registry::AssignRequest& asked = request.assign;
  if (!asked.port) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("adopting '{}' needs the port its listener holds", asked.name));
  }
  BERTH_TRY(ValidateServiceName(asked.name));
  if (asked.size < 1 || std::uint32_t{*asked.port} + asked.size - 1 > 65535) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("adopting '{}': {} ports from {} end past 65535", asked.name, asked.size,
                            *asked.port));
  }
  // One port, or a range (--size): its listeners may hold any of its ports.
  const PortRange port{*asked.port, static_cast<Port>(*asked.port + asked.size - 1)};
  const ServiceProto proto = asked.proto.value_or(ServiceProto::kTcp);

  HostQuery query;  // servers only, with their owners
  HostSnapshot snap = BERTH_TRY(host.Take(query));
  warnings.insert(warnings.end(), snap.warnings.begin(), snap.warnings.end());

  AdoptResult out;
  out.holders = HoldersOf(snap, port, proto);
  if (out.holders.empty()) {
    return Fail(ErrorCode::kNotFound,
                fmt::format("nothing listens on {} on {} right now: adopting registers the {} "
                            "a running service already holds",
                            PortProto(port, proto), snap.hostname,
                            port.size() > 1 ? "range" : "port"),
                {{Remedy::kAssignInstead, asked.name, PortProto(port, proto)}});
  }
  for (const PortHolder& h : out.holders) {
    if (h.processes.empty()) out.unidentified = true;
    if (!request.expect.any()) continue;
    if (h.processes.empty()) {
      return Fail(ErrorCode::kPermissionDenied,
                  fmt::format("cannot tell whether {} is {}: {}", PortProto(port, proto),
                              DescribeExpect(request.expect), DescribeHolder(h)),
                  {{Remedy::kSeeAllProcesses}});
    }
    const bool matches = std::any_of(h.processes.begin(), h.processes.end(),
                                     [&](const ProcessInfo& p) { return ProcessMatches(request.expect, p); });
    if (!matches) {
      return Fail(ErrorCode::kConflict,
                  fmt::format("{} is not held by {}: {} listens there; nothing was registered",
                              PortProto(port, proto), DescribeExpect(request.expect),
                              DescribeHolder(h)));
    }
  }

  registry::AssignRequest req = asked;
  req.adopt = PortSet{port};
  auto steps = Assign(store, HostViewOf(snap), std::span(&req, 1));
  if (steps.failed) return std::unexpected(std::move(*steps.failed));
  out.assignment = std::move(steps.done.front());
  return out;
}

}  // namespace berth::app

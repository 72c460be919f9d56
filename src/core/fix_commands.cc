#include "core/fix_commands.h"

#include <set>
#include <utility>

#include <fmt/core.h>

#include "core/iana.h"

namespace berth {

std::string SuggestServiceName(std::string_view command) {
  std::string out;
  for (char c : command) {
    const char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    const bool letter = l >= 'a' && l <= 'z';
    const bool digit = l >= '0' && l <= '9';
    if (out.empty() && !letter) continue;  // a name starts with a letter
    if (letter || digit) {
      out += l;
    } else if (out.back() != '-') {
      out += '-';
    }
  }
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

ServiceNamer::ServiceNamer(const HostSnapshot& snap) {
  for (const SocketOwner& o : snap.owners) {
    if (o.socket >= snap.sockets.size() || o.process >= snap.processes.size()) continue;
    const SocketRecord& s = snap.sockets[o.socket];
    if (!s.is_server()) continue;
    const std::string& command = snap.processes[o.process].command;
    auto it = held_.find(command);
    if (it == held_.end()) it = held_.emplace(command, std::set<std::pair<Protocol, Port>>{}).first;
    it->second.emplace(s.proto, s.local_port);
  }
}

std::string ServiceNamer::Suggest(std::string_view command, Port port, Protocol proto) const {
  std::string base = SuggestServiceName(command);
  if (base.empty()) return base;
  auto it = held_.find(command);
  if (it == held_.end() || it->second.size() <= 1) return base;
  std::string suffix = fmt::format("-{}", port);
  if (proto == Protocol::kUdp && it->second.contains({Protocol::kTcp, port})) suffix += "-udp";
  if (base.size() + suffix.size() > 63) base.resize(63 - suffix.size());
  while (!base.empty() && base.back() == '-') base.pop_back();
  return base + suffix;
}

std::string PortServiceName(Port port, Protocol proto) {
  return fmt::format("{}-{}", ProtocolName(proto), port);
}

std::string AdoptCommand(std::string_view name, Port port, Protocol proto) {
  return fmt::format("berth adopt {} --port {} --proto {}{}",
                     name.empty() ? PortServiceName(port, proto) : std::string(name), port,
                     ProtocolName(proto), IanaAssigned(port, proto) ? " --allow-iana" : "");
}

std::string AllowCommand(const PortSet& ports) {
  return fmt::format("berth group add default --allow {}", ports.Format());
}

std::string ListenerFix(std::string_view name, Port port, Protocol proto,
                        PortRange registrable) {
  return registrable.contains(port) ? AdoptCommand(name, port, proto) : AllowCommand(PortSet{{port, port}});
}

}  // namespace berth

#include <algorithm>
#include <string>

#include "lint/conf_reader.h"

namespace berth::lint {
namespace {

// Calls each(line, kv) for every key=value line of `wanted` ("[Socket]", "[Unit]"); comments
// and other sections are skipped.
template <class Each>
void ForEachKeyIn(const std::vector<Line>& lines, std::string_view wanted, Each each) {
  std::string section;
  for (const Line& line : lines) {
    std::string_view t = Trim(line.text);
    if (t.empty() || t.front() == '#' || t.front() == ';') continue;
    if (t.front() == '[') {
      section = std::string(t);
      continue;
    }
    if (section != wanted) continue;
    if (auto kv = SplitKeyValue(line.text, "=")) each(line, *kv);
  }
}

}  // namespace

// systemd: ListenStream=/ListenDatagram= in [Socket]; paths, netlink and vsock are skipped.
void ReadSystemdSocket(const std::vector<Line>& lines, ConfReader& r) {
  std::string_view base = BaseName(r.file);
  if (base.ends_with(".socket")) base.remove_suffix(7);
  ForEachKeyIn(lines, "[Socket]", [&](const Line& line, const auto& kv) {
    Protocol proto;
    if (kv.key == "ListenStream") proto = Protocol::kTcp;
    else if (kv.key == "ListenDatagram") proto = Protocol::kUdp;
    else return;
    if (kv.value.empty() || kv.value.front() == '/' || kv.value.front() == '@' ||
        kv.value.starts_with("vsock:")) {
      return;
    }
    auto hp = SplitHostPort(kv.value);
    if (!hp || hp->port.empty()) return;
    auto port = ParsePortNumber(hp->port);
    if (!port) return;
    PortDecl& d = r.Add(line, kv.value_column + static_cast<int>(hp->port_offset),
                        std::string(kv.key), PortRange{*port, *port});
    d.proto = proto;
    d.address = std::string(hp->address);
    d.service = std::string(base);
    if (*port == 0) d.dynamic = Dynamic::kZero;
  });
}

// systemd .service: Requires=, Wants=, BindsTo=, Requisite= in [Unit] naming rpcbind (its
// socket, service or target, or its portmap alias): the unit's RPC services register with
// the port mapper. rpcbind's own units are the mapper, not its clients.
void ReadSystemdService(const std::vector<Line>& lines, ConfReader& r) {
  std::string_view base = BaseName(r.file);
  if (base.ends_with(".service")) base.remove_suffix(8);
  if (base == "rpcbind" || base == "portmap") return;
  ForEachKeyIn(lines, "[Unit]", [&](const Line& line, const auto& kv) {
    if (kv.key != "Requires" && kv.key != "Wants" && kv.key != "BindsTo" &&
        kv.key != "Requisite") {
      return;
    }
    for (std::size_t i = 0; i < kv.value.size();) {
      const std::size_t end = std::min(kv.value.find_first_of(" \t", i), kv.value.size());
      const std::string_view unit = kv.value.substr(i, end - i);
      if (unit == "rpcbind.socket" || unit == "rpcbind.service" || unit == "rpcbind.target" ||
          unit == "portmap.service") {
        PortDecl& d = r.Add(line, kv.value_column + static_cast<int>(i), std::string(kv.key),
                            PortRange{111, 111});
        d.kind = DeclKind::kTarget;
        d.mapper = Mapper::kRpcbind;
        d.instance = std::string(unit);
        d.service = std::string(base);
        break;
      }
      i = kv.value.find_first_not_of(" \t", end);
      if (i == std::string_view::npos) break;
    }
  });
}

}  // namespace berth::lint

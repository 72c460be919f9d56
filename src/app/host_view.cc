#include "app/host_view.h"

namespace berth::app {

registry::HostView HostViewOf(const HostSnapshot& snap) {
  registry::HostView view;
  view.hostname = snap.hostname;
  view.config = snap.config;
  for (const SocketRecord& s : snap.sockets) {
    if (!s.is_server()) continue;
    (s.proto == Protocol::kTcp ? view.listening_tcp : view.listening_udp).Add(s.local_port);
  }
  return view;
}

Result<registry::HostView> TakeHostView(HostSource& host, std::vector<std::string>& warnings) {
  HostQuery query;
  query.resolve_owners = false;
  HostSnapshot snap = BERTH_TRY(host.Take(query));
  warnings.insert(warnings.end(), snap.warnings.begin(), snap.warnings.end());
  return HostViewOf(snap);
}

}  // namespace berth::app

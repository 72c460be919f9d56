// The berth commands that findings print as their fix when a live listener should be
// registered where it is (`berth adopt`), and the service name berth suggests for a process.
// A printed command must work as printed, so it carries every flag the port needs. Pure.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "core/port.h"
#include "core/socket.h"

namespace berth {

// A valid service name (ValidateServiceName) made from a process's command (/proc comm):
// lowercased, every run of other characters (".", "_", "/", ":", spaces) a single '-', cut
// to start with a letter and to 63 characters. "" when nothing usable is left (an unknown
// owner, "1234"): the caller then prints the placeholder NAME.
std::string SuggestServiceName(std::string_view command);

// The server ports each command holds in one snapshot, gathered in one pass over its owners
// (a host of a million sockets is read once, not once per finding), for the names fixes suggest.
class ServiceNamer {
 public:
  explicit ServiceNamer(const HostSnapshot& snap);
  // The name suggested for the listener on `port`/`proto` held by processes named `command`:
  // SuggestServiceName(command) when that command holds no other server port, else with
  // "-PORT" appended (and "-udp" for the UDP side of a port it holds over TCP too), so the
  // fixes of one process's ports never ask for the same name twice.
  std::string Suggest(std::string_view command, Port port, Protocol proto) const;

 private:
  std::map<std::string, std::set<std::pair<Protocol, Port>>, std::less<>> held_;
};

// The name a fix gives a listener whose process berth cannot see (another user's, without
// root): "tcp-40000". A valid service name, so that the fix runs as printed.
std::string PortServiceName(Port port, Protocol proto);

// "berth adopt NAME --port P --proto X" for a listener on `port`/`proto` to be registered
// as `name` ("" when berth does not know the process: PortServiceName then), with
// --allow-iana when IANA assigns the port. The command registers the listener in the default
// group; it works as printed when `port` is inside that group's range.
std::string AdoptCommand(std::string_view name, Port port, Protocol proto);

// "berth group add default --allow P[,P...]": for listeners that stay where they are but
// cannot be registered there (ports outside the registry's range, such as 22): `berth check`
// and `berth scan` then accept them unregistered.
std::string AllowCommand(const PortSet& ports);

// What to run for an unregistered listener: AdoptCommand when `registrable` (the default
// group's range) holds the port, else AllowCommand.
std::string ListenerFix(std::string_view name, Port port, Protocol proto,
                        PortRange registrable);

}  // namespace berth

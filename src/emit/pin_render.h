// `berth pin`'s output: the plan (which port, which engine, whether the port is free and
// reserved) as text or JSON (schema berth.pin/1), the line it prints when the command starts,
// and the systemd .socket unit `--print-unit` offers as the clean alternative. No I/O.
#pragma once

#include <string>
#include <vector>

#include "base/sink.h"
#include "core/service.h"
#include "emit/registry_render.h"

namespace berth {

inline constexpr std::string_view kPinSchema = "berth.pin/1";

struct PinHolderView {
  Port port = 0;
  std::string proto, endpoint, state;
};

struct PinView {
  std::vector<Service> services;      // NAME, then the --ports services, in bind order
  PortSet from;                       // further ports moved
  std::string engine, engine_why;     // "cgroup-bpf", "has CAP_BPF ..."
  std::vector<PinHolderView> holders; // what holds the ports now (empty: free)
  bool reserved = false;              // all in ip_local_reserved_ports now
  bool can_reserve = false;
  std::vector<std::string> warnings;
  std::string command;                // the command, shell-quoted for display; "" for a plan
  int pid = 0;                        // the pinned command's pid, once started
};

// Text: "NAME: PORT/PROTO with the ENGINE engine (WHY)" (a "NAME PORT/PROTO" each with
// --ports) and a line each for the ports, the reservation and what moves. JSON: {"can_reserve",
// "command"|null, "engine", "engine_why", "free", "from": [[l,h]...], "holders":
// [{"endpoint","port","proto","state"}], "pid"|null, "port", "port_option": nfs.conf
// lines|null, "proto", "reserved", "schema": "berth.pin/1", "service", "services":
// [{"port","port_option","proto","service"}] in bind order, "warnings": [...]}, one object:
// "service", "port", "proto" and "port_option" are the first service's; `compact` writes it on
// one line (the start event of a running pin).
void RenderPinPlan(const PinView& v, RenderForm form, bool compact, const Sink& sink);

// The clean alternative to a pin, for --print-unit: for a daemon with a port option berth
// knows (the NFS daemons of core/nfs_ports.h), its nfs.conf section on the registered port;
// for any other service a systemd socket unit that listens on the port (ListenStream for tcp,
// ListenDatagram for udp, both for both) and hands the socket to NAME.service.
void RenderPinAlternative(const Service& s, const Sink& sink);

// The port option of `s` as nfs.conf lines ("[statd]\nport=...\n"), "" when berth knows none.
std::string PinPortOption(const Service& s);

}  // namespace berth

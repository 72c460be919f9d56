// The NFS daemons berth knows how to pin: for each, its ONC RPC program, the static port
// berth recommends, the nfs.conf(5) section and keys that set it, and the systemd unit to
// restart. The audit's fixes and probe's remedies format their nfs.conf lines from this one
// table. Pure data and formatting; thread-safe.
//
// The ports follow Debian's nfs-utils documentation: mountd on its IANA port 20048, statd on
// 32765 (outgoing 32766), nfsd on its IANA port 2049. lockd takes 32764: not the often-quoted
// 32768 (the first port of Linux's default ephemeral range 32768-60999) nor 32767 (IANA's
// filenet-powsrm, which the allocator would refuse): the block 32764-32766 sits just below the
// ephemeral range, where no kernel hands ports out, and IANA assigns none of it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/port.h"

namespace berth {

// A second nfs.conf key a section needs besides `port`.
struct NfsConfKey {
  std::string_view key;  // "outgoing-port", "udp-port"; "" when there is none
  Port port = 0;         // 0: the daemon's own port (lockd's udp-port follows its port)
};

struct NfsDaemon {
  std::string_view section;    // nfs.conf section: "mountd"
  std::uint32_t rpc_program;   // 100005
  std::string_view service;    // berth's registry name for it: "nfs.mountd"
  std::string_view unit;       // the systemd unit to restart after changing the section
  Port port;                   // the static port berth recommends
  bool iana_port;              // `port` is IANA's assignment for this daemon
  bool dynamic_by_default;     // rpcbind places it on a dynamic port unless pinned
  NfsConfKey second;
};

inline constexpr NfsDaemon kNfsMountd{"mountd", 100005, "nfs.mountd", "nfs-mountd", 20048,
                                      true, true, {}};
inline constexpr NfsDaemon kNfsStatd{"statd", 100024, "nfs.statd", "rpc-statd", 32765,
                                     false, true, {"outgoing-port", 32766}};
inline constexpr NfsDaemon kNfsLockd{"lockd", 100021, "nfs.lockd", "rpc-statd", 32764,
                                     false, true, {"udp-port", 0}};
inline constexpr NfsDaemon kNfsd{"nfsd", 100003, "nfs", "nfs-server", 2049, true, false, {}};

// Every daemon above; the ones rpcbind places dynamically first, in the order the audit's
// advice lists them.
std::span<const NfsDaemon> NfsDaemons();

// The daemon serving ONC RPC program `rpc_program`; nullptr for any other program.
const NfsDaemon* FindNfsDaemon(std::uint32_t rpc_program);

// The section that pins `d` on `port`, one key per line: "[statd]\nport=32765\n
// outgoing-port=32766\n".
std::string NfsConfLines(const NfsDaemon& d, Port port);
inline std::string NfsConfLines(const NfsDaemon& d) { return NfsConfLines(d, d.port); }

}  // namespace berth

// The recorded dump directory (docs/recorded-hosts.md): the raw inputs of one scan, replayed
// through the same decoders a live scan uses (ReadHostPortConfig, DecodeDiagBatch,
// ResolveOwners). Shared by RecordedHost (reading) and RecordHost (writing); see those for
// the public API. Functions here are thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/error.h"
#include "core/socket.h"

namespace berth {

inline constexpr std::string_view kDumpFormat = "berth.host-dump/1";
inline constexpr std::size_t kDumpMaxFileBytes = std::size_t{256} << 20;  // 256 MiB

// What the `recording` file says was recorded.
struct DumpContents {
  bool all_states = false;  // false: only servers (TCP LISTEN, bound UDP) were dumped
  bool tcp = true;
  bool udp = true;
  bool owners = true;       // proc/ holds the owners
};

// Reads a whole regular file of at most `cap` bytes without ever blocking: a FIFO, device or
// socket is refused before it is read. Failure: the errno Error naming the path (kNotFound
// when absent), kInvalidArgument for a file that is not regular, kMalformed when over `cap`.
[[nodiscard]] Result<std::string> ReadRecordingFile(const std::string& path, std::size_t cap);

// Replays the dump in `dir`. Owners are read only when `resolve_owners` and recorded.
// Failure: kNotFound / kMalformed for a directory that is not a complete berth.host-dump/1
// recording (no `recording` or `hostname` file, a file of the wrong type or size); a table or
// owner file that cannot be decoded leaves the snapshot partial with a warning instead.
[[nodiscard]] Result<HostSnapshot> ReadRecordedDump(const std::string& dir, bool resolve_owners,
                                                    DumpContents* contents);

// Decodes concatenated sock_diag reply buffers (one or more dumps, each ending in
// NLMSG_DONE) into `snap.sockets`; what cannot be decoded becomes a warning naming `what`.
void ReplaySockDiag(std::string_view bytes, Protocol proto, std::string_view what,
                    HostSnapshot& snap);

}  // namespace berth

// RecordedHost: the HostSource of a recording instead of the live machine, so a scan taken
// elsewhere (or earlier) replays through the audit without root: a berth.scan/1 JSON file
// (`berth scan --json` output, src/host/scan_json_parse.h) or a recorded dump directory
// (docs/recorded-hosts.md, written by RecordHost in src/host/host_recorder.h).
// One thread per RecordedHost (like every HostSource).
#pragma once

#include <string>

#include "core/host_source.h"

namespace berth {

class RecordedHost final : public HostSource {
 public:
  // `path`: a regular file (read as berth.scan/1 JSON) or a directory (a recorded dump).
  // Nothing is read until Take.
  explicit RecordedHost(std::string path) : path_(std::move(path)) {}

  // Reads the recording (again on every call) and returns what `query` asks for: only
  // servers unless all_states, only the protocols asked for, owners only when
  // resolve_owners (processes that own none of the kept sockets are dropped). A recording
  // without owners gives owners_resolved = false and no owners. Asking for more than was
  // recorded (all states of a servers-only recording, a protocol not recorded) gives what
  // there is, partial, with a warning saying so.
  // Failure: kNotFound for a missing path; kInvalidArgument for a FIFO, device or socket
  // (never opened in a way that blocks); kMalformed for a file over 256 MiB, a document or
  // dump that is not a valid recording (the message names the file and the field).
  [[nodiscard]] Result<HostSnapshot> Take(const HostQuery& query) override;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Keeps in `snap` only what `query` asks for (see RecordedHost::Take), re-indexing owners.
// `recorded_all_states`: whether `snap` holds sockets in every state or only servers.
void FilterSnapshot(HostSnapshot& snap, const HostQuery& query, bool recorded_all_states);

}  // namespace berth

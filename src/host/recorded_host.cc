#include "host/recorded_host.h"

#include <sys/stat.h>

#include <cerrno>

#include <fmt/core.h>

#include "host/recorded_dump.h"
#include "host/scan_json_parse.h"

namespace berth {

void FilterSnapshot(HostSnapshot& snap, const HostQuery& query, bool recorded_all_states) {
  if (query.all_states && !recorded_all_states) {
    snap.partial = true;
    snap.warnings.push_back("the recording holds only servers (TCP LISTEN, bound UDP), not "
                            "sockets in every state: record again with all states");
  }
  // New index of each kept socket, or -1.
  std::vector<std::int64_t> socket_at(snap.sockets.size(), -1);
  std::vector<SocketRecord> sockets;
  for (std::size_t i = 0; i < snap.sockets.size(); ++i) {
    const SocketRecord& s = snap.sockets[i];
    const bool proto_ok = s.proto == Protocol::kTcp ? query.tcp : query.udp;
    if (!proto_ok || (!query.all_states && !s.is_server())) continue;
    socket_at[i] = static_cast<std::int64_t>(sockets.size());
    sockets.push_back(s);
  }
  snap.sockets = std::move(sockets);

  if (!query.resolve_owners || !snap.owners_resolved) {
    snap.owners.clear();
    snap.processes.clear();
    snap.owners_resolved = false;
    return;
  }
  std::vector<std::int64_t> process_at(snap.processes.size(), -1);
  std::vector<SocketOwner> owners;
  for (const SocketOwner& o : snap.owners) {
    if (o.socket >= socket_at.size() || socket_at[o.socket] < 0) continue;
    if (o.process >= process_at.size()) continue;
    process_at[o.process] = 0;  // kept; numbered below
    owners.push_back(SocketOwner{static_cast<std::uint32_t>(socket_at[o.socket]), o.process, o.fd});
  }
  std::vector<ProcessInfo> processes;
  for (std::size_t p = 0; p < snap.processes.size(); ++p) {
    if (process_at[p] < 0) continue;
    process_at[p] = static_cast<std::int64_t>(processes.size());
    processes.push_back(std::move(snap.processes[p]));
  }
  for (SocketOwner& o : owners) o.process = static_cast<std::uint32_t>(process_at[o.process]);
  // Sockets kept their relative order and processes theirs, so owners stay sorted.
  snap.owners = std::move(owners);
  snap.processes = std::move(processes);
}

Result<HostSnapshot> RecordedHost::Take(const HostQuery& query) {
  // stat, not open: a FIFO is refused without ever opening it.
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("no recording at {}: give a `berth scan --json` file or a "
                              "directory written by `berth scan --record`", path_));
    }
    return std::unexpected(ErrnoError(err, fmt::format("reading recording {}", path_)));
  }
  if (S_ISDIR(st.st_mode)) {
    DumpContents contents;
    HostSnapshot snap = BERTH_TRY(ReadRecordedDump(path_, query.resolve_owners, &contents));
    if ((query.tcp && !contents.tcp) || (query.udp && !contents.udp)) {
      snap.partial = true;
      snap.warnings.push_back(fmt::format("the recording {} holds no {} sockets", path_,
                                          contents.tcp ? "UDP" : "TCP"));
    }
    FilterSnapshot(snap, query, contents.all_states);
    return snap;
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is neither a regular file nor a directory (a FIFO, device or "
                            "socket is not a recording)", path_));
  }
  const std::string text = BERTH_TRY(ReadRecordingFile(path_, kScanJsonMaxBytes));
  ScanJsonInfo info;
  HostSnapshot snap = BERTH_TRY(ParseScanJson(text, path_, &info));
  FilterSnapshot(snap, query, info.all_states);
  return snap;
}

}  // namespace berth

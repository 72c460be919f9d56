// The cgroup v2 a pinned command runs in: "berth-pin.<berth pid>" (with ".n<netns inode>", and
// ".r<ports>" when berth added ports to ip_local_reserved_ports: "8080", "8080,8090") under
// the caller's own cgroup, so that under systemd it stays inside the unit's cgroup and dies
// with the unit. Removing it kills what is
// left in it (cgroup.kill) and removes the directory. A berth killed with SIGKILL leaves its
// directory behind: SweepStalePinCgroups, run by `berth pin` before it checks the port, kills and
// removes the cgroups whose berth is gone and returns what they had reserved. One thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "core/port.h"

namespace berth {

// The directory of the calling process's cgroup v2 (the cgroup2 mount plus the "0::" line of
// /proc/self/cgroup). Failure: kUnavailable when no cgroup2 hierarchy is mounted.
[[nodiscard]] Result<std::string> OwnCgroupDir();

class PinCgroup {
 public:
  // Creates the cgroup under OwnCgroupDir(). Failure: kPermissionDenied (not root, or the
  // caller's cgroup is not delegated), kUnavailable without cgroup v2.
  // `reserved`: the ports berth adds to ip_local_reserved_ports, recorded in the name.
  [[nodiscard]] static Result<PinCgroup> Create(const PortSet& reserved);
  PinCgroup(PinCgroup&& o) noexcept
      : path_(std::exchange(o.path_, {})), dir_(std::move(o.dir_)), procs_(std::move(o.procs_)) {}
  PinCgroup& operator=(PinCgroup&&) = delete;
  ~PinCgroup();

  const std::string& path() const { return path_; }
  int dir_fd() const { return dir_.get(); }
  // cgroup.procs opened for writing: a forked child writes "0" to it to move itself in.
  int procs_fd() const { return procs_.get(); }
  // Kills what is left in the cgroup and removes it; waits (bounded, a few seconds) until it
  // is empty. Failure: the errno Error naming the directory. Idempotent.
  [[nodiscard]] Result<void> Remove();

 private:
  PinCgroup() = default;
  std::string path_;
  UniqueFd dir_, procs_;
};

struct StalePin {
  std::string path;
  pid_t owner = 0;                // the berth that created it, no longer running
  PortSet reserved;               // the ports it had added to ip_local_reserved_ports
  bool removed = false;           // false: still there (the error is in `problem`)
  std::string problem;
};
// Finds "berth-pin.PID[.nNETNS][.rPORTS]" cgroups under OwnCgroupDir() whose berth is gone and
// which were made in this network namespace (where their reservation is), kills what runs in
// them and removes them. An empty result when there is nothing to do (or no cgroup v2).
std::vector<StalePin> SweepStalePinCgroups();

// Parses a pin cgroup's directory name: the owner pid, its network namespace and the reserved
// ports. nullopt when it is not one. Pure.
struct PinCgroupName {
  pid_t owner = 0;
  std::optional<std::uint64_t> netns;  // the inode of the berth's network namespace
  PortSet reserved;  // empty: none
};
// The inode of this process's network namespace (/proc/self/ns/net); 0 when unknown.
std::uint64_t OwnNetns();
std::optional<PinCgroupName> ParsePinCgroupName(std::string_view name);

}  // namespace berth

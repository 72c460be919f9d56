// Confirm-or-revert for `berth firewall --apply --confirm-within`: after loading rules, a
// detached watchdog process restores the rules of before that apply unless the apply is
// confirmed in time (like a router's `commit confirmed`). The state lives in the state
// directory: <tool>.pending (the apply waiting for confirmation: "<id> <deadline>") and
// <tool>.revert (what the last watchdog did). One watchdog per tool and state directory.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/error.h"
#include "host/firewall_apply.h"

namespace berth {

// Marks the last apply of `tool` as pending and starts this program again
// (/proc/self/exe) with `watchdog_args`, detached: its own session (setsid), stdin/stdout/stderr on /dev/null, in
// this process's network namespace, not a child of the caller once started. Returns the
// watchdog's pid. Failure: kConflict when an apply of `tool` is already pending; errno
// errors of fork/exec/files (nothing is left pending then).
[[nodiscard]] Result<int> StartRevertWatchdog(RulesTool tool, const ApplyOptions& options,
                                              std::chrono::seconds within,
                                              const std::vector<std::string>& watchdog_args);

// True when an apply of `tool` waits for confirmation in `options.state_dir`.
bool RevertPending(RulesTool tool, const ApplyOptions& options);

// Confirms the pending apply: the watchdog finds nothing to do and exits. Failure:
// kNotFound when nothing is pending (never applied with a deadline, already confirmed, or
// the watchdog already restored the rules: <tool>.revert says which).
[[nodiscard]] Result<void> ConfirmApply(RulesTool tool, const ApplyOptions& options);

enum class RevertOutcome : std::uint8_t { kConfirmed, kRestored };

// The watchdog's body: waits until the pending apply's deadline (returning early when it
// is confirmed), then restores the previous rules (RollbackFirewall) and records the
// outcome in <tool>.revert. Failure: kNotFound when nothing was pending at start; the
// rollback's error.
[[nodiscard]] Result<RevertOutcome> RunRevertWatchdog(RulesTool tool, const ApplyOptions& options);

}  // namespace berth

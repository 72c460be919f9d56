// Where the registry lives: --db, else $BERTH_DB, else /var/lib/berth/registry.db for root
// and $XDG_STATE_HOME/berth/registry.db (default ~/.local/state) for everyone else.
#pragma once

#include <string>

#include "base/error.h"

namespace berth::registry {

// `flag` is the --db value ("" when not given). Failure: kNotFound when neither
// XDG_STATE_HOME nor HOME is set for a non-root user (the message says to pass --db).
[[nodiscard]] Result<std::string> ResolveDbPath(const std::string& flag);

// True when the registry location was chosen explicitly (--db or BERTH_DB).
bool DbPathExplicit(const std::string& flag);

}  // namespace berth::registry

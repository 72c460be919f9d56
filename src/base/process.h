// Running a program to completion: argv with a PATH lookup and no shell, stdin from a file,
// stdout and stderr collected. Thread-safe (no shared state); blocks until the program exits.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace berth {

// The result of running a tool: exit status (-1 when killed or not started), its output.
struct ToolResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv (PATH lookup, no shell) with stdin from `stdin_path` ("" = /dev/null).
// Failure: kNotFound when the program is missing; otherwise the exit code is in the result.
[[nodiscard]] Result<ToolResult> RunTool(const std::vector<std::string>& argv,
                                         const std::string& stdin_path = "");

}  // namespace berth

// What berth lint's integration tests share: Augeas (augtool), an independent reader of the
// files berth lints.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/test_support.h"

namespace berth::test {

inline bool HaveAugtool() { return Run({"sh", "-c", "command -v augtool"}).exit_code == 0; }

// augtool's "PATH = VALUE" lines for `script` (lenses set with `set /augeas/load/...`, then
// `load` and `match`es), with the root `root` and no lens loaded otherwise. Expects augtool to
// succeed and every lens to have parsed its files (no /augeas//error).
inline std::vector<std::pair<std::string, std::string>> Augtool(const std::string& root,
                                                                const std::string& script) {
  auto aug = Run({"augtool", "--noload", "--noautoload", "-r", root}, script + "match /augeas//error\n");
  EXPECT_EQ(aug.exit_code, 0) << aug.err;
  EXPECT_THAT(aug.out, ::testing::Not(::testing::HasSubstr("/augeas/"))) << aug.out;
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream lines(aug.out);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t eq = line.find(" = ");
    if (eq != std::string::npos) out.emplace_back(line.substr(0, eq), line.substr(eq + 3));
  }
  return out;
}

}  // namespace berth::test

// ApplyEdits: only the edited spans change; a span that no longer holds what was read, or that
// overlaps an earlier edit, is skipped.
#include "lint/edit.h"

#include <gtest/gtest.h>

namespace berth::lint {
namespace {

TEST(ApplyEdits, KeepsEveryOtherByte) {
  const std::string text = "# comment\nport = 50051  # keep\n  - 2222:22\n";
  auto r = ApplyEdits(text, {Edit{17, "50051", "10722"}, Edit{35, "2222:22", "\"2222:22\""},
                             Edit{17, "50051", "10722"}});
  EXPECT_EQ(r.text, "# comment\nport = 10722  # keep\n  - \"2222:22\"\n");
  EXPECT_EQ(r.applied, 2u);  // the duplicate counts once
  EXPECT_EQ(r.skipped, 0u);
}

TEST(ApplyEdits, SkipsStaleAndOverlappingEdits) {
  auto r = ApplyEdits("abcdef", {Edit{1, "bc", "X"}, Edit{2, "cd", "Y"}, Edit{4, "zz", "Q"},
                                 Edit{9, "", "!"}});
  EXPECT_EQ(r.text, "aXdef");
  EXPECT_EQ(r.applied, 1u);
  EXPECT_EQ(r.skipped, 3u);
}

}  // namespace
}  // namespace berth::lint

// UnifiedDiff: the hunks diff -u writes for the same change (checked against GNU diff's
// output for these inputs), so that patch applies them; the real patch is run on berth's
// own output in tests/integration/lint_diff_test.cc.
#include "lint/unified_diff.h"

#include <gtest/gtest.h>

#include "lint/edit.h"

namespace berth::lint {
namespace {

std::string Diff(std::string_view before, std::vector<Edit> edits) {
  const EditResult r = ApplyEdits(before, std::move(edits));
  return UnifiedDiff("a/f", "b/f", before, r.applied_edits);
}

std::string Numbered(int from, int to) {
  std::string s;
  for (int i = from; i <= to; ++i) s += "line " + std::to_string(i) + "\n";
  return s;
}

TEST(UnifiedDiff, NoEditsNoDiff) { EXPECT_EQ(Diff("a\n", {}), ""); }

TEST(UnifiedDiff, OneEditWithThreeLinesOfContext) {
  const std::string text = Numbered(1, 4) + "port 50051\n" + Numbered(6, 10);
  const std::size_t at = text.find("50051");
  EXPECT_EQ(Diff(text, {Edit{at, "50051", "8080"}}),
            "--- a/f\n+++ b/f\n"
            "@@ -2,7 +2,7 @@\n"
            " line 2\n line 3\n line 4\n-port 50051\n+port 8080\n line 6\n line 7\n line 8\n");
}

TEST(UnifiedDiff, EditsOnOneLineAreOneChange) {
  const std::string text = "x a b y\n";
  EXPECT_EQ(Diff(text, {Edit{2, "a", "A"}, Edit{4, "b", "B"}}),
            "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x a b y\n+x A B y\n");
}

TEST(UnifiedDiff, AdjacentLinesAreOneChange) {
  // diff -u writes every old line of a run of changed lines, then every new one.
  EXPECT_EQ(Diff("a=1\nb=2\nc=3\n", {Edit{2, "1", "10"}, Edit{6, "2", "20"}}),
            "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n-a=1\n-b=2\n+a=10\n+b=20\n c=3\n");
}

TEST(UnifiedDiff, FarApartEditsAreTwoHunksCloseOnesOne) {
  const std::string text = Numbered(1, 20);
  const std::size_t l2 = text.find("line 2\n") + 5;
  const std::size_t l9 = text.find("line 9\n") + 5;
  const std::size_t l18 = text.find("line 18\n") + 5;
  // Lines 2 and 9 are 6 lines apart: their contexts touch, one hunk. 18 is far: a second.
  EXPECT_EQ(Diff(text, {Edit{l2, "2", "two"}, Edit{l9, "9", "nine"}, Edit{l18, "18", "x"}}),
            "--- a/f\n+++ b/f\n"
            "@@ -1,12 +1,12 @@\n line 1\n-line 2\n+line two\n line 3\n line 4\n line 5\n line 6\n"
            " line 7\n line 8\n-line 9\n+line nine\n line 10\n line 11\n line 12\n"
            "@@ -15,6 +15,6 @@\n line 15\n line 16\n line 17\n-line 18\n+line x\n line 19\n"
            " line 20\n");
}

TEST(UnifiedDiff, LastLineWithoutLineBreak) {
  EXPECT_EQ(Diff("a\nport 0", {Edit{7, "0", "8080"}}),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-port 0\n\\ No newline at end of file\n"
            "+port 8080\n\\ No newline at end of file\n");
  // Unchanged and last: marked once, as context.
  EXPECT_EQ(Diff("port 0\nend", {Edit{5, "0", "1"}}),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-port 0\n+port 1\n end\n\\ No newline at end of file\n");
}

TEST(UnifiedDiff, LineCountsFollowAReplacementThatAddsLines) {
  const std::string text = Numbered(1, 3) + Numbered(4, 12);
  const std::size_t l2 = text.find("line 2");
  const std::size_t l11 = text.find("line 11");
  EXPECT_EQ(Diff(text, {Edit{l2, "line 2", "line 2a\nline 2b"}, Edit{l11, "line 11", "eleven"}}),
            "--- a/f\n+++ b/f\n"
            "@@ -1,5 +1,6 @@\n line 1\n-line 2\n+line 2a\n+line 2b\n line 3\n line 4\n line 5\n"
            "@@ -8,5 +9,5 @@\n line 8\n line 9\n line 10\n-line 11\n+eleven\n line 12\n");
}

TEST(UnifiedDiff, CrLfLinesKeepTheirCarriageReturn) {
  EXPECT_EQ(Diff("port=0\r\nx=1\r\n", {Edit{5, "0", "80"}}),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-port=0\r\n+port=80\r\n x=1\r\n");
}

TEST(UnifiedDiff, InsertionIntoAnEmptyFile) {
  EXPECT_EQ(UnifiedDiff("a/f", "b/f", "", std::vector<Edit>{Edit{0, "", "x\n"}}),
            "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+x\n");
}

}  // namespace
}  // namespace berth::lint

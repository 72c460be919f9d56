// The command line about itself: parse errors in berth's format with "did you mean", -V, and
// the generated completions run in real bash, zsh and fish.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "registry/registry_test_util.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

using ::testing::HasSubstr;

TEST(CliMeta, ParseErrorsAreBerthErrorsWithDidYouMean) {
  auto cmd = RunBerth({"scna"});
  EXPECT_EQ(cmd.exit_code, 2);
  EXPECT_EQ(cmd.err,
            "berth: error: unknown command 'scna' (in 'berth')\n"
            "berth: did you mean 'scan'?\n"
            "berth: run 'berth --help' for its commands and options\n");
  auto sub = RunBerth({"group", "ad", "web"});
  EXPECT_EQ(sub.exit_code, 2);
  EXPECT_THAT(sub.err, HasSubstr("berth: error: unknown command 'ad' (in 'berth group')\n"
                                 "berth: did you mean 'add'?\n"));
  auto opt = RunBerth({"scan", "--prot", "22"});
  EXPECT_EQ(opt.exit_code, 2);
  EXPECT_THAT(opt.err, HasSubstr("berth: error: The following arguments were not expected"));
  EXPECT_THAT(opt.err, HasSubstr("(in 'berth scan')\nberth: did you mean '--port'?\n"));
  auto none = RunBerth({"scan", "--bogus"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.err, HasSubstr("berth: error: "));
  EXPECT_THAT(none.err, ::testing::Not(HasSubstr("did you mean")));
  EXPECT_THAT(none.err, HasSubstr("run 'berth scan --help'"));
  auto missing = RunBerth({"assign"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, ::testing::StartsWith("berth: error: "));
}

TEST(CliMeta, ShortVersionFlag) {
  auto v = RunBerth({"-V"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_THAT(v.out, ::testing::StartsWith("berth "));
  EXPECT_EQ(v.out, RunBerth({"--version"}).out);
}

// Help wraps to the terminal's width ($COLUMNS stands in for a terminal here); piped without
// COLUMNS it keeps whole lines (help2man and scripts read them).
TEST(CliMeta, HelpWrapsToTheTerminalWidth) {
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"--help"}, {"scan", "--help"}, {"assign", "--help"}, {"firewall", "--help"}}) {
    std::vector<std::string> argv = {"env", "COLUMNS=60", BerthBinary()};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    auto r = test::Run(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      std::size_t chars = 0;
      for (char c : line) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
      const bool one_word = line.find(' ', line.find_first_not_of(' ')) == std::string::npos;
      EXPECT_TRUE(chars <= 60 || one_word) << cmd[0] << ": " << chars << " columns: " << line;
    }
  }
  auto piped = test::Run({"env", "-u", "COLUMNS", BerthBinary(), "scan", "--help"});
  ASSERT_EQ(piped.exit_code, 0);
  EXPECT_THAT(piped.out, HasSubstr("Audit every socket on this host: who owns it, which port class it is in, what is wrong"));
}

class Completion : public ::testing::Test {
 protected:
  std::string Script(const std::string& shell) {
    auto r = RunBerth({"completion", shell});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::string path = dir_.File("berth." + shell);
    std::ofstream(path) << r.out;
    return path;
  }
  void RequireShell(const std::string& shell) {
    if (test::Run({"sh", "-c", "command -v " + shell}).exit_code != 0) {
      BERTH_MISSING_PEER(shell + " is not installed (scripts/install-deps test installs it)");
    }
  }
  TempDir dir_;
};

// COMP_WORDS for `line` (a trailing space starts a new, empty word), then the function.
std::string BashCompletes(const std::string& script, const std::string& line) {
  const std::string prog =
      "source '" + script + "'; read -ra COMP_WORDS <<< \"$1\"; [[ $1 == *' ' ]] && COMP_WORDS+=(''); "
      "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _berth; echo \"${COMPREPLY[*]}\"";
  auto r = test::Run({"bash", "-c", prog, "bash", line});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST_F(Completion, BashCompletesCommandsSubcommandsAndOptions) {
  const std::string s = Script("bash");
  EXPECT_EQ(BashCompletes(s, "berth sc"), "scan\n");
  EXPECT_EQ(BashCompletes(s, "berth scan --po"), "--port\n");
  EXPECT_EQ(BashCompletes(s, "berth group "), "add list --help\n");
  EXPECT_EQ(BashCompletes(s, "berth group add web --ra"), "--range\n");
  EXPECT_EQ(BashCompletes(s, "berth assign web --allow-"), "--allow-iana\n");
}

TEST_F(Completion, ZshCompletesThroughBashcompinit) {
  RequireShell("zsh");
  const std::string s = Script("zsh");
  auto r = test::Run({"zsh", "-c",
                "autoload -U compinit && compinit -u -d \"$2\"; source \"$1\"; setopt ksharrays; "
                "COMP_WORDS=(berth scan --po); COMP_CWORD=2; _berth; print -- ${COMPREPLY[@]}",
                "zsh", s, dir_.File("zcompdump")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "--port\n");
}

TEST_F(Completion, FishCompletesWithDescriptions) {
  RequireShell("fish");
  const std::string s = Script("fish");
  auto r = test::Run({"fish", "--no-config", "-c",
                "source $argv[1]; complete -C 'berth sc'; complete -C 'berth group add x --ra'",
                s});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::StartsWith("scan\tAudit every socket"));
  EXPECT_THAT(r.out, HasSubstr("\n--range\t"));
}

}  // namespace
}  // namespace berth::test

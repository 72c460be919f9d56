// Hostile input through the real binary: berth.toml files built to crash the TOML parser,
// files that are not files (/dev/zero, a FIFO), and registry text built to drive the
// terminal. Every case is an error (exit 2) or safe output, never a crash or a hang.
#include <sys/stat.h>

#include <fstream>

#include <fmt/core.h>
#include <gtest/gtest.h>

#include "base/text.h"
#include "emit/hostile_corpus.h"
#include "registry/registry_test_util.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

class HostileInput : public ::testing::Test {
 protected:
  // `berth ARGS --db DB` under `timeout`: a hang fails the test (exit -1 or 137) instead of
  // blocking it. The 120 s is a safety net, not a measurement.
  CommandResult Berth(std::vector<std::string> args) {
    std::vector<std::string> argv{"timeout", "-s", "KILL", "120", BerthBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--db");
    argv.push_back(db_);
    return test::Run(argv);
  }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_.File(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  TempDir dir_;
  std::string db_ = dir_.File("registry.db");
};

std::string Parts(int n) {
  std::string s = "a";
  for (int i = 1; i < n; ++i) s += ".a";
  return s;
}

// Before: SIGSEGV (stack overflow inside toml++) in plan, apply, import and firewall --from.
TEST_F(HostileInput, FortyThousandPartHeaderOrKeyIsAnErrorWithPosition) {
  const std::string header = Write("header.toml", "schema = 1\n[" + Parts(40000) + "]\n");
  const std::string key = Write("key.toml", "[[service]]\nname = \"a\"\n" + Parts(40000) + " = 1\n");
  for (const auto& [file, where] : {std::pair{header, ":2:"}, std::pair{key, ":3:"}}) {
    for (std::vector<std::string> cmd : {std::vector<std::string>{"plan", file},
                                         {"apply", file},
                                         {"import", file},
                                         {"firewall", "--from", file}}) {
      auto r = Berth(cmd);
      EXPECT_EQ(r.exit_code, 2) << cmd[0] << " " << file << ": " << r.err;
      EXPECT_NE(r.err.find(file + where), std::string::npos) << cmd[0] << ": " << r.err;
      EXPECT_NE(r.err.find("more than 32 dotted parts"), std::string::npos) << r.err;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(db_));
}

// Before: /dev/zero was read until memory ran out.
TEST_F(HostileInput, DevZeroIsRefused) {
  for (std::vector<std::string> cmd : {std::vector<std::string>{"plan", "/dev/zero"},
                                       {"import", "/dev/zero"},
                                       {"firewall", "--from", "/dev/zero"}}) {
    auto r = Berth(cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd[0] << ": " << r.err;
    EXPECT_NE(r.err.find("/dev/zero: it is a character device"), std::string::npos) << r.err;
  }
}

// Before: open() of a FIFO with no writer blocked for ever.
TEST_F(HostileInput, FifoIsRefusedPromptly) {
  const std::string fifo = dir_.File("fifo.toml");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (std::vector<std::string> cmd : {std::vector<std::string>{"plan", fifo},
                                       {"apply", fifo},
                                       {"firewall", "--from", fifo}}) {
    auto r = Berth(cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd[0] << " (exit -1 or 137: killed by the safety timeout): " << r.err;
    EXPECT_NE(r.err.find("a FIFO"), std::string::npos) << r.err;
  }
}

// True when `s` is valid UTF-8 with no C0 control but '\n', no DEL and no C1 control.
::testing::AssertionResult TerminalClean(const std::string& what, std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = DecodeUtf8(s, i, cp);
    if (n == 0) return ::testing::AssertionFailure() << what << ": invalid UTF-8 at byte " << i;
    if ((cp < 0x20 && cp != '\n') || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      return ::testing::AssertionFailure()
             << what << ": control character U+" << fmt::format("{:04X}", static_cast<unsigned>(cp))
             << " at byte " << i << " in:\n" << s.substr(i > 80 ? i - 80 : 0, 160);
    }
    i += n;
  }
  return ::testing::AssertionSuccess();
}

// A registry holding the hostile corpus (as an older berth or another writer of the
// database may have left it), shown through every text output.
// Before: list, show and plan printed it raw (an owner "o\e]0;PWNED\a\e[2J" retitled and
// cleared the terminal; U+009B passed as CSI).
TEST_F(HostileInput, RegistryTextNeverReachesTheTerminalRaw) {
  std::vector<std::string> corpus = HostileCorpus(dir_.File("pwned"));
  corpus.push_back("o\x1b]0;PWNED\x07\x1b[2J");
  corpus.push_back("csi \xc2\x9b" "2J raw \x9b" "2J nel \xc2\x85");
  corpus.push_back(std::string(100000, 'B'));
  std::vector<Service> services = HostileServices(corpus, "default");
  {
    auto store = OpenOrDie(db_);
    ASSERT_NE(store, nullptr);
    for (const Service& s : services) {
      registry::ServiceRecord rec;
      rec.service = s;
      rec.reason = corpus[s.port % corpus.size()];
      auto claimed = store->ClaimService(rec);
      ASSERT_TRUE(claimed) << claimed.error().message;
    }
  }
  auto list = Berth({"list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(TerminalClean("list", list.out + list.err));
  for (const Service& s : services) {
    auto show = Berth({"show", s.name});
    ASSERT_EQ(show.exit_code, 0) << show.err;
    EXPECT_TRUE(TerminalClean("show " + s.name, show.out + show.err));
    EXPECT_LT(show.out.size(), 20000u) << "a long value is cut, not echoed whole";
  }
  // plan: every service's owner changes, and the removed ones are listed.
  std::string file = "schema = 1\n";
  for (std::size_t i = 0; i < services.size(); i += 2) {
    file += fmt::format("[[service]]\nname = \"{}\"\nport = {}\nproto = \"{}\"\nowner = \"x\"\n",
                        services[i].name, services[i].port, ServiceProtoName(services[i].proto));
  }
  auto plan = Berth({"plan", Write("plan.toml", file)});
  ASSERT_EQ(plan.exit_code, 1) << plan.err;  // 1: changes to show
  EXPECT_NE(plan.out.find("owner '"), std::string::npos) << plan.out;
  EXPECT_TRUE(TerminalClean("plan", plan.out + plan.err));
}

// Input echoed in an error message: escaped and cut, never raw, never 10 MB.
TEST_F(HostileInput, ErrorMessagesEchoInputSafely) {
  for (const std::string& name : {std::string("o\x1b]0;PWNED\x07\x1b[2J"), std::string("a\xc2\x9b" "2J"),
                                  std::string(100'000, 'N') + "\x1b"}) {
    auto r = Berth({"assign", name});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(TerminalClean("assign error", r.out + r.err));
    EXPECT_LT(r.err.size(), 20000u);
    auto s = Berth({"show", name});
    EXPECT_EQ(s.exit_code, 2);
    EXPECT_TRUE(TerminalClean("show error", s.out + s.err));
    EXPECT_LT(s.err.size(), 20000u);
  }
  EXPECT_FALSE(std::filesystem::exists(db_));
}

// Before: invalid UTF-8 and control characters from the command line were stored, and then
// the JSON and TOML exports broke (the TOML export was refused by berth's own plan).
TEST_F(HostileInput, InvalidTextOnTheCommandLineIsRefused) {
  for (std::vector<std::string> flags : {std::vector<std::string>{"--description", "d\xff"},
                                         {"--owner", "o\x1b[2J"},
                                         {"--tag", "t\xc2\x9b"},
                                         {"--tag", "ok", "--tag", "line\nbreak"},
                                         {"--owner", std::string(2000, 'o')}}) {
    std::vector<std::string> args{"assign", "web"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = Berth(args);
    EXPECT_EQ(r.exit_code, 2) << flags[0] << ": " << r.err;
    EXPECT_NE(r.err.find("free text is valid UTF-8 without control characters"), std::string::npos)
        << r.err;
    EXPECT_TRUE(TerminalClean("assign error", r.err));
  }
  auto list = Berth({"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out.find("\"web\""), std::string::npos) << "nothing was stored: " << list.out;
  // Valid non-ASCII text is kept, and round-trips through export and import.
  auto ok = Berth({"assign", "web", "--owner", "\xc3\xa9quipe", "--tag", "caf\xc3\xa9"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  auto exported = Berth({"export", "--format", "toml"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto plan = Berth({"plan", Write("round.toml", exported.out)});
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("no changes"), std::string::npos) << plan.out;
}

TEST_F(HostileInput, InvalidTextInBerthTomlIsRefusedWithPosition) {
  const std::string file = Write("bad.toml", "[[service]]\nname = \"a\"\nowner = \"o\\u001b[2J\"\n");
  auto r = Berth({"apply", file});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(file + ":3:9: owner"), std::string::npos) << r.err;
  EXPECT_TRUE(TerminalClean("apply error", r.err));
  EXPECT_FALSE(std::filesystem::exists(db_));
  const std::string bom = Write("bom.toml", "\xEF\xBB\xBF[[service]]\nname = \"a\"\nport = 5000\n");
  auto b = Berth({"plan", bom});
  EXPECT_EQ(b.exit_code, 1) << b.err;  // plan: 1 = the file would change the registry
  EXPECT_NE(b.out.find("+ service a"), std::string::npos) << b.out << b.err;
}

TEST_F(HostileInput, BadSourcesAndExportUnsafeNamesAreRefusedAtInput) {
  const std::string file =
      Write("src.toml", "[[service]]\nname = \"a\"\nport = 5000\nsources = [\"$(touch /tmp/pwned)\", \"10.0.0.0/33\"]\n");
  for (const char* cmd : {"apply", "import", "plan"}) {
    auto r = Berth({cmd, file});
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find(file + ":4:12: invalid source"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(db_));
  auto a = Berth({"assign", "1abc"});
  EXPECT_EQ(a.exit_code, 2);
  EXPECT_NE(a.err.find("does not start with a letter"), std::string::npos) << a.err;
  auto n = Write("name.toml", "[[service]]\nname = \"1abc\"\nport = 5000\n");
  auto b = Berth({"apply", n});
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_NE(b.err.find(n + ":2:8:"), std::string::npos) << b.err;
  EXPECT_FALSE(std::filesystem::exists(db_));
}

}  // namespace
}  // namespace berth::test

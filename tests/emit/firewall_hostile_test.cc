// Item 5 of docs/enforce.md: the hostile corpus through every firewall format, checked by
// the real consumer where one runs here (nft -c, iptables-restore --test, sh, ufw --dry-run,
// firewall-offline-cmd, python's XML parser) and by structure: the rule text outside
// comments and literals is byte-identical to the rules for the same services with benign text.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "emit/firewall.h"
#include "emit/firewall_quote.h"
#include "emit/hostile_corpus.h"
#include "emit/render_util.h"
#include "support/test_support.h"

namespace berth {
namespace {

using test::Run;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-fw-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)test::Run({"rm", "-rf", path_}); }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& data) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }

 private:
  std::string path_;
};

using test::FirewallText;

// The lines that are not '#' comments.
std::string Uncommented(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("#")) continue;
    out += line + "\n";
  }
  return out;
}

class FirewallHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    marker_ = dir_.path() + "/pwned";
    corpus_ = test::HostileCorpus(marker_);
    hostile_ = test::HostileServices(corpus_);
    benign_ = test::Benign(hostile_);
  }
  void TearDown() override { EXPECT_FALSE(test::Exists(marker_)) << "an injection ran"; }

  TempDir dir_;
  std::string marker_;
  std::vector<std::string> corpus_;
  std::vector<Service> hostile_, benign_;
};

TEST_F(FirewallHostile, EveryLineOfEveryFormatIsOneLine) {
  for (auto f : {FirewallFormat::kNft, FirewallFormat::kIptables, FirewallFormat::kIp6tables,
                 FirewallFormat::kFirewalld, FirewallFormat::kUfw, FirewallFormat::kPowershell}) {
    const std::string h = FirewallText(f, hostile_), b = FirewallText(f, benign_);
    // Same number of lines: no free text added a line break anywhere.
    EXPECT_EQ(std::count(h.begin(), h.end(), '\n'), std::count(b.begin(), b.end(), '\n'))
        << FirewallFormatName(f);
    EXPECT_EQ(h.find('\0'), std::string::npos) << FirewallFormatName(f);
    EXPECT_EQ(h.find('\r'), std::string::npos) << FirewallFormatName(f);
    EXPECT_EQ(h.find("\xe2\x80\xa8"), std::string::npos) << FirewallFormatName(f);
  }
}

TEST_F(FirewallHostile, RuleTextOutsideCommentsIsUnchanged) {
  for (auto f : {FirewallFormat::kNft, FirewallFormat::kIptables, FirewallFormat::kIp6tables,
                 FirewallFormat::kUfw}) {
    EXPECT_EQ(Uncommented(FirewallText(f, hostile_)), Uncommented(FirewallText(f, benign_)))
        << FirewallFormatName(f);
  }
}

TEST_F(FirewallHostile, NftAndIptablesAcceptTheRulesInANamespace) {
  BERTH_REQUIRE_ROOT();
  auto ns = test::Netns::Create("fwhostile");
  ASSERT_TRUE(ns);
  const std::string nft = dir_.Write("rules.nft", FirewallText(FirewallFormat::kNft, hostile_));
  auto r = ns->Exec({"nft", "-c", "-f", nft});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = ns->Exec({"nft", "-f", nft});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = ns->Exec({"nft", "list", "tables"});
  EXPECT_EQ(r.out, "table inet berth\n");  // no injected table
  r = ns->Exec({"nft", "-j", "list", "ruleset"});
  auto doc = nlohmann::json::parse(r.out);
  int rules = 0;
  for (const auto& item : doc["nftables"]) rules += item.contains("rule");
  EXPECT_EQ(rules, 10);
  for (auto [fmt, tool] : {std::pair{FirewallFormat::kIptables, "iptables-restore"},
                           std::pair{FirewallFormat::kIp6tables, "ip6tables-restore"}}) {
    const std::string file = dir_.Write(tool, FirewallText(fmt, hostile_));
    r = ns->Exec({tool, "--test", file});
    EXPECT_EQ(r.exit_code, 0) << tool << ": " << r.err;
  }
}

TEST_F(FirewallHostile, HostileGroupStaysInCommentsAndLiterals) {
  const std::string group = corpus_[0] + corpus_[6] + corpus_[14];
  auto services = test::HostileServices(corpus_, group);
  FirewallOptions o;
  o.group = group;
  for (auto f : {FirewallFormat::kNft, FirewallFormat::kIptables, FirewallFormat::kUfw,
                 FirewallFormat::kPowershell, FirewallFormat::kFirewalld}) {
    const std::string out = FirewallText(f, services, o);
    EXPECT_EQ(out.find("\nline2"), std::string::npos) << FirewallFormatName(f);
  }
  const std::string ipt = FirewallText(FirewallFormat::kIptables, services, o);
  EXPECT_NE(ipt.find("--comment \"berth:__touch_"), std::string::npos);  // SafeToken
  if (test::IsRoot()) {
    auto ns = test::Netns::Create("fwgroup");
    ASSERT_TRUE(ns);
    auto r = ns->Exec({"nft", "-c", "-f", dir_.Write("g.nft", FirewallText(FirewallFormat::kNft, services, o))});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = ns->Exec({"iptables-restore", "--test", dir_.Write("g.ipt", ipt)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
}

// Runs the ufw script with a stand-in `ufw` that records its argv, one NUL-terminated
// argument a line; then hands each recorded command to the real ufw --dry-run.
TEST_F(FirewallHostile, UfwScriptRunsWithArgumentsAsData) {
  const std::string group = corpus_[2] + corpus_[3];  // quotes of both kinds
  auto services = test::HostileServices(corpus_, group);
  FirewallOptions o;
  o.group = group;
  const std::string script = dir_.Write("ufw.sh", FirewallText(FirewallFormat::kUfw, services, o));
  const std::string bin = dir_.path() + "/bin";
  ASSERT_EQ(test::Run({"mkdir", bin}).exit_code, 0);
  const std::string log = dir_.path() + "/ufw.log";
  dir_.Write("bin/ufw", "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\" >> '" + log +
                            "'; done\nprintf '\\n' >> '" + log + "'\n");
  ASSERT_EQ(test::Run({"chmod", "+x", bin + "/ufw"}).exit_code, 0);
  auto r = test::Run({"env", "PATH=" + bin + ":/usr/bin:/bin", "sh", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(log, std::ios::binary);
  std::vector<std::vector<std::string>> calls;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> argv;
    std::string arg;
    for (char c : line) {
      if (c == '\0') {
        argv.push_back(arg);
        arg.clear();
      } else {
        arg += c;
      }
    }
    calls.push_back(argv);
  }
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[0], (std::vector<std::string>{"default", "deny", "incoming"}));
  for (std::size_t i = 1; i < calls.size(); ++i) {
    ASSERT_GE(calls[i].size(), 2u);
    EXPECT_EQ(calls[i][calls[i].size() - 2], "comment");
    EXPECT_EQ(calls[i].back(), "berth:" + SafeToken(group, 48));  // one argument, inert
  }
  if (test::IsRoot() && std::system("command -v ufw >/dev/null 2>&1") == 0) {
    auto ns = test::Netns::Create("fwufw");
    ASSERT_TRUE(ns);
    for (const auto& call : calls) {
      std::vector<std::string> argv{"ufw", "--dry-run"};
      argv.insert(argv.end(), call.begin(), call.end());
      r = ns->Exec(argv);
      EXPECT_EQ(r.exit_code, 0) << call[0] << ": " << r.err;
    }
  }
}

// The firewalld script against firewall-offline-cmd in a scratch configuration directory,
// then every service XML through python's parser: descriptions come back as text.
TEST_F(FirewallHostile, FirewalldScriptAndServiceXml) {
  const std::string script = dir_.Write("firewalld.sh", FirewallText(FirewallFormat::kFirewalld, hostile_));
  auto r = test::Run({"sh", "-n", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (std::system("command -v firewall-offline-cmd >/dev/null 2>&1") != 0) {
    BERTH_MISSING_PEER("firewall-offline-cmd (package firewalld) is not installed");
  }
  const std::string conf = dir_.path() + "/firewalld";
  ASSERT_EQ(test::Run({"mkdir", "-p", conf}).exit_code, 0);
  (void)test::Run({"cp", "/etc/firewalld/firewalld.conf", conf + "/"});
  r = test::Run({"env", "BERTH_FIREWALLD_OFFLINE=1", "BERTH_FIREWALLD_DIR=" + conf, "sh", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::Run({"firewall-offline-cmd", "--system-config", conf, "--check-config"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = test::Run({"firewall-offline-cmd", "--system-config", conf, "--zone=public", "--list-services"});
  for (const Service& s : hostile_) {
    if (s.sources.empty()) {
      std::string name = "berth-" + s.name;
      std::replace(name.begin(), name.end(), '.', '_');
      EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
    }
  }
  const std::string py =
      "import json,sys,glob,xml.etree.ElementTree as ET\n"
      "out={}\n"
      "for p in sorted(glob.glob(sys.argv[1]+'/services/*.xml')):\n"
      "  t=ET.parse(p).getroot()\n"
      "  out[t.findtext('short')]={'description':t.findtext('description') or '',"
      "'ports':[(e.get('protocol'),e.get('port')) for e in t.findall('port')],"
      "'children':[c.tag for c in t]}\n"
      "print(json.dumps(out))\n";
  r = test::Run({"python3", "-c", py, conf});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc.size(), hostile_.size());
  for (const Service& s : hostile_) {
    const auto& e = doc.at("berth " + s.name);
    std::string desc = s.description + " (owner: " + s.owner + ")";
    for (const std::string& t : s.tags) desc += " [" + t + "]";
    EXPECT_EQ(e["description"].get<std::string>(), CommentText(desc)) << s.name;
    // short, description, and one port element a protocol: nothing injected.
    EXPECT_EQ(e["children"].size(), 3u + (s.proto == ServiceProto::kBoth ? 1u : 0u)) << s.name;
  }
}

// A strict PowerShell tokenizer for what berth writes: outside single-quoted literals only
// letters, digits, blanks and - $ | : , . = / _ may appear, and '#' starts a comment line.
struct PsScan {
  bool ok = true;
  std::string error;
  std::string code;                  // the script with every literal replaced by '?'
  std::vector<std::string> literals;  // decoded
};

std::size_t PsQuoteLen(std::string_view s, std::size_t i) {
  if (i >= s.size()) return 0;
  if (s[i] == '\'') return 1;
  for (std::string_view q : {"\xe2\x80\x98", "\xe2\x80\x99", "\xe2\x80\x9a", "\xe2\x80\x9b"}) {
    if (s.substr(i, 3) == q) return 3;
  }
  return 0;
}

PsScan ScanPowerShell(std::string_view s) {
  PsScan r;
  bool line_start = true;
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (line_start && c == '#') {
      const std::size_t nl = s.find('\n', i);
      r.code += "#\n";
      i = nl == std::string_view::npos ? s.size() : nl + 1;
      continue;
    }
    line_start = c == '\n';
    if (std::size_t q = PsQuoteLen(s, i); q > 0) {
      std::string lit;
      i += q;
      for (;;) {
        if (i >= s.size()) return {false, "unterminated literal", r.code, r.literals};
        if (std::size_t q2 = PsQuoteLen(s, i); q2 > 0) {
          const std::size_t q3 = i + q2 < s.size() ? PsQuoteLen(s, i + q2) : 0;
          if (q3 > 0) {
            lit += s.substr(i, q2);  // doubled quote: one literal quote
            i += q2 + q3;
            continue;
          }
          i += q2;
          break;
        }
        lit += s[i++];
      }
      r.literals.push_back(lit);
      r.code += '?';
      continue;
    }
    const bool allowed = std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '\n' ||
                         std::string_view("-$|:,.=/_").find(c) != std::string_view::npos;
    if (!allowed) {
      return {false, "character '" + std::string(1, c) + "' outside a literal at " + std::to_string(i),
              r.code, r.literals};
    }
    r.code += c;
    ++i;
  }
  return r;
}

TEST_F(FirewallHostile, PowerShellUntrustedTextOnlyInSingleQuotedLiterals) {
  const std::string group = corpus_[14] + corpus_[15];  // smart quotes, Invoke-Expression
  auto hostile = test::HostileServices(corpus_, group);
  auto benign = test::Benign(test::HostileServices(corpus_, "x"));
  FirewallOptions ho, bo;
  ho.group = group;
  bo.group = "x";
  const PsScan h = ScanPowerShell(FirewallText(FirewallFormat::kPowershell, hostile, ho));
  const PsScan b = ScanPowerShell(FirewallText(FirewallFormat::kPowershell, benign, bo));
  ASSERT_TRUE(h.ok) << h.error;
  ASSERT_TRUE(b.ok) << b.error;
  EXPECT_EQ(h.code, b.code);  // same statements, same arguments; only literal contents differ
  ASSERT_EQ(h.literals.size(), b.literals.size());
  EXPECT_NE(std::find(h.literals.begin(), h.literals.end(), CommentText("berth:" + group)),
            h.literals.end());
  for (const Service& s : hostile) {
    std::string desc = s.description + " (owner: " + s.owner + ")";
    for (const std::string& t : s.tags) desc += " [" + t + "]";
    EXPECT_NE(std::find(h.literals.begin(), h.literals.end(), CommentText(desc)), h.literals.end())
        << s.name;
  }
}

}  // namespace
}  // namespace berth

#include "cli/meta.h"

#include <algorithm>
#include <vector>

#include <fmt/core.h>

#include "base/text.h"
#include "cli/output.h"

namespace berth::cli {
namespace {

// Edits between a and b, a swap of two neighbours counting as one ("--prot" is one from
// "--port"): optimal string alignment.
std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The names within two edits of `word` (or that start with it), nearest first.
std::vector<std::string> Nearest(std::string_view word, const std::vector<std::string>& names) {
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const std::string& n : names) {
    const std::size_t d = EditDistance(word, n);
    if (d <= 2 || (word.size() >= 3 && n.starts_with(word))) scored.emplace_back(d, n);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;  // the nearest only: "--port", not also "--from"
  for (auto& [d, n] : scored) {
    if (out.size() < 3 && d == scored.front().first) out.push_back(std::move(n));
  }
  return out;
}

std::vector<const CLI::App*> Subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); });
}

std::vector<std::string> SubcommandNames(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::App* s : Subcommands(app)) out.push_back(s->get_name());
  return out;
}

std::vector<std::string> OptionNames(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::Option* o : app.get_options()) {
    for (const std::string& l : o->get_lnames()) out.push_back("--" + l);
    for (const std::string& s : o->get_snames()) out.push_back("-" + s);
  }
  return out;
}

std::string CommandPath(const CLI::App& app) {
  std::string path = app.get_name();
  for (const CLI::App* p = app.get_parent(); p != nullptr; p = p->get_parent()) {
    path = p->get_name() + " " + path;
  }
  return path;
}

// The innermost subcommand named on the command line; `last` becomes the index of the word
// that named it (0 for none).
const CLI::App* Deepest(const CLI::App& app, int argc, char** argv, int& last) {
  const CLI::App* at = &app;
  last = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word.starts_with("-")) continue;
    const CLI::App* next = nullptr;
    for (const CLI::App* s : Subcommands(*at)) {
      if (s->get_name() == word) next = s;
    }
    if (next == nullptr) continue;
    at = next;
    last = i;
  }
  return at;
}

// First sentence of a help text, one line, for a completion description.
std::string Brief(const std::string& text) {
  std::string s = text.substr(0, std::min(text.find(". "), text.find('\n')));
  if (s.size() > 70) s = s.substr(0, 67) + "...";
  return s;
}

void Walk(const CLI::App& app, const std::vector<std::string>& path,
          const std::function<void(const CLI::App&, const std::vector<std::string>&)>& visit) {
  visit(app, path);
  for (const CLI::App* s : Subcommands(app)) {
    std::vector<std::string> p = path;
    p.push_back(s->get_name());
    Walk(*s, p, visit);
  }
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

// The words one may type after `path`: its subcommands and its options (with --help).
std::vector<std::string> Words(const CLI::App& app) {
  std::vector<std::string> w = SubcommandNames(app);
  for (const std::string& o : OptionNames(app)) {
    if (o.starts_with("--")) w.push_back(o);
  }
  return w;
}

std::string Bash(const CLI::App& root) {
  std::string cases;
  // Deepest paths first, so that "group add" is tried before "group".
  std::vector<std::pair<std::vector<std::string>, std::string>> entries;
  Walk(root, {}, [&](const CLI::App& a, const std::vector<std::string>& path) {
    entries.emplace_back(path, Join(Words(a), " "));
  });
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [path, words] : entries) {
    const bool has_subs = !path.empty() && [&] {
      const CLI::App* a = &root;
      for (const auto& p : path) a = a->get_subcommand(p);
      return !Subcommands(*a).empty();
    }();
    std::string pattern;
    if (path.empty()) pattern = "\"\"";
    else if (path.size() == 1 && has_subs) pattern = fmt::format("\"{}\"", path[0]);
    else if (path.size() == 1) pattern = fmt::format("\"{}\"|\"{} \"*", path[0], path[0]);
    else pattern = fmt::format("\"{}\"*", Join(path, " "));
    cases += fmt::format("    {}) words=({}) ;;\n", pattern, words);
  }
  return fmt::format(
      "# bash completion for berth: generated by 'berth completion bash' from its --help tree.\n"
      "_berth() {{\n"
      "  local cur=${{COMP_WORDS[COMP_CWORD]}} path=\"\" i w\n"
      "  local -a words=()\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case ${{COMP_WORDS[i]}} in -*) ;; *) path+=\"${{path:+ }}${{COMP_WORDS[i]}}\" ;; esac\n"
      "  done\n"
      "  case \"$path\" in\n"
      "{}"
      "  esac\n"
      "  COMPREPLY=()\n"
      "  # Filtered here, not by compgen: zsh's emulation of compgen ignores a '-' prefix.\n"
      "  for w in \"${{words[@]}}\"; do [[ $w == \"$cur\"* ]] && COMPREPLY+=(\"$w\"); done\n"
      "}}\n"
      "complete -F _berth berth\n",
      cases);
}

std::string Zsh(const CLI::App& root) {
  std::string body = Bash(root);
  // zsh runs the same function through bashcompinit: one generator, one behaviour.
  return "# zsh completion for berth: generated by 'berth completion zsh'. Source it after\n"
         "# compinit (source <(berth completion zsh)); it runs the bash function through zsh's\n"
         "# bashcompinit, so both shells complete the same words.\n"
         "autoload -U +X bashcompinit && bashcompinit\n" +
         body;
}

std::string FishQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string Fish(const CLI::App& root) {
  std::string out =
      "# fish completion for berth: generated by 'berth completion fish' from its --help tree.\n"
      "complete -c berth -f\n";
  Walk(root, {}, [&](const CLI::App& a, const std::vector<std::string>& path) {
    // The condition: every word of the path seen, and none of this command's subcommands yet.
    std::string cond;
    for (const auto& p : path) cond += (cond.empty() ? "" : "; and ") + ("__fish_seen_subcommand_from " + p);
    const auto subs = SubcommandNames(a);
    std::string here = cond;
    if (!subs.empty()) {
      here += (here.empty() ? "" : "; and ") + ("not __fish_seen_subcommand_from " + Join(subs, " "));
    }
    if (path.empty()) here = "__fish_use_subcommand";
    for (const CLI::App* s : Subcommands(a)) {
      out += fmt::format("complete -c berth -n {} -a {} -d {}\n", FishQuote(here),
                         s->get_name(), FishQuote(Brief(s->get_description())));
    }
    for (const CLI::Option* o : a.get_options()) {
      std::string flags;
      for (const std::string& l : o->get_lnames()) flags += " -l " + l;
      for (const std::string& s : o->get_snames()) flags += " -s " + s;
      if (flags.empty()) continue;
      out += fmt::format("complete -c berth -n {}{}{} -d {}\n",
                         FishQuote(cond.empty() ? "__fish_use_subcommand" : cond), flags,
                         o->get_items_expected_min() > 0 ? " -r" : "",
                         FishQuote(Brief(o->get_description())));
    }
  });
  return out;
}

}  // namespace

int PrintParseError(const CLI::App& app, int argc, char** argv, const CLI::ParseError& e) {
  int last = 0;
  const CLI::App* at = Deepest(app, argc, argv, last);
  const std::string where = CommandPath(*at);
  std::string what = e.what();
  std::string unknown_command;
  // A mistyped word: the nearest command (where one is expected) or option of that command.
  std::vector<std::string> guesses;
  const auto options = OptionNames(*at);
  const auto commands = SubcommandNames(*at);
  for (int i = last + 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    const std::string bare(word.substr(0, word.find('=')));
    const bool is_option = word.starts_with("-");
    // An unknown option, or an unknown word where a command is expected.
    if (!is_option && commands.empty()) continue;
    const auto& names = is_option ? options : commands;
    if (std::find(names.begin(), names.end(), bare) != names.end()) continue;
    if (!is_option && unknown_command.empty()) unknown_command = bare;
    for (std::string& g : Nearest(bare, names)) {
      if (std::find(guesses.begin(), guesses.end(), g) == guesses.end()) guesses.push_back(std::move(g));
    }
  }
  // CLI11 says "A subcommand is required" for a mistyped one: say which word was not one.
  if (!unknown_command.empty()) {
    what = fmt::format("unknown command '{}'", TerminalSafe(unknown_command, 64));
  }
  PrintError(fmt::format("{} (in '{}')", what, where));
  if (!guesses.empty()) {
    std::string list;
    for (const auto& g : guesses) list += (list.empty() ? "'" : "' or '") + g;
    fmt::print(stderr, "berth: did you mean {}'?\n", TerminalSafe(list));
  }
  fmt::print(stderr, "berth: run '{} --help' for its commands and options\n", where);
  return 2;
}

std::string CompletionScript(const CLI::App& app, std::string_view shell) {
  if (shell == "bash") return Bash(app);
  if (shell == "zsh") return Zsh(app);
  if (shell == "fish") return Fish(app);
  return {};
}

void AddCompletionCommand(CLI::App& app, int& exit_code) {
  auto shell = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "completion",
      "Print the shell completion script for bash, zsh or fish (generated from the same command "
      "tree as --help and the man page).");
  cmd->add_option("shell", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  cmd->footer(
      "Examples:\n"
      "  berth completion bash > /etc/bash_completion.d/berth\n"
      "  source <(berth completion zsh)        # in ~/.zshrc, after compinit\n"
      "  berth completion fish > ~/.config/fish/completions/berth.fish\n"
      "The Debian package installs all three.");
  cmd->callback([&app, shell, &exit_code] {
    WriteStdout(CompletionScript(app, *shell));
    exit_code = 0;
  });
}

namespace {

class Wrapping final : public CLI::Formatter {
 public:
  explicit Wrapping(std::size_t width) : width_(width) {}
  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode mode) const override {
    const std::string text = CLI::Formatter::make_help(app, std::move(name), mode);
    if (width_ == 0) return text;
    std::string out;
    std::size_t at = 0;
    while (at < text.size()) {
      std::size_t nl = text.find('\n', at);
      if (nl == std::string::npos) nl = text.size();
      const std::string_view line(text.data() + at, nl - at);
      out += WrapLine(line, width_, ContinuationIndent(line));
      if (nl < text.size()) out += '\n';
      at = nl + 1;
    }
    return out;
  }

 private:
  // A row "  -x,--name TYPE    description" continues under its description (after the first
  // run of two or more spaces past the indent); prose under its own indent.
  static std::size_t ContinuationIndent(std::string_view line) {
    std::size_t lead = 0;
    while (lead < line.size() && line[lead] == ' ') ++lead;
    const std::size_t gap = line.find("  ", lead);
    if (lead > 0 && gap != std::string_view::npos) {
      std::size_t col = gap;
      while (col < line.size() && line[col] == ' ') ++col;
      if (col < line.size() && col < 60) return col;
    }
    return lead;
  }
  std::size_t width_;
};

}  // namespace

std::shared_ptr<CLI::Formatter> WrappingFormatter(std::size_t width) {
  return std::make_shared<Wrapping>(width);
}

}  // namespace berth::cli

#include "support/powershell_tree.h"

#include <cstdint>
#include <cstdlib>
#include <memory>

#if BERTH_PS_GRAMMAR
#include <tree_sitter/api.h>
extern "C" const TSLanguage* tree_sitter_powershell(void);
#endif

namespace berth::test {

std::string PsCommand::Arg(std::string_view parameter) const {
  for (std::size_t i = 0; i + 1 < elements.size(); ++i) {
    if (elements[i] == parameter) return elements[i + 1];
  }
  return "";
}

bool PsCommand::Has(std::string_view parameter) const {
  for (const std::string& e : elements) {
    if (e == parameter) return true;
  }
  return false;
}

std::vector<PsCommand> PsParse::Named(std::string_view name) const {
  std::vector<PsCommand> out;
  for (const PsCommand& c : commands) {
    if (c.name == name) out.push_back(c);
  }
  return out;
}

namespace {

// The length of a quote character PowerShell accepts at s[i] (' or U+2018..U+201B), else 0.
std::size_t QuoteAt(std::string_view s, std::size_t i) {
  if (s[i] == '\'') return 1;
  if (i + 2 < s.size() && static_cast<unsigned char>(s[i]) == 0xE2 &&
      static_cast<unsigned char>(s[i + 1]) == 0x80) {
    const auto c = static_cast<unsigned char>(s[i + 2]);
    if (c >= 0x98 && c <= 0x9B) return 3;
  }
  return 0;
}

}  // namespace

bool VerbatimClosedForPowerShell(std::string_view token) {
  if (token.size() < 2 || token.front() != '\'' || token.back() != '\'') return false;
  const std::string_view body = token.substr(1, token.size() - 2);
  for (std::size_t i = 0; i < body.size();) {
    const std::size_t q = QuoteAt(body, i);
    if (q == 0) {
      ++i;
      continue;
    }
    // A quote inside must be followed at once by another: PowerShell reads the pair as one.
    if (i + q >= body.size()) return false;
    const std::size_t q2 = QuoteAt(body, i + q);
    if (q2 == 0) return false;
    i += q + q2;
  }
  return true;
}

std::string UnquoteVerbatim(std::string_view token) {
  if (token.size() < 2) return std::string(token);
  const std::string_view body = token.substr(1, token.size() - 2);
  std::string out;
  for (std::size_t i = 0; i < body.size();) {
    const std::size_t q = QuoteAt(body, i);
    if (q == 0) {
      out += body[i++];
      continue;
    }
    out += body.substr(i, q);
    i += q;
    if (i < body.size()) i += QuoteAt(body, i);  // the doubled one
  }
  return out;
}

#if BERTH_PS_GRAMMAR

bool HavePowerShellGrammar() { return true; }

namespace {

struct Walker {
  std::string_view src;
  PsParse& out;

  std::string Text(TSNode n) const {
    const std::uint32_t a = ts_node_start_byte(n), b = ts_node_end_byte(n);
    return std::string(src.substr(a, b - a));
  }

  void Walk(TSNode n) {
    const std::string_view type = ts_node_type(n);
    if (out.error.empty() && (ts_node_is_missing(n) || type == "ERROR")) {
      out.error = std::string(ts_node_is_missing(n) ? "MISSING " : "") + std::string(type) + " at byte " +
                  std::to_string(ts_node_start_byte(n)) + ": " + Text(n).substr(0, 80);
    }
    if (type == "command") {
      PsCommand c;
      TSNode name = ts_node_child_by_field_name(n, "command_name", 12);
      if (!ts_node_is_null(name)) c.name = Text(name);
      TSNode elems = ts_node_child_by_field_name(n, "command_elements", 16);
      if (!ts_node_is_null(elems)) {
        for (std::uint32_t i = 0; i < ts_node_named_child_count(elems); ++i) {
          TSNode e = ts_node_named_child(elems, i);
          if (std::string_view(ts_node_type(e)) == "command_argument_sep") continue;
          c.elements.push_back(Text(e));
        }
      }
      out.commands.push_back(std::move(c));
    } else if (type == "verbatim_string_characters") {
      out.verbatim.push_back(Text(n));
    } else if (type == "comment") {
      out.comments.push_back(Text(n));
    } else if (type == "variable") {
      out.variables.push_back(Text(n));
    } else if (type == "expandable_string_literal") {
      out.expandable.push_back(Text(n));
    }
    for (std::uint32_t i = 0; i < ts_node_child_count(n); ++i) Walk(ts_node_child(n, i));
  }
};

}  // namespace

PsParse ParsePowerShell(std::string_view script) {
  PsParse out;
  std::unique_ptr<TSParser, decltype(&ts_parser_delete)> parser(ts_parser_new(), ts_parser_delete);
  if (!ts_parser_set_language(parser.get(), tree_sitter_powershell())) {
    out.error = "the grammar's ABI does not match this libtree-sitter";
    return out;
  }
  std::unique_ptr<TSTree, decltype(&ts_tree_delete)> tree(
      ts_parser_parse_string(parser.get(), nullptr, script.data(), static_cast<std::uint32_t>(script.size())),
      ts_tree_delete);
  if (!tree) {
    out.error = "the parser gave no tree";
    return out;
  }
  const TSNode root = ts_tree_root_node(tree.get());
  char* shape = ts_node_string(root);
  out.shape = shape;
  std::free(shape);
  Walker{script, out}.Walk(root);
  out.ok = out.error.empty() && !ts_node_has_error(root);
  if (!out.ok && out.error.empty()) out.error = "the tree has an error node";
  return out;
}

#else

bool HavePowerShellGrammar() { return false; }

PsParse ParsePowerShell(std::string_view) {
  PsParse out;
  out.error = "no PowerShell grammar in this build: run scripts/install-deps test, then reconfigure";
  return out;
}

#endif

}  // namespace berth::test

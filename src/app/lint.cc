#include "app/lint.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

#include <fmt/core.h>

#include "base/file.h"
#include "core/service.h"
#include "lint/edit.h"
#include "lint/format.h"
#include "lint/line_reader.h"
#include "lint/rules.h"
#include "lint/unified_diff.h"

namespace berth::app {
namespace fs = std::filesystem;
namespace {

// One .gitignore pattern (the subset berth follows: comments, '!' negation, a trailing '/'
// for directories, patterns with a '/' anchored to the .gitignore's directory, "**").
struct IgnoreRule {
  std::string base;  // directory of the .gitignore, relative to the walk root ("" = root)
  std::string pattern;
  bool negate = false;
  bool dir_only = false;
  bool anchored = false;
};

bool Glob(const std::string& pattern, const std::string& text, bool pathname) {
  const int flags = pathname && pattern.find("**") == std::string::npos ? FNM_PATHNAME : 0;
  return ::fnmatch(pattern.c_str(), text.c_str(), flags) == 0;
}

std::string BaseName(const std::string& rel) {
  const std::size_t slash = rel.rfind('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

bool Ignored(const std::vector<IgnoreRule>& rules, const std::string& rel, bool is_dir) {
  bool ignored = false;
  for (const IgnoreRule& r : rules) {
    if (r.dir_only && !is_dir) continue;
    std::string sub = rel;
    if (!r.base.empty()) {
      if (!rel.starts_with(r.base + "/")) continue;
      sub = rel.substr(r.base.size() + 1);
    }
    const bool match = r.anchored ? Glob(r.pattern, sub, true) : Glob(r.pattern, BaseName(sub), false);
    if (match) ignored = !r.negate;
  }
  return ignored;
}

void LoadGitignore(const std::string& text, const std::string& base, std::vector<IgnoreRule>& rules) {
  auto lines = lint::SplitLines(text);
  if (!lines) return;  // an unreadable .gitignore ignores nothing
  for (const lint::Line& line : *lines) {
    std::string_view t = lint::Trim(line.text);
    if (t.empty() || t.front() == '#') continue;
    IgnoreRule r;
    r.base = base;
    if (t.front() == '!') {
      r.negate = true;
      t.remove_prefix(1);
    }
    if (!t.empty() && t.back() == '/') {
      r.dir_only = true;
      t.remove_suffix(1);
    }
    if (t.empty()) continue;
    r.anchored = t.find('/') != std::string_view::npos;
    if (!t.empty() && t.front() == '/') t.remove_prefix(1);
    r.pattern = std::string(t);
    rules.push_back(std::move(r));
  }
}

bool AnyGlob(const std::vector<std::string>& globs, const std::string& rel) {
  for (const std::string& g : globs) {
    if (Glob(g, rel, false) || Glob(g, BaseName(rel), false)) return true;
  }
  return false;
}

class Walker {
 public:
  Walker(const LintRequest& request, LintReport& report) : request_(request), report_(report) {}

  Result<void> Path(const std::string& path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      return Fail(ErrorCode::kNotFound, fmt::format("{}: no such file or directory", path));
    }
    if (fs::is_directory(st)) {
      std::vector<IgnoreRule> rules;
      return Directory(path, "", rules, 0);
    }
    return File(path, "", /*named=*/true);
  }

 private:
  Result<void> Directory(const std::string& root, const std::string& rel,
                         std::vector<IgnoreRule>& rules, int depth) {
    const std::string dir = rel.empty() ? root : Join(root, rel);
    const std::size_t rules_before = rules.size();
    if (request_.gitignore) {
      if (auto text = ReadSmallFile(Join(dir, ".gitignore"))) LoadGitignore(*text, rel, rules);
    }
    std::vector<fs::directory_entry> entries;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      entries.push_back(*it);
    }
    if (ec) {
      report_.errors.push_back({dir, ErrnoError(ec.value(), dir)});
      rules.resize(rules_before);
      return {};
    }
    std::sort(entries.begin(), entries.end());
    for (const fs::directory_entry& e : entries) {
      const std::string name = e.path().filename().string();
      const std::string child = rel.empty() ? name : rel + "/" + name;
      std::error_code sec;
      const fs::file_status st = e.symlink_status(sec);
      if (sec || fs::is_symlink(st)) continue;  // links are not followed: no loops, no escapes
      if (fs::is_directory(st)) {
        if (name == ".git" || Ignored(rules, child, true) || AnyGlob(request_.exclude, child)) continue;
        if (depth + 1 > kMaxLintDepth) {
          report_.errors.push_back({Join(root, child),
                                    Error{ErrorCode::kMalformed,
                                          fmt::format("deeper than {} directory levels: not read",
                                                      kMaxLintDepth)}});
          continue;
        }
        BERTH_TRY(Directory(root, child, rules, depth + 1));
      } else if (fs::is_regular_file(st)) {
        if (Ignored(rules, child, false)) continue;
        BERTH_TRY(File(Join(root, child), child, /*named=*/false));
      }
    }
    rules.resize(rules_before);
    return {};
  }

  Result<void> File(const std::string& path, const std::string& rel, bool named) {
    bool included = named;
    if (!named) {
      if (AnyGlob(request_.exclude, rel)) return {};
      if (!request_.include.empty()) {
        if (!AnyGlob(request_.include, rel)) return {};
        included = true;
      }
    }
    std::optional<lint::ConfigFormat> format = lint::DetectFormat(path, {});
    const bool sniff = !format && (path.ends_with(".conf") || included);
    if (!format && !sniff) return {};
    if (report_.files.size() + report_.errors.size() >= kMaxLintFiles) {
      return Fail(ErrorCode::kMalformed,
                  fmt::format("more than {} files to lint: name fewer paths or --exclude some",
                              kMaxLintFiles));
    }
    auto text = ReadSmallFile(path);
    if (!text) {
      report_.errors.push_back({path, text.error()});
      return {};
    }
    if (!format) format = lint::DetectFormat(path, *text);
    if (!format) {
      if (!included) return {};
      format = lint::ConfigFormat::kText;
    }
    auto decls = lint::ReadPortDecls(*format, path, *text);
    if (!decls) {
      report_.errors.push_back({path, decls.error()});
      return {};
    }
    report_.files.push_back(path);
    for (lint::PortDecl& d : *decls) report_.decls.push_back(std::move(d));
    return {};
  }

  static std::string Join(const std::string& a, const std::string& b) {
    if (a.empty()) return b;
    return a.back() == '/' ? a + b : a + "/" + b;
  }

  const LintRequest& request_;
  LintReport& report_;
};

lint::RuleContext RegistryContext(const std::vector<lint::PortDecl>& decls, registry::Store& store,
                                  LintReport& report) {
  lint::RuleContext ctx;
  std::set<std::string> names;
  for (const lint::PortDecl& d : decls) {
    if (!d.service.empty() && ValidateServiceName(d.service)) names.insert(d.service);
  }
  for (const std::string& name : names) {
    auto s = store.GetService(name);
    if (!s) {
      report.registry_error = s.error();
      return {};
    }
    if (*s) ctx.registry.emplace(name, (*s)->service);
  }
  return ctx;
}

}  // namespace

Result<LintReport> Lint(const LintRequest& request, registry::Store* store) {
  if (request.paths.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "no file or directory to lint");
  }
  std::optional<registry::Group> group;
  if (!request.group.empty()) {
    if (store == nullptr) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("group '{}': groups are kept in the registry, and none is in use",
                              request.group));
    }
    group = BERTH_TRY(store->GetGroup(request.group));
    if (!group) {
      return Fail(ErrorCode::kNotFound, fmt::format("group '{}' is not in the registry {}",
                                                    request.group, store->Location()));
    }
  }
  std::vector<lint::ProbedInstance> probed;
  if (!request.probe_file.empty()) {
    const std::string text = BERTH_TRY(ReadWholeFile(request.probe_file));
    probed = BERTH_TRY(lint::ParseProbeInstances(text, request.probe_file));
  }
  LintReport report;
  Walker walker(request, report);
  for (const std::string& path : request.paths) BERTH_TRY(walker.Path(path));
  lint::RuleContext ctx;
  if (store != nullptr) ctx = RegistryContext(report.decls, *store, report);
  if (group) {
    ctx.group = group->name;
    ctx.group_ephemeral = group->ephemeral;
  }
  ctx.probe_file = request.probe_file;
  for (const lint::ProbedInstance& p : probed) {
    for (const std::string& host : {p.target, p.address}) {
      if (!host.empty()) ctx.probed.emplace(lint::ProbedKey(host, p.instance), p);
    }
  }
  report.findings = lint::ApplyRules(report.decls, ctx);
  return report;
}

namespace {

// One file's edits applied to what it holds now.
struct FilePatch {
  std::string file;
  std::string before;
  lint::EditResult after;
};

// Reads each file that findings edit and applies their edits in memory, in file order.
std::vector<FilePatch> PlanFixes(const std::vector<lint::LintFinding>& findings,
                                 std::vector<lint::FileError>& errors) {
  std::map<std::string, std::vector<lint::Edit>> by_file;
  for (const lint::LintFinding& f : findings) {
    if (f.edit) by_file[f.where.file].push_back(*f.edit);
  }
  std::vector<FilePatch> out;
  for (auto& [file, edits] : by_file) {
    auto text = ReadSmallFile(file);
    if (!text) {
      errors.push_back({file, text.error()});
      continue;
    }
    lint::EditResult r = lint::ApplyEdits(*text, std::move(edits));
    out.push_back(FilePatch{file, std::move(*text), std::move(r)});
  }
  return out;
}

// `path` as a diff names it: relative to the current directory when it is below it, without
// "./" or "x/.." steps.
std::string DiffPath(const std::string& path) {
  if (!path.starts_with('/')) return fs::path(path).lexically_normal().string();
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  if (ec) return path;
  const fs::path rel = fs::path(path).lexically_normal().lexically_relative(cwd);
  if (rel.empty() || *rel.begin() == "..") return path;
  return rel.string();
}

// A name patch and git apply read back as written: no control byte (a tab or a line break
// would end it), no leading '"' (a C-quoted name).
bool DiffableName(std::string_view name) {
  if (name.starts_with('"')) return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

}  // namespace

FixDiff DiffLintFixes(const std::vector<lint::LintFinding>& findings) {
  FixDiff out;
  for (const FilePatch& p : PlanFixes(findings, out.errors)) {
    out.skipped += p.after.skipped;
    if (p.after.applied == 0) continue;
    const std::string name = DiffPath(p.file);
    if (!DiffableName(name)) {
      out.errors.push_back({p.file, Error{ErrorCode::kInvalidArgument,
                                          "its name has a control byte or starts with '\"': "
                                          "a diff cannot name it; rename the file or let --fix "
                                          "write it"}});
      continue;
    }
    out.text += lint::UnifiedDiff("a/" + name, "b/" + name, p.before, p.after.applied_edits);
    ++out.files;
    out.applied += p.after.applied;
  }
  return out;
}

FixOutcome ApplyLintFixes(const std::vector<lint::LintFinding>& findings) {
  FixOutcome out;
  for (FilePatch& p : PlanFixes(findings, out.errors)) {
    const std::string& file = p.file;
    lint::EditResult& r = p.after;
    out.skipped += r.skipped;
    if (r.applied == 0) continue;
    std::error_code ec;
    const auto perms = fs::status(file, ec).permissions();
    const auto mode = ec ? mode_t{0644} : static_cast<mode_t>(perms & fs::perms::mask);
    if (auto written = WriteFileAtomic(file, r.text, mode); !written) {
      out.errors.push_back({file, written.error()});
      continue;
    }
    ++out.files;
    out.applied += r.applied;
  }
  return out;
}

}  // namespace berth::app

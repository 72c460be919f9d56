#include "emit/lint_render.h"

#include <array>

#include <fmt/core.h>

#include "base/text.h"
#include "emit/json_writer.h"
#include "emit/styled_text.h"

namespace berth {
namespace {

std::string PortsText(const lint::PortDecl& d) {
  if (d.dynamic != lint::Dynamic::kNo && d.kind != lint::DeclKind::kTarget) return "";
  if (d.mapper != lint::Mapper::kNone) return "";
  return d.ports.low == d.ports.high ? fmt::format("{}", d.ports.low)
                                     : fmt::format("{}-{}", d.ports.low, d.ports.high);
}

std::string_view DynamicName(lint::Dynamic d) {
  switch (d) {
    case lint::Dynamic::kNo: return "";
    case lint::Dynamic::kZero: return "zero";
    case lint::Dynamic::kRandom: return "random";
    case lint::Dynamic::kUnpublished: return "unpublished";
  }
  return "";
}

std::array<int, 3> Counts(const std::vector<lint::LintFinding>& findings) {
  std::array<int, 3> n{};  // error, warning, info
  for (const auto& f : findings) {
    ++n[f.severity == Severity::kError ? 0 : f.severity == Severity::kWarning ? 1 : 2];
  }
  return n;
}

std::string_view Style(Severity s) {
  return s == Severity::kError ? kRed : s == Severity::kWarning ? kYellow : kCyan;
}

std::string_view SarifLevel(Severity s) {
  return s == Severity::kError ? "error" : s == Severity::kWarning ? "warning" : "note";
}

// A path as a SARIF artifact URI: relative paths stay relative references, absolute ones
// become file:// URIs; bytes outside RFC 3986's unreserved set and '/' are percent-encoded.
std::string ArtifactUri(std::string_view path) {
  std::string out = path.starts_with('/') ? "file://" : "";
  for (unsigned char c : path) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (keep) out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

void SarifLocation(JsonWriter& j, const lint::Location& at) {
  j.BeginObject().Key("physicalLocation").BeginObject();
  j.Key("artifactLocation").BeginObject().Field("uri", ArtifactUri(at.file)).EndObject();
  if (at.line > 0) {
    j.Key("region").BeginObject().Field("startLine", at.line);
    if (at.column > 0) j.Field("startColumn", at.column);
    j.EndObject();
  }
  j.EndObject().EndObject();
}

}  // namespace

void RenderLintText(const LintView& view, bool color, const Sink& sink) {
  auto paint = [color](std::string_view style, std::string_view s) {
    return color ? fmt::format("{}{}{}", style, s, kReset) : std::string(s);
  };
  for (const lint::LintFinding& f : *view.findings) {
    std::string out = fmt::format(
        "{}:{}:{}: {} [{}] {}\n", TerminalSafe(f.where.file, kTerminalMaxLine), f.where.line,
        f.where.column, paint(Style(f.severity), SeverityName(f.severity)),
        lint::LintRuleName(f.rule), TerminalSafe(f.why, kTerminalMaxLine));
    if (!f.key_path.empty()) out += fmt::format("  key  {}\n", TerminalSafe(f.key_path));
    bool first = true;
    for (std::string_view rest = f.fix; !rest.empty() || first;) {
      const std::size_t nl = rest.find('\n');
      out += fmt::format("  {}  {}\n", first ? "fix" : "   ",
                         TerminalSafe(rest.substr(0, nl), kTerminalMaxLine));
      first = false;
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    }
    for (const lint::Location& r : f.related) {
      out += fmt::format("  see  {}:{}:{}\n", TerminalSafe(r.file, kTerminalMaxLine), r.line, r.column);
    }
    if (f.edit) {
      out += fmt::format("  edit '{}' -> '{}' (berth lint --fix)\n", TerminalSafe(f.edit->expected),
                         TerminalSafe(f.edit->replacement));
    }
    sink(out);
  }
  const auto n = Counts(*view.findings);
  sink(fmt::format("berth lint: {} file{}, {} declaration{}, {} error{}, {} warning{}, {} info{}\n",
                   view.files->size(), view.files->size() == 1 ? "" : "s", view.decls->size(),
                   view.decls->size() == 1 ? "" : "s", n[0], n[0] == 1 ? "" : "s", n[1],
                   n[1] == 1 ? "" : "s", n[2],
                   view.registry.empty() ? std::string()
                                         : fmt::format(" (registry {})", TerminalSafe(view.registry))));
}

void RenderLintJson(const LintView& view, const Sink& sink) {
  JsonWriter j(JsonLayout::kPretty);
  j.BeginObject().Field("schema", "berth.lint/1");
  j.StringArray("files", *view.files);
  j.Key("declarations").BeginArray();
  for (const lint::PortDecl& d : *view.decls) {
    j.BeginObject()
        .Field("file", d.where.file)
        .Field("line", d.where.line)
        .Field("column", d.where.column)
        .Field("key", d.key_path)
        .Field("format", lint::ConfigFormatName(d.format))
        .Field("kind", lint::DeclKindName(d.kind))
        .Field("proto", ProtocolName(d.proto))
        .Field("address", d.address)
        .Field("ports", PortsText(d))
        .Field("dynamic", DynamicName(d.dynamic))
        .Field("service", d.service)
        .Field("derived_from", d.derived_from)
        .Field("mapper", d.mapper == lint::Mapper::kSqlBrowser ? "sql-browser" : "")
        .Field("instance", d.instance)
        .Field("isolated", d.isolated)
        .Field("windows", d.windows)
        .EndObject();
    if (j.buffer().size() > 64 * 1024) sink(j.Take());
  }
  j.EndArray();
  j.Key("findings").BeginArray();
  for (const lint::LintFinding& f : *view.findings) {
    j.BeginObject()
        .Field("rule", lint::LintRuleName(f.rule))
        .Field("severity", SeverityName(f.severity))
        .Field("file", f.where.file)
        .Field("line", f.where.line)
        .Field("column", f.where.column)
        .Field("key", f.key_path);
    j.Key("proto");
    if (f.proto) j.String(ProtocolName(*f.proto));
    else j.Null();
    j.Field("ports", f.ports.Format()).Field("why", f.why).Field("fix", f.fix);
    j.Key("related").BeginArray();
    for (const lint::Location& r : f.related) {
      j.BeginObject().Field("file", r.file).Field("line", r.line).Field("column", r.column).EndObject();
    }
    j.EndArray();
    j.Key("edit");
    if (f.edit) {
      j.BeginObject()
          .Field("offset", f.edit->offset)
          .Field("expected", f.edit->expected)
          .Field("replacement", f.edit->replacement)
          .EndObject();
    } else {
      j.Null();
    }
    j.EndObject();
  }
  j.EndArray();
  j.Key("errors").BeginArray();
  for (const lint::FileError& e : *view.errors) {
    j.BeginObject()
        .Field("file", e.file)
        .Field("code", CodeName(e.error.code))
        .Field("message", e.error.message)
        .EndObject();
  }
  j.EndArray();
  const auto n = Counts(*view.findings);
  j.Key("summary").BeginObject()
      .Field("files", view.files->size())
      .Field("declarations", view.decls->size())
      .Field("errors", n[0])
      .Field("warnings", n[1])
      .Field("info", n[2])
      .Field("file_errors", view.errors->size())
      .Field("registry", view.registry)
      .EndObject();
  j.EndObject();
  j.buffer() += '\n';
  sink(j.Take());
}

void RenderLintSarif(const LintView& view, std::string_view version, const Sink& sink) {
  JsonWriter j(JsonLayout::kPretty);
  j.BeginObject()
      .Field("$schema", "https://json.schemastore.org/sarif-2.1.0.json")
      .Field("version", "2.1.0");
  j.Key("runs").BeginArray().BeginObject();
  j.Key("tool").BeginObject().Key("driver").BeginObject()
      .Field("name", "berth")
      .Field("version", version)
      .Field("informationUri", "https://github.com/berth/berth/blob/main/docs/lint.md");
  j.Key("rules").BeginArray();
  const auto rules = lint::AllLintRules();
  for (lint::LintRule r : rules) {
    j.BeginObject().Field("id", lint::LintRuleName(r));
    j.Key("shortDescription").BeginObject().Field("text", lint::LintRuleSummary(r)).EndObject();
    j.Key("defaultConfiguration").BeginObject()
        .Field("level", SarifLevel(lint::LintRuleSeverity(r)))
        .EndObject();
    j.EndObject();
  }
  j.EndArray().EndObject().EndObject();  // rules, driver, tool
  j.Key("invocations").BeginArray().BeginObject()
      .Field("executionSuccessful", view.errors->empty());
  j.Key("toolExecutionNotifications").BeginArray();
  for (const lint::FileError& e : *view.errors) {
    j.BeginObject().Field("level", "error");
    j.Key("message").BeginObject().Field("text", e.error.message).EndObject();
    j.Key("locations").BeginArray();
    SarifLocation(j, lint::Location{e.file, 0, 0});
    j.EndArray().EndObject();
  }
  j.EndArray().EndObject().EndArray();  // notifications, invocation, invocations
  j.Key("results").BeginArray();
  for (const lint::LintFinding& f : *view.findings) {
    std::size_t index = 0;
    while (index < rules.size() && rules[index] != f.rule) ++index;
    j.BeginObject()
        .Field("ruleId", lint::LintRuleName(f.rule))
        .Field("ruleIndex", index)
        .Field("level", SarifLevel(f.severity));
    j.Key("message").BeginObject().Field("text", fmt::format("{} Fix: {}", f.why, f.fix)).EndObject();
    j.Key("locations").BeginArray();
    SarifLocation(j, f.where);
    j.EndArray();
    if (!f.related.empty()) {
      j.Key("relatedLocations").BeginArray();
      for (const lint::Location& r : f.related) SarifLocation(j, r);
      j.EndArray();
    }
    if (f.edit) {
      j.Key("fixes").BeginArray().BeginObject();
      j.Key("description").BeginObject().Field("text", f.fix).EndObject();
      j.Key("artifactChanges").BeginArray().BeginObject();
      j.Key("artifactLocation").BeginObject().Field("uri", ArtifactUri(f.where.file)).EndObject();
      j.Key("replacements").BeginArray().BeginObject();
      j.Key("deletedRegion").BeginObject()
          .Field("byteOffset", f.edit->offset)
          .Field("byteLength", f.edit->expected.size())
          .EndObject();
      j.Key("insertedContent").BeginObject().Field("text", f.edit->replacement).EndObject();
      j.EndObject().EndArray();                // replacement, replacements
      j.EndObject().EndArray();                // artifactChange, artifactChanges
      j.EndObject().EndArray();                // fix, fixes
    }
    j.EndObject();
    if (j.buffer().size() > 64 * 1024) sink(j.Take());
  }
  j.EndArray();
  j.EndObject().EndArray().EndObject();  // run, runs, log
  j.buffer() += '\n';
  sink(j.Take());
}

}  // namespace berth

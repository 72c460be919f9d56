#include "emit/findings_render.h"

#include <array>

#include <fmt/core.h>

#include "base/text.h"
#include "emit/styled_text.h"

namespace berth {
namespace {

struct FindingField {
  std::string_view key;
  void (*write)(JsonWriter&, const Finding&);
};

// In the documented order; kSortedOrder lists the same fields alphabetically.
constexpr std::array<FindingField, 8> kFindingFields{{
    {"id", [](JsonWriter& j, const Finding& f) { j.String(FindingIdName(f.id)); }},
    {"severity", [](JsonWriter& j, const Finding& f) { j.String(SeverityName(f.severity)); }},
    {"subject", [](JsonWriter& j, const Finding& f) { j.String(f.subject); }},
    {"proto",
     [](JsonWriter& j, const Finding& f) {
       if (f.proto) j.String(ProtocolName(*f.proto)); else j.Null();
     }},
    {"ports", [](JsonWriter& j, const Finding& f) { j.PortList(f.ports); }},
    {"pids",
     [](JsonWriter& j, const Finding& f) {
       j.BeginArray();
       for (int pid : f.pids) j.Int(pid);
       j.EndArray();
     }},
    {"why", [](JsonWriter& j, const Finding& f) { j.String(f.why); }},
    {"fix", [](JsonWriter& j, const Finding& f) { j.String(f.fix); }},
}};
constexpr std::array<std::size_t, 8> kDocumentedOrder{0, 1, 2, 3, 4, 5, 6, 7};
constexpr std::array<std::size_t, 8> kSortedOrder{7, 0, 5, 4, 3, 1, 2, 6};  // fix id pids ports proto severity subject why


std::string_view SeverityStyle(Severity s) {
  switch (s) {
    case Severity::kError: return kRed;
    case Severity::kWarning: return kYellow;
    case Severity::kInfo: return kCyan;
  }
  return {};
}

}  // namespace

void WriteFindingJson(JsonWriter& j, const Finding& f, JsonKeyOrder order) {
  j.BeginObject();
  for (std::size_t i : order == JsonKeyOrder::kSorted ? kSortedOrder : kDocumentedOrder) {
    j.Key(kFindingFields[i].key);
    kFindingFields[i].write(j, f);
  }
  j.EndObject();
}

void RenderFindingsJson(const std::vector<Finding>& findings, const Sink& sink) {
  JsonWriter j(JsonLayout::kPretty, JsonEscaping::kNlohmann);
  j.BeginObject().Key("findings").BeginArray();
  for (const Finding& f : findings) WriteFindingJson(j, f, JsonKeyOrder::kSorted);
  j.EndArray().Field("schema", kFindingsSchema).EndObject();
  j.buffer() += '\n';
  sink(j.Take());
}

void RenderFindingsText(const std::vector<Finding>& findings, std::string_view title,
                        const Sink& sink) {
  const std::string safe_title = TerminalSafe(title);
  if (findings.empty()) {
    sink(fmt::format("{}: no findings\n", safe_title));
    return;
  }
  std::string out = fmt::format("{}: {} finding(s)\n", safe_title, findings.size());
  for (const Finding& f : findings) {
    out += fmt::format("{:<8} {:<28} {}: {}\n", SeverityName(f.severity), FindingIdName(f.id),
                       TerminalSafe(f.subject), TerminalSafe(f.why, kTerminalMaxLine));
    // A fix of several lines (one command each) keeps them under one another.
    std::string_view fix = f.fix;
    for (bool first = true; first || !fix.empty(); first = false) {
      const auto nl = fix.find('\n');
      out += fmt::format("{}{}\n", first ? "         fix: " : "              ",
                         TerminalSafe(fix.substr(0, nl), kTerminalMaxLine));
      fix = nl == std::string_view::npos ? std::string_view{} : fix.substr(nl + 1);
    }
  }
  sink(out);
}

void RenderFindingsReport(const std::vector<Finding>& findings, std::string_view title, bool color,
                          const Sink& sink, std::size_t width) {
  StyledText out(sink, color);
  std::array<int, 3> count{};
  for (const Finding& f : findings) ++count[static_cast<int>(f.severity)];
  out.Put("\n");
  out.Styled(kBold, fmt::format("{}: {} error{}, {} warning{}, {} info\n", TerminalSafe(title),
                                count[2], count[2] == 1 ? "" : "s", count[1],
                                count[1] == 1 ? "" : "s", count[0]));
  for (const Finding& f : findings) {
    out.Put("\n");
    std::string sev = std::string(SeverityName(f.severity));
    for (char& ch : sev) ch = static_cast<char>(ch - 'a' + 'A');
    out.Styled(SeverityStyle(f.severity), fmt::format("{:<8}", sev));
    out.Styled(kBold, FindingIdName(f.id));
    out.Put(fmt::format("  {}", TerminalSafe(f.subject)));
    if (!f.ports.empty()) {
      std::string ports = f.ports.Format();
      if (ports.size() > 60) ports = ports.substr(0, ports.rfind(',', 57)) + ",...";
      out.Put(fmt::format("  {}{} {}", f.proto ? ProtocolName(*f.proto) : "",
                          f.proto ? "" : "port", ports));
    }
    out.Put("\n");
    out.Styled(kDim, "  why  ");
    std::string why = WrapLine(TerminalSafe(f.why, kTerminalMaxLine), width > 7 ? width - 7 : 0, 0);
    for (std::size_t nl = why.find('\n'); nl != std::string::npos; nl = why.find('\n', nl + 1)) {
      why.insert(nl + 1, "       ");  // under the text, past "  why  "
    }
    out.Put(why);
    out.Put("\n");
    std::string_view fix = f.fix;
    bool first = true;
    while (!fix.empty()) {
      const auto nl = fix.find('\n');
      out.Styled(kDim, first ? "  fix  " : "       ");
      out.Put(TerminalSafe(fix.substr(0, nl), kTerminalMaxLine));
      out.Put("\n");
      first = false;
      fix = nl == std::string_view::npos ? std::string_view{} : fix.substr(nl + 1);
    }
  }
}

}  // namespace berth

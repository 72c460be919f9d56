// Formatting berth.toml: the writing half of the berth.toml codec (parsing is in
// berth_toml_parse.cc). Pure; both halves build into the fuzz target.
#include <ctime>

#include <fmt/core.h>

#include "registry/berth_toml.h"

namespace berth::registry {
namespace {

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;
    }
  }
  return out + '"';
}

std::string List(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + Quote(items[i]);
  return out + "]";
}

void Line(std::string& out, std::string_view key, std::string_view value) {
  out += fmt::format("{} = {}\n", key, value);
}

}  // namespace

std::string FormatUtc(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string FormatBerthToml(const RegistryDoc& doc) {
  std::string out = fmt::format(
      "# berth registry: groups, families and services (docs/registry.md).\n"
      "# 'berth plan FILE' shows what 'berth apply FILE' would change.\n"
      "schema = {}\n",
      kTomlSchema);
  for (const Group& g : doc.groups) {
    out += "\n[[group]]\n";
    Line(out, "name", Quote(g.name));
    if (!g.description.empty()) Line(out, "description", Quote(g.description));
    if (!g.hosts.empty()) Line(out, "hosts", List(g.hosts));
    if (!g.ephemeral.empty()) Line(out, "ephemeral", Quote(g.ephemeral.Format()));
    if (!g.reserved.empty()) Line(out, "reserved", Quote(g.reserved.Format()));
    if (g.range != kUserRange) Line(out, "range", Quote(fmt::format("{}-{}", g.range.low, g.range.high)));
    if (!g.allow.empty()) Line(out, "allow", Quote(g.allow.Format()));
  }
  for (const Family& f : doc.families) {
    out += "\n[[family]]\n";
    Line(out, "name", Quote(f.name));
    if (!f.description.empty()) Line(out, "description", Quote(f.description));
    Line(out, "base", std::to_string(f.base));
    if (f.size != 100) Line(out, "size", std::to_string(f.size));
    if (!f.skip.empty()) Line(out, "skip", Quote(f.skip.Format()));
  }
  for (const Service& s : doc.services) {
    out += "\n[[service]]\n";
    Line(out, "name", Quote(s.name));
    if (s.port != 0) Line(out, "port", std::to_string(s.port));
    if (s.size != 1) Line(out, "size", std::to_string(s.size));
    Line(out, "proto", Quote(ServiceProtoName(s.proto)));
    if (s.group != kDefaultGroup) Line(out, "group", Quote(s.group));
    if (!s.family.empty()) Line(out, "family", Quote(s.family));
    if (!s.owner.empty()) Line(out, "owner", Quote(s.owner));
    if (!s.description.empty()) Line(out, "description", Quote(s.description));
    if (!s.tags.empty()) Line(out, "tags", List(s.tags));
    if (!s.sources.empty()) Line(out, "sources", List(s.sources));
    if (s.created != 0) Line(out, "created", FormatUtc(s.created));
    if (s.updated != 0) Line(out, "updated", FormatUtc(s.updated));
  }
  return out;
}

}  // namespace berth::registry

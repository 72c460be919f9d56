// Parsing berth.toml with toml++. toml++ reports syntax errors by throwing
// toml::parse_error; the one try/catch below turns that into an Error, so no exception
// leaves this file. In the fuzz build (no TOML_HEADER_ONLY=0 from the package) toml++ is
// compiled header-only.
#include <algorithm>
#include <ctime>
#include <map>
#include <optional>
#include <set>

#include <fmt/core.h>

// toml++ 3.3.0 asserts (in builds without NDEBUG) on some malformed input that its parser
// then reports as an ordinary parse error anyway (found by the fuzzer: "[[[service]]").
// The packaged library is built without these assertions; header-only builds (the fuzz
// build) match it here, so a bad file is an error message, never an abort.
#ifndef TOML_ASSERT
#define TOML_ASSERT(expr) static_assert(true)
#endif
#include <toml++/toml.h>

#include "core/cidr.h"
#include "registry/berth_toml.h"

namespace berth::registry {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}

  Error At(const toml::source_region& where, std::string_view what) const {
    return Error{ErrorCode::kMalformed, fmt::format("{}:{}:{}: {}", source_, where.begin.line,
                                                    where.begin.column, what)};
  }

  // Checks that every key of `t` is one of `allowed`.
  Result<void> KnownKeys(const toml::table& t, std::string_view where,
                         std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, node] : t) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return std::unexpected(At(key.source(), fmt::format("unknown key '{}' in {} (allowed: {})",
                                                         key.str(), where, list)));
    }
    return {};
  }

  Result<std::string> Str(const toml::table& t, std::string_view key, bool required,
                          const toml::source_region& owner) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) {
      if (required) return std::unexpected(At(owner, fmt::format("missing key '{}'", key)));
      return std::string();
    }
    if (!n->is_string()) {
      return std::unexpected(At(n->source(), fmt::format("'{}' must be a string", key)));
    }
    return std::string(n->as_string()->get());
  }

  // A free-text string (ValidateText), the error at the value's position.
  Result<std::string> Text(const toml::table& t, std::string_view key,
                           const toml::source_region& owner) const {
    std::string v = BERTH_TRY(Str(t, key, false, owner));
    if (auto ok = ValidateText(key, v); !ok) {
      return std::unexpected(At(t.get(key)->source(), ok.error().message));
    }
    return v;
  }

  // A list of free-text strings, each checked (ValidateText) at its own position.
  Result<std::vector<std::string>> TextList(const toml::table& t, std::string_view key,
                                            std::string_view field) const {
    std::vector<std::string> out = BERTH_TRY(StrList(t, key));
    if (out.empty()) return out;
    const toml::array& a = *t.get(key)->as_array();
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (auto ok = ValidateText(field, out[i]); !ok) {
        return std::unexpected(At(a[i].source(), ok.error().message));
      }
    }
    return out;
  }

  Result<std::vector<std::string>> StrList(const toml::table& t, std::string_view key) const {
    std::vector<std::string> out;
    const toml::node* n = t.get(key);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      return std::unexpected(At(n->source(), fmt::format("'{}' must be an array of strings", key)));
    }
    for (const toml::node& item : *a) {
      if (!item.is_string()) {
        return std::unexpected(At(item.source(), fmt::format("'{}' must hold only strings", key)));
      }
      out.emplace_back(item.as_string()->get());
    }
    return out;
  }

  Result<std::optional<std::int64_t>> Int(const toml::table& t, std::string_view key,
                                          std::int64_t low, std::int64_t high) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::optional<std::int64_t>{};
    if (!n->is_integer() || n->as_integer()->get() < low || n->as_integer()->get() > high) {
      return std::unexpected(
          At(n->source(), fmt::format("'{}' must be an integer {}-{}", key, low, high)));
    }
    return std::optional<std::int64_t>{n->as_integer()->get()};
  }

  Result<PortSet> Ports(const toml::table& t, std::string_view key) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return PortSet{};
    if (!n->is_string()) {
      return std::unexpected(
          At(n->source(), fmt::format("'{}' must be a string of ports such as \"1433,5000-5010\"", key)));
    }
    auto set = PortSet::Parse(n->as_string()->get());
    if (!set) return std::unexpected(At(n->source(), fmt::format("'{}': {}", key, set.error().message)));
    return *set;
  }

  Result<std::int64_t> Time(const toml::table& t, std::string_view key) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return 0;
    const auto* dt = n->as_date_time();
    if (dt == nullptr || !dt->get().offset) {
      return std::unexpected(At(n->source(), fmt::format("'{}' must be a date-time with an offset, "
                                                         "e.g. 2026-01-31T12:00:00Z", key)));
    }
    const toml::date_time& v = dt->get();
    std::tm tm{};
    tm.tm_year = v.date.year - 1900;
    tm.tm_mon = v.date.month - 1;
    tm.tm_mday = v.date.day;
    tm.tm_hour = v.time.hour;
    tm.tm_min = v.time.minute;
    tm.tm_sec = v.time.second;
    const std::int64_t seconds = static_cast<std::int64_t>(::timegm(&tm)) - std::int64_t{v.offset->minutes} * 60;
    if (seconds < 0 || seconds > 253402300799) {
      return std::unexpected(At(n->source(), fmt::format("'{}' must lie between 1970 and 9999", key)));
    }
    return seconds;
  }

  // Each [[NAME]] entry as a table. Failure when NAME is not an array of tables.
  Result<std::vector<const toml::table*>> Entries(const toml::table& root, std::string_view name) const {
    std::vector<const toml::table*> out;
    const toml::node* n = root.get(name);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr || !a->is_array_of_tables()) {
      return std::unexpected(At(n->source(), fmt::format("'{}' must be written as [[{}]] tables", name, name)));
    }
    for (const toml::node& item : *a) out.push_back(item.as_table());
    return out;
  }

  Result<RegistryDoc> Parse(const toml::table& root) const {
    BERTH_TRY(KnownKeys(root, "the top level", {"schema", "group", "family", "service"}));
    if (auto schema = BERTH_TRY(Int(root, "schema", 0, 1 << 30)); schema && *schema != kTomlSchema) {
      return std::unexpected(At(root.get("schema")->source(),
                                fmt::format("schema {} is not supported by this berth (it reads "
                                            "schema {})", *schema, kTomlSchema)));
    }
    RegistryDoc doc;
    std::map<std::string, std::uint32_t, std::less<>> group_lines, family_lines, service_lines;

    for (const toml::table* t : BERTH_TRY(Entries(root, "group"))) {
      BERTH_TRY(KnownKeys(*t, "[[group]]", {"name", "description", "hosts", "ephemeral",
                                            "reserved", "range", "allow"}));
      Group g;
      g.name = BERTH_TRY(Str(*t, "name", true, t->source()));
      if (auto v = ValidateServiceName(g.name); !v) {
        return std::unexpected(At(t->get("name")->source(), "group " + v.error().message));
      }
      g.description = BERTH_TRY(Text(*t, "description", t->source()));
      g.hosts = BERTH_TRY(TextList(*t, "hosts", "host"));
      g.ephemeral = BERTH_TRY(Ports(*t, "ephemeral"));
      g.reserved = BERTH_TRY(Ports(*t, "reserved"));
      g.allow = BERTH_TRY(Ports(*t, "allow"));
      if (const toml::node* r = t->get("range")) {
        auto range = r->is_string() ? ParsePortRange(r->as_string()->get())
                                    : Result<PortRange>(Fail(ErrorCode::kInvalidArgument, "not a string"));
        if (!range || range->low == 0) {
          return std::unexpected(At(r->source(), "'range' must be a string \"LOW-HIGH\" within 1-65535"));
        }
        g.range = *range;
      }
      if (auto [it, fresh] = group_lines.emplace(g.name, t->source().begin.line); !fresh) {
        return std::unexpected(At(t->source(), fmt::format("duplicate group '{}' (first at line {})",
                                                           g.name, it->second)));
      }
      doc.groups.push_back(std::move(g));
    }

    for (const toml::table* t : BERTH_TRY(Entries(root, "family"))) {
      BERTH_TRY(KnownKeys(*t, "[[family]]", {"name", "description", "base", "size", "skip"}));
      Family f;
      f.name = BERTH_TRY(Str(*t, "name", true, t->source()));
      if (auto v = ValidateServiceName(f.name); !v) {
        return std::unexpected(At(t->get("name")->source(), "family " + v.error().message));
      }
      f.description = BERTH_TRY(Text(*t, "description", t->source()));
      auto base = BERTH_TRY(Int(*t, "base", 1, 65535));
      if (!base) return std::unexpected(At(t->source(), "missing key 'base' in [[family]]"));
      f.base = static_cast<Port>(*base);
      f.size = static_cast<std::uint32_t>(BERTH_TRY(Int(*t, "size", 1, 65535)).value_or(100));
      if (std::uint32_t{f.base} + f.size - 1 > 65535) {
        return std::unexpected(At(t->source(),
                                  fmt::format("family '{}': a block of {} ports from {} would end "
                                              "at {}, past port 65535; at most {} fit from that base",
                                              f.name, f.size, f.base,
                                              std::uint32_t{f.base} + f.size - 1, 65536 - f.base)));
      }
      f.skip = BERTH_TRY(Ports(*t, "skip"));
      if (auto [it, fresh] = family_lines.emplace(f.name, t->source().begin.line); !fresh) {
        return std::unexpected(At(t->source(), fmt::format("duplicate family '{}' (first at line {})",
                                                           f.name, it->second)));
      }
      doc.families.push_back(std::move(f));
    }

    // (group, slot, port) -> (service, line), for duplicate claims within the file.
    std::map<std::tuple<std::string, int, Port>, std::pair<std::string, std::uint32_t>> claims;
    for (const toml::table* t : BERTH_TRY(Entries(root, "service"))) {
      BERTH_TRY(KnownKeys(*t, "[[service]]", {"name", "port", "size", "proto", "group", "family",
                                              "owner", "description", "tags", "sources", "created",
                                              "updated"}));
      Service s;
      s.name = BERTH_TRY(Str(*t, "name", true, t->source()));
      if (auto v = ValidateServiceName(s.name); !v) {
        return std::unexpected(At(t->get("name")->source(), v.error().message));
      }
      s.port = static_cast<Port>(BERTH_TRY(Int(*t, "port", 1, 65535)).value_or(0));
      s.size = static_cast<std::uint32_t>(BERTH_TRY(Int(*t, "size", 1, kMaxServiceSize)).value_or(1));
      if (s.size > 1 && (s.port == 0 || std::uint32_t{s.port} + s.size - 1 > 65535)) {
        return std::unexpected(At(t->get("size")->source(),
                                  fmt::format("service '{}' holds {} ports: a range needs its first "
                                              "'port', and ends at 65535 at most",
                                              s.name, s.size)));
      }
      if (const toml::node* p = t->get("proto")) {
        auto proto = p->is_string() ? ParseServiceProto(p->as_string()->get())
                                    : Result<ServiceProto>(Fail(ErrorCode::kInvalidArgument,
                                                                "'proto' must be tcp, udp or both"));
        if (!proto) return std::unexpected(At(p->source(), proto.error().message));
        s.proto = *proto;
      }
      s.group = BERTH_TRY(Str(*t, "group", false, t->source()));
      if (s.group.empty()) s.group = std::string(kDefaultGroup);
      if (s.group != kDefaultGroup && !group_lines.contains(s.group)) {
        return std::unexpected(At(t->get("group")->source(),
                                  fmt::format("service '{}' names group '{}', which the file does "
                                              "not define: add a [[group]] with that name",
                                              s.name, s.group)));
      }
      s.family = BERTH_TRY(Str(*t, "family", false, t->source()));
      if (!s.family.empty() && !family_lines.contains(s.family)) {
        return std::unexpected(At(t->get("family")->source(),
                                  fmt::format("service '{}' names family '{}', which the file "
                                              "does not define: add a [[family]] with that name",
                                              s.name, s.family)));
      }
      s.owner = BERTH_TRY(Text(*t, "owner", t->source()));
      s.description = BERTH_TRY(Text(*t, "description", t->source()));
      s.tags = BERTH_TRY(TextList(*t, "tags", "tag"));
      s.sources = BERTH_TRY(StrList(*t, "sources"));
      for (std::size_t i = 0; i < s.sources.size(); ++i) {
        if (auto cidr = ParseCidr(s.sources[i]); !cidr) {
          return std::unexpected(At((*t->get("sources")->as_array())[i].source(), cidr.error().message));
        }
      }
      s.created = BERTH_TRY(Time(*t, "created"));
      s.updated = BERTH_TRY(Time(*t, "updated"));
      const std::uint32_t line = t->source().begin.line;
      if (auto [it, fresh] = service_lines.emplace(s.name, line); !fresh) {
        return std::unexpected(At(t->source(), fmt::format("duplicate service '{}' (first at line {})",
                                                           s.name, it->second)));
      }
      for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
        if (s.port == 0 || !Covers(s.proto, p)) continue;
        const PortRange ports = PortsOf(s);
        for (std::uint32_t port = ports.low; port <= ports.high; ++port) {
          auto [it, fresh] = claims.try_emplace({s.group, static_cast<int>(p), static_cast<Port>(port)},
                                                s.name, line);
          if (!fresh) {
            return std::unexpected(At(t->get("port")->source(),
                                      fmt::format("service '{}' claims {}/{} in group '{}', which "
                                                  "'{}' (line {}) already claims",
                                                  s.name, port, ProtocolName(p), s.group,
                                                  it->second.first, it->second.second)));
          }
        }
      }
      doc.services.push_back(std::move(s));
    }
    auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
    std::sort(doc.groups.begin(), doc.groups.end(), by_name);
    std::sort(doc.families.begin(), doc.families.end(), by_name);
    std::sort(doc.services.begin(), doc.services.end(), by_name);
    return doc;
  }

 private:
  std::string_view source_;
};

// A cheap pass over the text before toml++ sees it. toml++ 3.3.0 recurses once per
// dotted-key part and per nesting level, so a table header or a key with 40,000 parts
// overflows the stack; the pass bounds both (kMaxKeyParts, kMaxNesting). It also refuses
// non-ASCII characters where toml++ 3.3.0 asks whether one is whitespace: its
// is_non_ascii_horizontal_whitespace() reaches __builtin_unreachable() for most code points
// of U+00A1-U+0499, U+2C5E-U+3057 and U+FB26-U+FEFE (marzer/tomlplusplus#190, #295; fixed
// after 3.3.0). It asks outside strings and comments (TOML allows no such character there:
// U+0156 where a key should start, found by the fuzzer), in a quoted key (toml++ records
// keys through the same check), after a backslash in a basic string (an escape, or a
// line-ending backslash with the blanks and line breaks it swallows), and, reading ahead
// for a value's end, after a quote that cannot start a string (`n = 6"...`: the quote is
// part of the bare value; found by the fuzzer). Strings in values and comments may hold any
// character. Returns the 1-based (line, column) of the first offending byte and what is
// wrong, if anything.
struct ScanProblem {
  std::uint32_t line = 0, column = 0;
  std::string what;
};

std::optional<ScanProblem> PreScan(std::string_view t) {
  std::uint32_t line = 1, col = 1;
  std::size_t i = 0;
  int depth = 0;      // open '[' and '{' outside strings and comments
  int key_dots = 0;   // '.' outside strings since the last '=', ',', bracket or line break
  auto advance = [&](std::size_t n) {
    for (std::size_t k = 0; k < n && i < t.size(); ++k, ++i) {
      if (t[i] == '\n') {
        ++line;
        col = 1;
      } else if ((static_cast<unsigned char>(t[i]) & 0xC0) != 0x80) {
        ++col;  // count code points, not bytes
      }
    }
  };
  auto here = [&](std::string what) { return ScanProblem{line, col, std::move(what)}; };
  auto non_ascii = [&t](std::size_t at) {
    return at < t.size() && static_cast<unsigned char>(t[at]) >= 0x80;
  };
  char prev = '\n';     // the last byte outside strings, comments and blanks
  bool header = false;  // in a [table] or [[array]] header
  while (i < t.size()) {
    const char c = t[i];
    // Where a string may start: a key's or a value's first byte.
    const bool string_start = prev == '\n' || prev == '=' || prev == '[' || prev == '{' ||
                              prev == ',' || prev == '.';
    if (c == '#') {
      while (i < t.size() && t[i] != '\n') advance(1);
    } else if ((c == '"' || c == '\'') && string_start) {
      const bool multi = t.substr(i, 3) == std::string_view(c == '"' ? "\"\"\"" : "'''");
      const std::string_view close = multi ? t.substr(i, 3) : t.substr(i, 1);
      const ScanProblem key_problem{line, col, "a non-ASCII character in a quoted key: "
                                               "berth.toml's keys are ASCII"};
      bool wide = false;  // holds a non-ASCII character
      advance(close.size());
      while (i < t.size()) {
        if (c == '"' && t[i] == '\\') {
          advance(1);
          while (i < t.size() &&
                 (t[i] == ' ' || t[i] == '\t' || (multi && (t[i] == '\r' || t[i] == '\n')))) {
            advance(1);
          }
          if (non_ascii(i)) {
            return here("a non-ASCII character after a backslash in a string: write it as "
                        "\\uXXXX, or start the line with an ASCII character");
          }
          advance(1);
        } else if (t.substr(i, close.size()) == close) {
          advance(close.size());
          break;
        } else if (!multi && t[i] == '\n') {
          break;  // unterminated: toml++ reports it
        } else {
          wide = wide || non_ascii(i);
          advance(1);
        }
      }
      // A key: in a header, or followed by '=' or '.'.
      std::size_t next = i;
      while (next < t.size() && (t[next] == ' ' || t[next] == '\t')) ++next;
      if (wide && (header || (next < t.size() && (t[next] == '=' || t[next] == '.')))) {
        return key_problem;
      }
      prev = c;
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      return here("a non-ASCII character outside a string or comment: keys and values other "
                  "than strings are ASCII in TOML");
    } else {
      if (c == '[' || c == '{') {
        if (++depth > kMaxNesting) {
          return here(fmt::format("more than {} nested arrays, tables or table-header brackets: "
                                  "berth.toml needs at most a few levels",
                                  kMaxNesting));
        }
        key_dots = 0;
      } else if (c == ']' || c == '}') {
        if (depth > 0) --depth;
        key_dots = 0;
      } else if (c == '=' || c == ',' || c == '\n') {
        key_dots = 0;
      } else if (c == '.' && ++key_dots >= kMaxKeyParts) {
        return here(fmt::format("a key or table header with more than {} dotted parts: "
                                "berth.toml keys have at most a few",
                                kMaxKeyParts));
      }
      if (c == '[' && prev == '\n' && depth == 1) header = true;
      if (c == '\n' && depth == 0) header = false;
      // A line break inside brackets (a multi-line array) keeps what came before it.
      if (c != ' ' && c != '\t' && c != '\r' && (c != '\n' || depth == 0)) prev = c;
      advance(1);
    }
  }
  return std::nullopt;
}

}  // namespace

Result<RegistryDoc> ParseBerthToml(std::string_view text, std::string_view source) {
  Parser parser(source);
  if (text.size() > kMaxTomlBytes) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("{}: {} bytes is more than a berth.toml may hold ({} MiB)", source,
                            text.size(), kMaxTomlBytes >> 20));
  }
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark
  if (auto problem = PreScan(text)) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}:{}:{}: {}", source, problem->line,
                                                   problem->column, problem->what));
  }
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return std::unexpected(parser.At(e.source(), std::string(e.description())));
  }
  return parser.Parse(root);
}

}  // namespace berth::registry

#include "lint/connstr_parse.h"

#include <algorithm>
#include <array>
#include <string>

#include "lint/line_reader.h"

namespace berth::lint {
namespace {

constexpr std::array<std::string_view, 5> kServerKeys{"network address", "data source", "server",
                                                      "address", "addr"};
// Keys only SqlClient (System.Data.SqlClient, Microsoft.Data.SqlClient) strings carry: where
// one appears, Server=HOST:PORT is a SqlClient mistake, not another driver's syntax.
constexpr std::array<std::string_view, 6> kSqlClientKeys{
    "initial catalog", "integrated security", "trusted_connection", "trustservercertificate",
    "multipleactiveresultsets", "data source"};

// A line of hostile repetitions ("server=server=...") is read this far and no further.
constexpr std::size_t kMaxValuesPerLine = 64;

bool KeyStart(std::string_view lower, std::size_t at) {
  if (at == 0) return true;
  const char c = lower[at - 1];
  return c == ';' || c == '"' || c == '\'' || c == '>' || c == ' ' || c == '\t' || c == '{' ||
         c == ',' || c == '=';
}

}  // namespace

bool SqlServerHost(std::string_view host) {
  if (host.empty() || AsciiLower(host) == "(localdb)") return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_' || c == '(' || c == ')';
    if (!ok) return false;
  }
  return true;
}

bool SqlInstanceName(std::string_view name) {
  if (name.empty() || name.size() > 16) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '$' || c == '#';
    if (!ok) return false;
  }
  return true;
}

std::string SqlMapperService(std::string_view instance) {
  std::string name = "mssql.";
  for (char c : AsciiLower(instance)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    name += ok ? c : '-';
  }
  return name;
}

namespace {

struct Scanner {
  ConfigFormat format;
  std::string_view file;
  std::string_view base;  // the whole file: every Line views into it
  std::vector<PortDecl>* out;

  // `text`: the server value a fix rewrites, starting at column0.
  void Add(const Line& line, std::size_t column0, std::string key, std::string_view host,
           std::string_view instance, std::string_view text) {
    PortDecl d;
    d.where = Location{std::string(file), line.number, static_cast<int>(column0) + 1};
    d.offset = static_cast<std::size_t>(line.text.data() - base.data()) + column0;
    d.text = std::string(text);
    d.text_offset = d.offset;
    d.key_path = std::move(key);
    d.format = format;
    d.kind = DeclKind::kTarget;
    d.address = std::string(host);
    if (!instance.empty()) {
      d.mapper = Mapper::kSqlBrowser;
      d.instance = std::string(instance);
      d.service = SqlMapperService(instance);
    }
    out->push_back(std::move(d));
  }

  // Server=VALUE: VALUE is [tcp:]HOST[\INSTANCE][,PORT] (backslashes doubled in JSON).
  void AdoValue(const Line& line, std::string_view lower, std::size_t start, std::string_view key) {
    std::size_t end = line.text.find_first_of(";\"'<", start);
    if (end == std::string_view::npos) end = line.text.size();
    std::string_view v = line.text.substr(start, end - start);
    std::size_t off = start;
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\\')) v.remove_suffix(1);
    if (v.size() >= 4 && EqualsIgnoreCase(v.substr(0, 4), "tcp:")) {
      v.remove_prefix(4);
      off += 4;
    } else if (v.starts_with("np:") || v.starts_with("lpc:") || v.starts_with("NP:")) {
      return;  // named pipes and shared memory use no port
    }
    if (v.empty()) return;
    const std::size_t slash = v.find('\\');
    if (slash != std::string_view::npos) {
      std::string_view host = v.substr(0, slash);
      std::size_t i = slash;
      while (i < v.size() && v[i] == '\\') ++i;
      std::string_view rest = v.substr(i);
      if (rest.find(',') != std::string_view::npos) return;  // HOST\INSTANCE,PORT: no mapper
      if (!SqlServerHost(host) || !SqlInstanceName(rest)) return;  // a file path, LocalDB
      Add(line, off, std::string(key), host, rest, v);
      return;
    }
    const std::size_t colon = v.find(':');
    if (colon == std::string_view::npos || v.find(':', colon + 1) != std::string_view::npos) return;
    if (!ParsePortNumber(Trim(v.substr(colon + 1)))) return;
    bool sqlclient = false;
    for (std::string_view k : kSqlClientKeys) sqlclient = sqlclient || lower.find(k) != std::string::npos;
    if (!sqlclient) return;
    Add(line, off, std::string(key), v.substr(0, colon), {}, v);
    PortDecl& d = out->back();
    d.host_port = true;
    if (auto p = ParsePortNumber(Trim(v.substr(colon + 1)))) d.ports = PortRange{*p, *p};
  }

  // jdbc:sqlserver://HOST[\INSTANCE][:PORT][;prop=value...] and jdbc:jtds:sqlserver://HOST[:PORT][/DB][;instance=X]
  void Jdbc(const Line& line, std::string_view lower, std::size_t at, bool jtds) {
    const std::size_t prefix = jtds ? std::string_view("jdbc:jtds:sqlserver://").size()
                                    : std::string_view("jdbc:sqlserver://").size();
    const std::size_t start = at + prefix;
    std::size_t end = line.text.find_first_of("\"'< \t", start);
    if (end == std::string_view::npos) end = line.text.size();
    std::string_view url = line.text.substr(start, end - start);
    std::string_view lurl = lower.substr(start, end - start);
    const std::size_t semi = url.find(';');
    std::string_view hostpart = url.substr(0, semi);
    if (jtds) hostpart = hostpart.substr(0, hostpart.find('/'));
    std::string_view props = semi == std::string_view::npos ? std::string_view{} : lurl.substr(semi);
    std::string_view host = hostpart;
    std::string_view instance;
    const std::size_t slash = hostpart.find('\\');
    if (slash != std::string_view::npos) {
      host = hostpart.substr(0, slash);
      std::size_t i = slash;
      while (i < hostpart.size() && hostpart[i] == '\\') ++i;
      instance = hostpart.substr(i);
    }
    bool has_port = false;
    if (const std::size_t colon = (instance.empty() ? host : instance).find(':');
        colon != std::string_view::npos) {
      has_port = true;
      if (instance.empty()) host = host.substr(0, colon);
      else instance = instance.substr(0, colon);
    }
    has_port = has_port || props.find(";portnumber=") != std::string_view::npos ||
               props.find(";port=") != std::string_view::npos;
    const std::string_view key = jtds ? ";instance=" : ";instancename=";
    if (const std::size_t k = props.find(key); k != std::string_view::npos) {
      std::string_view v = url.substr(semi + k + key.size());
      instance = v.substr(0, v.find(';'));
    }
    if (has_port || !SqlServerHost(host) || !SqlInstanceName(instance)) return;
    Add(line, start, jtds ? "jdbc:jtds" : "jdbc:sqlserver", host, instance, hostpart);
  }

  // go-mssqldb: sqlserver://[USER[:PASSWORD]@]HOST[:PORT][/INSTANCE][?...]: an instance and no
  // port asks the Browser. `at` is where "sqlserver://" starts.
  void GoUrl(const Line& line, std::size_t at) {
    const std::size_t start = at + std::string_view("sqlserver://").size();
    std::size_t end = line.text.find_first_of("\"'` \t<>", start);
    if (end == std::string_view::npos) end = line.text.size();
    const std::string_view url = line.text.substr(start, end - start);
    const std::size_t slash = url.find_first_of("/?");
    if (slash == std::string_view::npos || url[slash] != '/') return;
    const std::string_view authority = url.substr(0, slash);
    const std::size_t user = authority.rfind('@');
    const std::size_t host_at = user == std::string_view::npos ? 0 : user + 1;
    const std::string_view host = authority.substr(host_at);
    std::string_view instance = url.substr(slash + 1);
    instance = instance.substr(0, instance.find_first_of("/?"));
    if (!SqlServerHost(host) || !SqlInstanceName(instance)) return;  // a port, or no instance
    if (AsciiLower(url).find("port=") != std::string::npos) return;
    Add(line, start + host_at, "sqlserver", host, instance, {});
  }

  // pymssql: server='HOST\\INSTANCE' (or host=, r'HOST\INSTANCE') in a call, and no port= on
  // the line. `at` is where the key starts, `key` its length.
  void Pymssql(const Line& line, std::string_view lower, std::size_t at, std::size_t key) {
    if (at > 0 && lower[at - 1] != '(' && lower[at - 1] != ',' && lower[at - 1] != ' ' &&
        lower[at - 1] != '\t') {
      return;
    }
    std::size_t v = at + key;
    if (v < lower.size() && lower[v] == 'r') ++v;
    if (v >= lower.size() || (lower[v] != '\'' && lower[v] != '"')) return;
    const char quote = lower[v];
    const std::size_t close = lower.find(quote, v + 1);
    if (close == std::string_view::npos) return;
    const std::string_view value = line.text.substr(v + 1, close - v - 1);
    const std::size_t slash = value.find('\\');
    if (slash == std::string_view::npos) return;
    const std::string_view host = value.substr(0, slash);
    std::size_t i = slash;
    while (i < value.size() && value[i] == '\\') ++i;
    const std::string_view instance = value.substr(i);
    if (!SqlServerHost(host) || !SqlInstanceName(instance)) return;  // ",PORT" or ":PORT" fails
    if (lower.find("port=") != std::string_view::npos) return;
    Add(line, v + 1, "pymssql", host, instance, {});
  }
};

}  // namespace

Result<std::vector<PortDecl>> ParseConnectionStrings(ConfigFormat format, std::string_view file,
                                                    std::string_view text) {
  std::vector<PortDecl> out;
  const std::vector<Line> lines = BERTH_TRY(SplitLines(text));
  Scanner s{format, file, text, &out};
  for (const Line& line : lines) {
    // Cheapest filter first, before the lower-case copy: every form has '=' or "://".
    if (line.text.find('=') == std::string_view::npos &&
        line.text.find("://") == std::string_view::npos) {
      continue;
    }
    const std::string lower = AsciiLower(line.text);
    // Cheap filter: every form has '=' or "sqlserver://".
    if (lower.find('=') == std::string::npos && lower.find("sqlserver://") == std::string::npos) continue;
    std::vector<std::size_t> seen;  // value starts already read ("network address" holds "address")
    for (std::string_view key : kServerKeys) {
      for (std::size_t at = lower.find(key); at != std::string::npos; at = lower.find(key, at + 1)) {
        if (!KeyStart(lower, at)) continue;
        std::size_t v = at + key.size();
        while (v < lower.size() && (lower[v] == ' ' || lower[v] == '\t')) ++v;
        if (v >= lower.size() || lower[v] != '=') continue;
        ++v;
        while (v < lower.size() && (lower[v] == ' ' || lower[v] == '\t')) ++v;
        if (std::find(seen.begin(), seen.end(), v) != seen.end()) continue;
        if (seen.size() >= kMaxValuesPerLine) break;
        seen.push_back(v);
        s.AdoValue(line, lower, v, std::string(line.text.substr(at, key.size())));
      }
    }
    for (std::size_t at = lower.find("jdbc:sqlserver://"); at != std::string::npos;
         at = lower.find("jdbc:sqlserver://", at + 1)) {
      s.Jdbc(line, lower, at, false);
    }
    for (std::size_t at = lower.find("jdbc:jtds:sqlserver://"); at != std::string::npos;
         at = lower.find("jdbc:jtds:sqlserver://", at + 1)) {
      s.Jdbc(line, lower, at, true);
    }
    for (std::size_t at = lower.find("sqlserver://"); at != std::string::npos;
         at = lower.find("sqlserver://", at + 1)) {
      if (at > 0 && lower[at - 1] == ':') continue;  // jdbc:sqlserver://, jdbc:jtds:sqlserver://
      s.GoUrl(line, at);
    }
    for (std::string_view key : {std::string_view("server="), std::string_view("host=")}) {
      std::size_t found = 0;
      for (std::size_t at = lower.find(key); at != std::string::npos && found < kMaxValuesPerLine;
           at = lower.find(key, at + 1), ++found) {
        s.Pymssql(line, lower, at, key.size());
      }
    }
  }
  return out;
}

}  // namespace berth::lint

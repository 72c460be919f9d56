// Readers of the SQL Server client files that are INI-like (declared in conf_reader.h):
// odbc.ini's DSNs and freetds.conf's servers. A named instance without a port is a client of
// the SQL Server Browser (a port mapper). Through the one line reader; input is untrusted.
// Only the host, the port and the instance are kept: passwords never reach a declaration.
// Pure; thread-safe.
#include <optional>
#include <string>

#include "lint/conf_reader.h"
#include "lint/connstr_parse.h"

namespace berth::lint {
namespace {

// One key of a section: where its value is.
struct Setting {
  const Line* line = nullptr;
  std::string_view value;
  int column = 0;
};

// An INI section's keys that matter here (case-insensitive, blanks in keys kept: FreeTDS
// writes "tds version").
struct Section {
  std::string name;
  std::optional<Setting> server;    // odbc.ini Server=, freetds.conf host =
  std::optional<Setting> port;
  std::optional<Setting> instance;  // freetds.conf instance =
};

// Calls done(section) for every [section] of `lines` with its settings; `server_key` is the
// lower-case key that names the server.
template <class Done>
void ForEachSection(const std::vector<Line>& lines, std::string_view server_key, Done done) {
  Section s;
  bool open = false;
  for (const Line& line : lines) {
    const std::string_view t = Trim(line.text);
    if (t.empty() || t.front() == '#' || t.front() == ';') continue;
    if (t.front() == '[') {
      if (open) done(s);
      s = Section{std::string(t), {}, {}, {}};
      open = true;
      continue;
    }
    auto kv = SplitKeyValue(line.text, "=");
    if (!kv || kv->value.empty()) continue;
    const std::string key = AsciiLower(kv->key);
    Setting at{&line, kv->value, kv->value_column};
    if (key == server_key) s.server = at;
    else if (key == "port") s.port = at;
    else if (key == "instance") s.instance = at;
  }
  if (open) done(s);
}

// HOST of "[tcp:]HOST[\INSTANCE][,PORT]" (odbc.ini's Server).
std::string_view ServerHost(std::string_view server) {
  if (server.size() >= 4 && EqualsIgnoreCase(server.substr(0, 4), "tcp:")) server.remove_prefix(4);
  return server.substr(0, server.find_first_of("\\,"));
}

void AddPort(const Section& s, std::string_view host, ConfReader& r) {
  if (!s.port) return;
  auto port = ParsePortNumber(s.port->value);
  if (!port) return;
  PortDecl& d = r.Add(*s.port->line, s.port->column, s.name + ".port", PortRange{*port, *port});
  d.kind = DeclKind::kTarget;
  d.address = std::string(host);
}

void AddInstance(const Setting& where, std::string_view host,
                      std::string_view instance, std::string key, ConfReader& r) {
  PortDecl& d = r.Add(*where.line, where.column, std::move(key), PortRange{1434, 1434});
  d.kind = DeclKind::kTarget;
  d.proto = Protocol::kUdp;
  d.mapper = Mapper::kSqlBrowser;
  d.address = std::string(host);
  d.instance = std::string(instance);
  d.service = SqlMapperService(instance);
}

}  // namespace

// odbc.ini: per DSN, Port = N (a target), and Server = [tcp:]HOST\INSTANCE with no ",PORT" and
// no Port key: the driver asks the Browser.
void ReadOdbcIni(const std::vector<Line>& lines, ConfReader& r) {
  ForEachSection(lines, "server", [&r](const Section& s) {
    const std::string_view host = s.server ? ServerHost(s.server->value) : std::string_view{};
    AddPort(s, host, r);
    if (!s.server || s.port) return;
    std::string_view v = s.server->value;
    int column = s.server->column;
    if (v.size() >= 4 && EqualsIgnoreCase(v.substr(0, 4), "tcp:")) {
      v.remove_prefix(4);
      column += 4;
    }
    const std::size_t slash = v.find('\\');
    if (slash == std::string_view::npos || v.find(',') != std::string_view::npos) return;
    const std::string_view instance = v.substr(slash + 1);
    if (!SqlServerHost(host) || !SqlInstanceName(instance)) return;
    // No edit: Microsoft's driver takes HOST\INSTANCE,PORT, FreeTDS's a Port key.
    AddInstance(Setting{s.server->line, v, column}, host, instance, s.name + ".Server", r);
  });
}

// freetds.conf: per server, port = N (a target), and instance = NAME: FreeTDS asks the
// Browser for the instance's port (docs/lint.md).
void ReadFreetds(const std::vector<Line>& lines, ConfReader& r) {
  ForEachSection(lines, "host", [&r](const Section& s) {
    const std::string_view host = s.server ? s.server->value : std::string_view{};
    AddPort(s, host, r);
    if (!s.instance || !SqlInstanceName(s.instance->value)) return;
    AddInstance(*s.instance, host, s.instance->value, s.name + ".instance", r);
  });
}

}  // namespace berth::lint

// Shared by the line-format readers of src/lint (conf_parse.cc, systemd_parse.cc), not used
// elsewhere: where a reader adds its declarations, and the host:port splitting they share.
// Pure; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lint/line_reader.h"
#include "lint/port_decl.h"

namespace berth::lint {

struct ConfReader {
  ConfigFormat format;
  std::string_view file;
  std::string_view base;  // the whole file: every Line views into it
  std::vector<PortDecl>* out;

  // A declaration at `column` (1-based) of `line`, its byte offset computed from `base`.
  PortDecl& Add(const Line& line, int column, std::string key_path, PortRange ports) {
    PortDecl d;
    d.where = Location{std::string(file), line.number, column};
    d.offset = static_cast<std::size_t>(line.text.data() - base.data()) +
               static_cast<std::size_t>(column - 1);
    d.key_path = std::move(key_path);
    d.format = format;
    d.ports = ports;
    out->push_back(std::move(d));
    return out->back();
  }
};

// The last path component.
std::string_view BaseName(std::string_view path);

// "80", "0.0.0.0:80", "[::1]:80", "*:80", "localhost:80" -> address and port text; the
// address is "" when absent or a wildcard; an address alone has no port text.
struct HostPort {
  std::string_view address;
  std::string_view port;
  std::size_t port_offset = 0;  // of port within the input
};
std::optional<HostPort> SplitHostPort(std::string_view s);

// systemd units (systemd_parse.cc).
void ReadSystemdSocket(const std::vector<Line>& lines, ConfReader& r);
void ReadSystemdService(const std::vector<Line>& lines, ConfReader& r);

// HAProxy and Apache (server_conf_parse.cc).
void ReadHaproxy(const std::vector<Line>& lines, ConfReader& r);
void ReadApache(const std::vector<Line>& lines, ConfReader& r);

// odbc.ini and freetds.conf (odbc_parse.cc).
void ReadOdbcIni(const std::vector<Line>& lines, ConfReader& r);
void ReadFreetds(const std::vector<Line>& lines, ConfReader& r);

}  // namespace berth::lint

// Which reader a file goes to, by its name and, where the name says little, its content; and
// reading one file's declarations with it (plus the connection strings any text may hold).
// Pure (the caller reads the file); thread-safe.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "lint/port_decl.h"

namespace berth::lint {

// The format of the file at `path` with content `text` (a prefix is enough), or nullopt
// for a file berth lint does not read. Names: *.socket; *.service; sshd_config and sshd_config.d/*;
// postgresql*.conf; redis*.conf; my.cnf and *.cnf; nginx.conf, *.nginx and files under an
// nginx/ directory; .env, *.env, .env.*; *.properties; compose*.y(a)ml and
// docker-compose*.y(a)ml (kCompose), other *.yml/*.yaml (kYaml: the reader tells Kubernetes
// documents apart); haproxy.cfg and *.cfg under haproxy/ (kHaproxy); apache2.conf,
// httpd.conf, ports.conf and *.conf under apache2/ or httpd/ (kApache); odbc.ini (kOdbc);
// freetds.conf (kFreetds); appsettings*.json, config.json, config.*.json, *.config.json and
// *.json under a config/ directory (kJson);
// *.config and server.xml (kXml); *.ini (kText: connection strings); with `text` (a file
// named or included), any other *.json (kJson) or *.xml (kXml);
// another *.conf whose content has a <VirtualHost> (kApache) or an nginx "server {" block
// (kNginx).
std::optional<ConfigFormat> DetectFormat(std::string_view path, std::string_view text);

// The declarations of one file read as `format` (a kXml file that does not start with '<',
// such as Debian's manpath.config, is read as text): the format's reader, then connection
// strings (every format but nginx, sshd, systemd units, HAProxy, Apache, odbc.ini and
// freetds.conf, whose reader reads their servers). Failure: the reader's kMalformed.
[[nodiscard]] Result<std::vector<PortDecl>> ReadPortDecls(ConfigFormat format,
                                                         std::string_view path,
                                                         std::string_view text);

}  // namespace berth::lint

// Readers of the line-oriented formats: systemd .socket and .service units, nginx, sshd_config,
// postgresql.conf, redis.conf, my.cnf, .env, .properties, HAProxy, Apache, odbc.ini and
// freetds.conf. Each turns a file's bytes into
// the port declarations it makes (for a .service unit: its dependence on rpcbind), with
// 1-based line and column; all go through the one line reader (lint/line_reader.h). Input is
// untrusted. Pure; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "base/error.h"
#include "lint/port_decl.h"

namespace berth::lint {

// The declarations of `text`, read as `format` (one of the line formats: kSystemdSocket,
// kSystemdService, kNginx, kSshd, kPostgresql, kRedis, kMysql, kEnv, kProperties, kHaproxy,
// kApache, kOdbc, kFreetds; any other format yields none). `file` names the file in each Location, and its base name is the service of a
// systemd socket unit. Failure: kMalformed from SplitLines (an overlong line, a NUL byte).
[[nodiscard]] Result<std::vector<PortDecl>> ParseConfPorts(ConfigFormat format,
                                                          std::string_view file,
                                                          std::string_view text);

// A key that names a port: one of its words (split at _ . - and at lower-to-upper case
// changes) is "port": PORT, DB_PORT, server.port, listenPort.
bool IsPortKey(std::string_view key);

// A port key a server takes (PORT, server.port, http_port, anything with "listen"); other
// port keys are a client's target.
bool IsListenKey(std::string_view key);

}  // namespace berth::lint

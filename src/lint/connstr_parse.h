// Connection strings that depend on a port mapper, found in any text (appsettings.json,
// web.config, .env, .properties, odbc.ini, YAML): ADO.NET / ODBC `Server=`, `Data Source=`,
// `Address=`, `Addr=`, `Network Address=` naming HOST\INSTANCE without ",PORT"; JDBC
// `jdbc:sqlserver://host\instance` or `;instanceName=` without a port; jTDS `;instance=`; and
// SqlClient's invalid HOST:PORT. Only the host and the instance are kept: passwords and the
// rest of the string never reach a declaration. Input is untrusted. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "lint/port_decl.h"

namespace berth::lint {

// The client declarations in `text`: Mapper::kSqlBrowser for a named instance without a
// port (service "mssql.INSTANCE", lower-case), host_port for Server=HOST:PORT in a SqlClient
// string. `format` is recorded in each declaration. Failure: kMalformed from SplitLines.
[[nodiscard]] Result<std::vector<PortDecl>> ParseConnectionStrings(ConfigFormat format,
                                                                  std::string_view file,
                                                                  std::string_view text);

// A SQL Server host as clients write it: a DNS name, an address, "." or "(local)"; not a
// drive letter, a path or LocalDB's "(localdb)" (named pipes, no Browser).
bool SqlServerHost(std::string_view host);

// A SQL Server instance name: letters, digits, '_', '$' and '#', at most 16.
bool SqlInstanceName(std::string_view name);

// The registry's name for a named instance: "mssql." and the instance, lower-case, other
// characters as '-'.
std::string SqlMapperService(std::string_view instance);

}  // namespace berth::lint

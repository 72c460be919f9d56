#include "lint/format.h"

#include <string>

#include "lint/conf_parse.h"
#include "lint/conf_reader.h"
#include "lint/connstr_parse.h"
#include "lint/json_parse.h"
#include "lint/line_reader.h"
#include "lint/xml_parse.h"
#include "lint/yaml_parse.h"

namespace berth::lint {
namespace {

bool HasDir(std::string_view path, std::string_view dir) {
  const std::string needle = "/" + std::string(dir) + "/";
  return ("/" + std::string(path)).find(needle) != std::string::npos;
}

bool LooksLikeApache(std::string_view text) {
  const std::string head = AsciiLower(text.substr(0, 64 * 1024));
  return head.find("<virtualhost") != std::string::npos;
}

bool LooksLikeNginx(std::string_view text) {
  const std::string_view head = text.substr(0, 64 * 1024);
  return head.find("server {") != std::string_view::npos ||
         head.find("server{") != std::string_view::npos ||
         head.find("http {") != std::string_view::npos;
}

// XML starts with '<' (after a byte order mark and blanks); a *.config that does not (Debian's
// manpath.config) is text.
bool LooksLikeXml(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '<';
}

}  // namespace

std::optional<ConfigFormat> DetectFormat(std::string_view path, std::string_view text) {
  const std::string base = AsciiLower(BaseName(path));
  auto ends = [&base](std::string_view s) { return base.ends_with(s); };
  const bool yaml = ends(".yml") || ends(".yaml");
  if (ends(".socket")) return ConfigFormat::kSystemdSocket;
  if (ends(".service")) return ConfigFormat::kSystemdService;
  if (base == "sshd_config" || (HasDir(path, "sshd_config.d") && ends(".conf"))) {
    return ConfigFormat::kSshd;
  }
  if (base.starts_with("postgresql") && ends(".conf")) return ConfigFormat::kPostgresql;
  if (base == "haproxy.cfg" || (HasDir(path, "haproxy") && ends(".cfg"))) return ConfigFormat::kHaproxy;
  if (base == "apache2.conf" || base == "httpd.conf" || base == "ports.conf" ||
      ((HasDir(path, "apache2") || HasDir(path, "httpd")) && ends(".conf"))) {
    return ConfigFormat::kApache;
  }
  if (base == "odbc.ini" || base == ".odbc.ini") return ConfigFormat::kOdbc;
  if (base == "freetds.conf" || base == ".freetds.conf") return ConfigFormat::kFreetds;
  if (base.starts_with("redis") && ends(".conf")) return ConfigFormat::kRedis;
  if (ends(".cnf")) return ConfigFormat::kMysql;
  if (base == "nginx.conf" || ends(".nginx")) return ConfigFormat::kNginx;
  if (base == ".env" || ends(".env") || base.starts_with(".env.")) return ConfigFormat::kEnv;
  if (ends(".properties")) return ConfigFormat::kProperties;
  if (yaml && (base.starts_with("compose") || base.starts_with("docker-compose"))) {
    return ConfigFormat::kCompose;
  }
  if (yaml) return ConfigFormat::kYaml;
  // JSON configuration by name: .NET's appsettings, config.json and config.*.json,
  // *.config.json, and node-config's config/*.json (not tsconfig.json or package.json).
  if (ends(".json") && (base.starts_with("appsettings") || base.starts_with("config.") ||
                         ends(".config.json") || HasDir(path, "config"))) {
    return ConfigFormat::kJson;
  }
  if (ends(".config") || base == "server.xml") return ConfigFormat::kXml;
  if (ends(".ini")) return ConfigFormat::kText;
  if (HasDir(path, "nginx") && !ends(".types") && !ends("_params") && !ends(".default")) {
    return ConfigFormat::kNginx;
  }
  // Any other JSON or XML file is read as such when it is named or included (then it has text).
  if (!text.empty() && ends(".json")) return ConfigFormat::kJson;
  if (!text.empty() && ends(".xml")) return ConfigFormat::kXml;
  if (ends(".conf") && LooksLikeApache(text)) return ConfigFormat::kApache;
  if (ends(".conf") && LooksLikeNginx(text)) return ConfigFormat::kNginx;
  return std::nullopt;
}

Result<std::vector<PortDecl>> ReadPortDecls(ConfigFormat format, std::string_view path,
                                           std::string_view text) {
  std::vector<PortDecl> decls;
  switch (format) {
    case ConfigFormat::kCompose:
    case ConfigFormat::kKubernetes:
    case ConfigFormat::kYaml:
    case ConfigFormat::kEnvoy:
      decls = BERTH_TRY(ParseYamlPorts(path, text, format == ConfigFormat::kCompose));
      break;
    case ConfigFormat::kJson: decls = BERTH_TRY(ParseJsonPorts(path, text)); break;
    case ConfigFormat::kXml:
      if (LooksLikeXml(text)) decls = BERTH_TRY(ParseXmlPorts(path, text));
      break;
    case ConfigFormat::kText: break;
    default: decls = BERTH_TRY(ParseConfPorts(format, path, text)); break;
  }
  // Formats that hold no connection string, and the client files read as such already.
  if (format == ConfigFormat::kNginx || format == ConfigFormat::kSshd ||
      format == ConfigFormat::kSystemdSocket || format == ConfigFormat::kSystemdService ||
      format == ConfigFormat::kHaproxy || format == ConfigFormat::kApache ||
      format == ConfigFormat::kOdbc || format == ConfigFormat::kFreetds) {
    return decls;
  }
  auto clients = BERTH_TRY(ParseConnectionStrings(format, path, text));
  for (PortDecl& d : clients) decls.push_back(std::move(d));
  return decls;
}

}  // namespace berth::lint

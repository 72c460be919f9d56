// Fuzz target: berth lint's line readers (systemd sockets and services, nginx, sshd, postgresql, redis, my.cnf,
// .env, .properties) and the connection-string reader, the format chosen by the first byte,
// then the rules over what they found.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lint/format.h"
#include "lint/rules.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using berth::lint::ConfigFormat;
  constexpr ConfigFormat kFormats[] = {
      ConfigFormat::kSystemdSocket, ConfigFormat::kNginx, ConfigFormat::kSshd,
      ConfigFormat::kPostgresql,    ConfigFormat::kRedis, ConfigFormat::kMysql,
      ConfigFormat::kEnv,           ConfigFormat::kProperties, ConfigFormat::kText,
      ConfigFormat::kSystemdService};
  const ConfigFormat format = kFormats[data[0] % (sizeof kFormats / sizeof kFormats[0])];
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto decls = berth::lint::ReadPortDecls(format, "fuzz.conf", text);
  if (!decls) return 0;
  for (const auto& d : *decls) {
    if (d.where.line < 1 || d.where.column < 1) __builtin_trap();
    if (d.ports.low > d.ports.high) __builtin_trap();
  }
  (void)berth::lint::ApplyRules(*decls, {});
  return 0;
}

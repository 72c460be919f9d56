// Fuzz target: berth lint's YAML reader (yaml-cpp plus the Compose, Kubernetes and plain
// walks), then the rules over what it found. Any input must give declarations or an error,
// never a crash, and every declaration a position inside the input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lint/rules.h"
#include "lint/yaml_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool compose = size > 0 && (data[0] & 1) != 0;
  auto decls = berth::lint::ParseYamlPorts("fuzz.yaml", text, compose);
  if (!decls) return 0;
  for (const auto& d : *decls) {
    if (d.where.line < 1 || d.where.column < 1) __builtin_trap();
  }
  (void)berth::lint::ApplyRules(*decls, {});
  return 0;
}

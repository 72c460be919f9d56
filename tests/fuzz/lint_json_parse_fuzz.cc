// Fuzz target: berth lint's the JSON reader (nlohmann's SAX parser, positions recovered from how far it read). Any input must give declarations or an error, never a
// crash, and the declarations must pass CheckLintDecls (offsets, lines and columns right).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lint_decl_check.h"
#include "lint/json_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto decls = berth::lint::ParseJsonPorts("fuzz.json", text)) CheckLintDecls(text, *decls);
  return 0;
}

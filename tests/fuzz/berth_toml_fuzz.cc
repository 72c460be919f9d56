// Fuzz target: berth.toml parsing and validation (src/registry/berth_toml_parse.cc) must never
// crash or hang, and whatever it accepts must format and re-parse to the same text.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "registry/berth_toml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The parser bounds key parts and nesting before toml++ (recursive) sees the text; inputs
  // up to 128 KiB reach the 40,000-part fixtures (huge_header.toml, huge_dotted_key.toml).
  if (size > 1 << 17) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = berth::registry::ParseBerthToml(text, "fuzz.toml");
  if (!doc) return 0;
  const std::string once = berth::registry::FormatBerthToml(*doc);
  auto again = berth::registry::ParseBerthToml(once, "once.toml");
  if (!again || berth::registry::FormatBerthToml(*again) != once) std::abort();
  return 0;
}

// Fuzz target: the bodies berth serve accepts (POST /api/v1/assign, /api/v1/release) are
// untrusted bytes. No parser may crash or throw; what it accepts is within its bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/request_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  namespace server = berth::server;
  if (auto a = server::ParseAssignBody(body)) {
    if (a->name.empty() || a->name.size() > server::kMaxFieldBytes ||
        a->owner.size() > server::kMaxFieldBytes || size > server::kMaxRequestBody ||
        (a->port && *a->port == 0)) {
      __builtin_trap();
    }
  }
  if (auto r = server::ParseReleaseBody(body)) {
    if (r->names.empty() || r->names.size() > server::kMaxReleaseNames + 1) __builtin_trap();
  }
  return 0;
}

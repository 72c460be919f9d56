// The page's files (src/server/page), embedded into the binary at build time
// (src/server/embed_assets.cmake): served as they are, nothing fetched from elsewhere.
// Read-only; thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace berth::server {

struct Asset {
  std::string_view path;  // "/", "/app.js", "/style.css", "/favicon.svg"
  std::string_view type;  // its Content-Type
  std::string_view body;
};

std::span<const Asset> Assets();

}  // namespace berth::server

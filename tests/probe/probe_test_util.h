// Fixture loading for the probe unit tests: bytes captured from real peers
// (tests/fixtures/probe/*.bin, extracted from shared/data/captures with tshark).
#pragma once

#include <cstddef>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace berth::probe::test {

inline std::vector<std::byte> Fixture(const std::string& name) {
  std::ifstream in(std::string(BERTH_FIXTURES) + "/probe/" + name, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) out[i] = static_cast<std::byte>(raw[i]);
  return out;
}

inline std::vector<std::byte> Bytes(std::string_view s) {
  std::vector<std::byte> out;
  for (char c : s) out.push_back(static_cast<std::byte>(c));
  return out;
}

}  // namespace berth::probe::test

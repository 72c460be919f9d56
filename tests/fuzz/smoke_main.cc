// A libFuzzer-compatible driver for plain builds: runs LLVMFuzzerTestOneInput on every file
// in a fixtures folder, then on a bounded number of deterministic mutations of them, so
// `make test` smoke-tests every codec under ASan/UBSan without clang. `make fuzz` links the
// same targets with libFuzzer instead.
// Usage: NAME_smoke FIXTURE_DIR [MUTATIONS]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FIXTURE_DIR [MUTATIONS]\n", argv[0]);
    return 2;
  }
  const long mutations = argc > 2 ? std::atol(argv[2]) : 10000;
  std::vector<std::vector<std::uint8_t>> corpus;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(argv[1], ec)) {
    std::ifstream in(e.path(), std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "%s: no fixtures in %s\n", argv[0], argv[1]);
    return 1;
  }
  for (const auto& c : corpus) LLVMFuzzerTestOneInput(c.data(), c.size());
  std::mt19937_64 rng(0x6265727468);  // fixed seed: a failure reproduces
  for (long i = 0; i < mutations; ++i) {
    std::vector<std::uint8_t> buf = corpus[rng() % corpus.size()];
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < edits; ++k) {
      switch (rng() % 5) {
        case 0: if (!buf.empty()) buf[rng() % buf.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
        case 1: if (!buf.empty()) buf[rng() % buf.size()] = static_cast<std::uint8_t>(rng()); break;
        case 2: if (!buf.empty()) buf.resize(rng() % buf.size()); break;  // truncate
        case 3: buf.insert(buf.begin() + static_cast<long>(buf.empty() ? 0 : rng() % buf.size()), static_cast<std::uint8_t>(rng())); break;
        case 4: if (buf.size() >= 4) { std::size_t at = rng() % (buf.size() - 3); std::uint32_t v = rng() % 3 == 0 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(rng() % 70000); std::memcpy(&buf[at], &v, 4); } break;
      }
    }
    LLVMFuzzerTestOneInput(buf.data(), buf.size());
  }
  std::printf("%s: %zu fixtures, %ld mutations, no crash\n", argv[0], corpus.size(), mutations);
  return 0;
}

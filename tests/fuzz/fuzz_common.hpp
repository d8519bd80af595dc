// fuzz_common.hpp — what the libFuzzer targets share: a private scratch directory, writing the input to a file
// (the readers take paths), splitting an input into NUL-separated parts, and the rule every target checks:
// malformed input may only end in a rerank::Error (or a subclass); anything else escapes and libFuzzer reports it.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "rerank/error.hpp"

namespace fuzz {

/// A directory of this process, removed and made anew by each call (so no input leaks into the next).
inline std::filesystem::path fresh_dir() {
  static const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("rerank-fuzz-" + std::to_string(::getpid()));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write(const std::filesystem::path& p, std::string_view bytes) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// `bytes` cut at NUL bytes into at most `n` parts (the last part keeps any further NULs).
inline std::vector<std::string_view> split(std::string_view bytes, size_t n) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < n) {
    size_t z = bytes.find('\0');
    if (z == std::string_view::npos) break;
    parts.push_back(bytes.substr(0, z));
    bytes.remove_prefix(z + 1);
  }
  parts.push_back(bytes);
  return parts;
}

/// Runs `fn`; a rerank::Error is the expected answer to malformed input.
template <class F>
void expect_typed_errors(F&& fn) {
  try {
    fn();
  } catch (const rerank::Error&) {
  }
}

}  // namespace fuzz

// Reading files and JSON with error messages that name the file.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace rerank::util {

/// The whole file as bytes. Throws ModelError naming the path when it cannot be read.
std::string read_file(const std::filesystem::path& path);

/// Parses `path` as JSON. Throws ModelError naming the path (and the parser's position) on failure.
nlohmann::json read_json(const std::filesystem::path& path);

/// Nesting allowed in any JSON the library reads (serde_json's limit, which Hugging Face tokenizers and TEI use).
/// nlohmann's parser is iterative but copying, comparing or dumping a value recurses once per level, so a
/// document nested 100,000 deep would overflow the stack later: every parse checks the depth first.
inline constexpr size_t kMaxJsonDepth = 128;

/// The offset of the first bracket nested deeper than `max_depth` in `text` (strings skipped), or npos.
size_t json_too_deep(std::string_view text, size_t max_depth = kMaxJsonDepth);

/// nlohmann::json::parse(text) after the depth check: a too deep document throws nlohmann's parse_error (id 101,
/// with the byte offset), like any other syntax error, so callers' existing handlers name the file or field.
nlohmann::json parse_json(std::string_view text);
/// The same without exceptions: a value for which is_discarded() holds when `text` is invalid or too deep.
nlohmann::json parse_json_or_discard(std::string_view text);

/// A read-only memory mapping of a whole file. Movable, not copyable.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);  // throws ModelError
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace rerank::util

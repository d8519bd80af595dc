// Reading files and JSON with error messages that name the file.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace rerank::util {

/// The whole file as bytes. Throws ModelError naming the path when it cannot be read.
std::string read_file(const std::filesystem::path& path);

/// Parses `path` as JSON. Throws ModelError naming the path (and the parser's position) on failure.
nlohmann::json read_json(const std::filesystem::path& path);

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

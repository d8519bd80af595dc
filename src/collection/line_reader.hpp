// Reading a (possibly gzip-compressed) file line by line, with byte progress for ETA.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace rerank::collection {

class LineReader {
 public:
  explicit LineReader(const std::filesystem::path& path);  ///< throws InputError when unreadable
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// Next line without its "\n" / "\r\n"; false at end of file.
  bool next(std::string& line);
  size_t line_number() const { return line_; }
  uint64_t bytes_read() const;  ///< of the file on disk (compressed bytes for .gz)
  uint64_t bytes_total() const { return total_; }
  const std::string& name() const { return name_; }

 private:
  bool fill();
  gzFile gz_ = nullptr;  // zlib reads plain files transparently too
  std::string name_;
  std::string buf_;
  size_t pos_ = 0, line_ = 0;
  uint64_t total_ = 0;
  bool eof_ = false;
};

/// `s` with invalid UTF-8 sequences replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

}  // namespace rerank::collection

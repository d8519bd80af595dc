// Reading a (possibly gzip-compressed) file line by line, with byte progress for ETA.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace rerank::collection {

/// The longest line, and the largest document (a text file, a SMART/TREC record, a quoted CSV field), a reader
/// accepts: a 2 GB file without a newline is an error after 64 MiB, not 2 GB of memory.
inline constexpr size_t kMaxLineBytes = size_t{64} << 20;
inline constexpr size_t kMaxDocumentBytes = size_t{64} << 20;
/// A gzip stream that expands more than this ratio (checked once 64 MiB came out) is refused as a decompression
/// bomb: real text compresses 3-10x, a bomb of repeated bytes about 1000x (deflate's limit).
inline constexpr uint64_t kMaxGzipRatio = 500;

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
  /// Throws InputError naming the file and line when a document being assembled grew past kMaxDocumentBytes.
  void check_document_size(size_t bytes) const;

 private:
  bool fill();
  gzFile gz_ = nullptr;  // zlib reads plain files transparently too
  std::string name_;
  std::string buf_;
  size_t pos_ = 0, line_ = 0;
  uint64_t total_ = 0, out_ = 0;  // file size, bytes decompressed so far
  bool eof_ = false;
};

/// `s` with invalid UTF-8 sequences replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

}  // namespace rerank::collection

// Line reading over zlib's gz* API, which reads both plain and gzip files (see line_reader.hpp).
#include "collection/line_reader.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <cstring>

#include "rerank/error.hpp"

namespace rerank::collection {

LineReader::LineReader(const std::filesystem::path& path) : name_(path.string()) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw InputError(name_ + ": no such file");
  total_ = std::filesystem::file_size(path, ec);
  gz_ = gzopen(name_.c_str(), "rb");
  if (!gz_) throw InputError(name_ + ": cannot open: " + std::strerror(errno));
  gzbuffer(gz_, 1 << 17);
}

LineReader::~LineReader() {
  if (gz_) gzclose(gz_);
}

uint64_t LineReader::bytes_read() const {
  z_off_t off = gzoffset(gz_);
  return off < 0 ? 0 : static_cast<uint64_t>(off);
}

bool LineReader::fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  size_t old = buf_.size();
  buf_.resize(old + (1 << 16));
  int n = gzread(gz_, buf_.data() + old, 1 << 16);
  if (n < 0) {
    int err;
    const char* m = gzerror(gz_, &err);
    throw InputError(name_ + ": read error after line " + std::to_string(line_) + ": " + (m ? m : "?"));
  }
  buf_.resize(old + static_cast<size_t>(n));
  if (n == 0) eof_ = true;
  out_ += static_cast<uint64_t>(n);
  if (out_ > (uint64_t{64} << 20) && !gzdirect(gz_) && out_ > kMaxGzipRatio * std::max<uint64_t>(bytes_read(), 1))
    throw InputError(name_ + ": the gzip stream expands more than " + std::to_string(kMaxGzipRatio) + "x (" +
                     std::to_string(out_) + " bytes from " + std::to_string(bytes_read()) +
                     "): a decompression bomb, not a corpus");
  return n > 0;
}

void LineReader::check_document_size(size_t bytes) const {
  if (bytes > kMaxDocumentBytes)
    throw InputError(name_ + " line " + std::to_string(line_ + 1) + ": a document larger than " +
                     std::to_string(kMaxDocumentBytes >> 20) + " MiB");
}

bool LineReader::next(std::string& line) {
  while (true) {
    size_t nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      line.assign(buf_, pos_, nl - pos_);
      pos_ = nl + 1;
      break;
    }
    if (buf_.size() - pos_ > kMaxLineBytes)
      throw InputError(name_ + " line " + std::to_string(line_ + 1) + ": longer than " +
                       std::to_string(kMaxLineBytes >> 20) + " MiB (no newline): not a line-oriented file");
    if (!fill()) {
      if (pos_ >= buf_.size()) return false;
      line.assign(buf_, pos_, std::string::npos);
      pos_ = buf_.size();
      break;
    }
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  ++line_;
  return true;
}

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      out.push_back(s[i++]);
      continue;
    }
    int32_t c;
    utf8proc_ssize_t l = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(s.size() - i), &c);
    if (l <= 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, static_cast<size_t>(l)));
      i += static_cast<size_t>(l);
    }
  }
  return out;
}

}  // namespace rerank::collection

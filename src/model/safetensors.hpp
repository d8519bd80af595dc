// safetensors reader (https://huggingface.co/docs/safetensors — format: u64 LE header length, JSON header of
// {name: {dtype, shape, data_offsets}} and optional "__metadata__", then the raw little-endian data buffer).
// Files are memory-mapped; F32 tensors are used in place, F16/BF16/F64 are converted on request.
// A directory's weights are `model.safetensors` or shards listed in `model.safetensors.index.json`.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "util/files.hpp"

namespace rerank::model {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, OTHER };

struct TensorInfo {
  std::string name;
  DType dtype = DType::OTHER;
  std::string dtype_name;
  std::vector<int64_t> shape;
  const unsigned char* data = nullptr;  // into the mapping
  size_t nbytes = 0;
  std::string file;  // file name, for messages
  int64_t numel() const;
};

std::string shape_str(const std::vector<int64_t>& shape);

/// All tensors of one model: one file or several shards. Immutable after construction.
class TensorStore {
 public:
  /// Opens `dir/model.safetensors`, or the shards named by `dir/model.safetensors.index.json`. Throws ModelError.
  static TensorStore open_directory(const std::filesystem::path& dir);
  /// Opens one safetensors file. Throws ModelError with the file name on any format violation.
  void add_file(const std::filesystem::path& path);

  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  const TensorInfo& get(const std::string& name) const;  // throws ModelError if absent
  const std::map<std::string, TensorInfo>& all() const { return tensors_; }

  /// The tensor's values as float32 (converted from F16/BF16/F64 if needed). Throws ModelError for other dtypes.
  static std::vector<float> to_f32(const TensorInfo& t);
  /// Drops the tensor's whole pages from this process's resident memory (madvise MADV_DONTNEED on the read-only
  /// private mapping): after its values were converted or packed, they need not stay resident; a later read maps
  /// them again from the file. No effect on the values.
  static void release_pages(const TensorInfo& t);

 private:
  std::vector<std::unique_ptr<util::MappedFile>> files_;
  std::map<std::string, TensorInfo> tensors_;
};

/// IEEE half and bfloat16 to float.
float f16_to_f32(uint16_t h);
inline float bf16_to_f32(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

}  // namespace rerank::model

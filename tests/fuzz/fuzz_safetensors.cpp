// Fuzz target: safetensors headers and model.safetensors.index.json. Byte 0 picks the mode:
//  even: the rest is one .safetensors file (TensorStore::add_file), every tensor then converted to float32;
//  odd:  the rest is model.safetensors.index.json beside two small valid shards (TensorStore::open_directory).
#include <cstring>

#include "fuzz_common.hpp"
#include "model/safetensors.hpp"

namespace {

/// A valid safetensors file with one F32 tensor `name` of `n` values.
std::string shard(const std::string& name, size_t n) {
  const std::string header = "{\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(n) +
                             "],\"data_offsets\":[0," + std::to_string(4 * n) + "]}}";
  std::string s(8, '\0');
  const uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  return s + header + std::string(4 * n, '\0');
}

void convert_all(const rerank::model::TensorStore& ts) {
  for (const auto& [name, t] : ts.all()) {
    if (t.numel() < 0 || static_cast<uint64_t>(t.numel()) > (1u << 20)) continue;
    if (t.dtype == rerank::model::DType::F32 || t.dtype == rerank::model::DType::F16 ||
        t.dtype == rerank::model::DType::BF16 || t.dtype == rerank::model::DType::F64) {
      std::vector<float> v = rerank::model::TensorStore::to_f32(t);
      if (v.size() != static_cast<size_t>(t.numel())) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto dir = fuzz::fresh_dir();
  fuzz::expect_typed_errors([&] {
    if (data[0] % 2 == 0) {
      fuzz::write(dir / "model.safetensors", rest);
      rerank::model::TensorStore ts;
      ts.add_file(dir / "model.safetensors");
      convert_all(ts);
    } else {
      fuzz::write(dir / "model-00001-of-00002.safetensors", shard("a.weight", 3));
      fuzz::write(dir / "model-00002-of-00002.safetensors", shard("b.weight", 2));
      fuzz::write(dir / "model.safetensors.index.json", rest);
      convert_all(rerank::model::TensorStore::open_directory(dir));
    }
  });
  return 0;
}

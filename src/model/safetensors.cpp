#include "model/safetensors.hpp"

#include <nlohmann/json.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <limits>
#include <set>

#include "rerank/error.hpp"

namespace rerank::model {
namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // the reference implementation's limit

struct DTypeDesc {
  const char* name;
  DType dtype;
  size_t size;
};
constexpr DTypeDesc kDTypes[] = {
    {"F64", DType::F64, 8}, {"F32", DType::F32, 4}, {"F16", DType::F16, 2},   {"BF16", DType::BF16, 2},
    {"I64", DType::I64, 8}, {"I32", DType::I32, 4}, {"I16", DType::I16, 2},   {"I8", DType::I8, 1},
    {"U8", DType::U8, 1},   {"BOOL", DType::BOOL, 1}, {"U16", DType::OTHER, 2}, {"U32", DType::OTHER, 4},
    {"U64", DType::OTHER, 8}, {"F8_E4M3", DType::OTHER, 1}, {"F8_E5M2", DType::OTHER, 1}};

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // subnormal: renormalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      u = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

void TensorStore::add_file(const std::filesystem::path& path) {
  auto file = std::make_unique<util::MappedFile>(path);
  const std::string fname = path.string();
  const size_t size = file->size();
  if (size < 8) throw ModelError(fname + ": not a safetensors file (only " + std::to_string(size) + " bytes)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file->data()[i];
  if (n > kMaxHeader) throw ModelError(fname + ": safetensors header length " + std::to_string(n) + " is implausible (limit 100 MiB)");
  if (n > size - 8) {
    throw ModelError(fname + ": safetensors header length " + std::to_string(n) + " runs past the end of the file (" +
                     std::to_string(size) + " bytes): truncated or not a safetensors file");
  }
  nlohmann::json header;
  try {
    header = util::parse_json(std::string_view(reinterpret_cast<const char*>(file->data()) + 8, n));
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(fname + ": safetensors header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) throw ModelError(fname + ": safetensors header is not a JSON object");
  const unsigned char* buffer = file->data() + 8 + n;
  const uint64_t buffer_size = size - 8 - n;
  std::map<uint64_t, std::pair<uint64_t, std::string>> extents;  // begin -> (end, name): no two tensors may overlap
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const std::string where = fname + ": tensor '" + it.key() + "'";
    const auto& v = it.value();
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets") ||
        !v["dtype"].is_string() || !v["shape"].is_array() || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2) {
      throw ModelError(where + ": entry needs string 'dtype', array 'shape' and two 'data_offsets'");
    }
    TensorInfo t;
    t.name = it.key();
    t.file = path.filename().string();
    t.dtype_name = v["dtype"].get<std::string>();
    size_t esize = 0;
    for (const auto& d : kDTypes) {
      if (t.dtype_name == d.name) {
        t.dtype = d.dtype;
        esize = d.size;
      }
    }
    if (esize == 0) throw ModelError(where + ": unknown dtype '" + t.dtype_name + "'");
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw ModelError(where + ": shape has a non-integer or negative dimension");
      uint64_t dim = d.get<uint64_t>();
      if (dim > (uint64_t{1} << 48)) throw ModelError(where + ": shape has an implausible dimension " + std::to_string(dim));
      if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / esize / dim) throw ModelError(where + ": shape overflows");
      numel *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    const auto& off = v["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) throw ModelError(where + ": data_offsets must be non-negative integers");
    uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > buffer_size) {
      throw ModelError(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                       "] lie outside the data buffer of " + std::to_string(buffer_size) + " bytes (truncated file?)");
    }
    if (end - begin != numel * esize) {
      throw ModelError(where + ": " + std::to_string(end - begin) + " bytes of data, but shape " + shape_str(t.shape) + " of " +
                       t.dtype_name + " needs " + std::to_string(numel * esize));
    }
    if (end > begin) {
      auto next = extents.lower_bound(begin);
      if (next != extents.end() && next->first < end)
        throw ModelError(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                         "] overlap tensor '" + next->second.second + "'");
      if (next != extents.begin() && std::prev(next)->second.first > begin)
        throw ModelError(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                         "] overlap tensor '" + std::prev(next)->second.second + "'");
      extents.emplace(begin, std::make_pair(end, t.name));
    }
    t.data = buffer + begin;
    t.nbytes = end - begin;
    if (tensors_.count(t.name)) throw ModelError(where + ": defined twice (also in " + tensors_[t.name].file + ")");
    tensors_.emplace(t.name, std::move(t));
  }
  files_.push_back(std::move(file));
}

TensorStore TensorStore::open_directory(const std::filesystem::path& dir) {
  TensorStore store;
  const auto single = dir / "model.safetensors";
  const auto index = dir / "model.safetensors.index.json";
  std::error_code ec;
  if (std::filesystem::exists(single, ec)) {
    store.add_file(single);
  } else if (std::filesystem::exists(index, ec)) {
    nlohmann::json j = util::read_json(index);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
      throw ModelError(index.string() + ": missing object 'weight_map'");
    }
    std::set<std::string> shards;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string()) throw ModelError(index.string() + ": weight_map['" + it.key() + "'] is not a file name");
      std::string f = it.value().get<std::string>();
      if (f.empty() || f.find('/') != std::string::npos || f.find("..") != std::string::npos) {
        throw ModelError(index.string() + ": weight_map['" + it.key() + "'] names an invalid shard '" + f + "'");
      }
      shards.insert(f);
    }
    for (const auto& f : shards) store.add_file(dir / f);
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!store.has(it.key())) throw ModelError(index.string() + ": tensor '" + it.key() + "' is not in shard " + it.value().get<std::string>());
    }
  } else if (std::filesystem::exists(dir / "pytorch_model.bin", ec)) {
    throw ModelError(dir.string() + ": only pytorch_model.bin found; rerank reads safetensors (convert with "
                     "`python -c \"from transformers import AutoModel; AutoModel.from_pretrained(D).save_pretrained(D, safe_serialization=True)\"`)");
  } else {
    throw ModelError(dir.string() + ": no model.safetensors or model.safetensors.index.json");
  }
  return store;
}

const TensorInfo& TensorStore::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw ModelError("safetensors: tensor '" + name + "' not found");
  return it->second;
}

void TensorStore::release_pages(const TensorInfo& t) {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<uintptr_t>(t.data) + page - 1) / page * page;
  const auto end = (reinterpret_cast<uintptr_t>(t.data) + t.nbytes) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);  // advice only: failure is harmless
}

std::vector<float> TensorStore::to_f32(const TensorInfo& t) {
  const size_t n = static_cast<size_t>(t.numel());
  std::vector<float> out(n);
  switch (t.dtype) {
    case DType::F32:
      if (n > 0) std::memcpy(out.data(), t.data, n * 4);  // an empty tensor has no data pointer (found by fuzzing)
      break;
    case DType::F16:
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h = static_cast<uint16_t>(t.data[2 * i] | (t.data[2 * i + 1] << 8));
        out[i] = t.dtype == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      break;
    case DType::F64:
      for (size_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, t.data + 8 * i, 8);
        out[i] = static_cast<float>(d);
      }
      break;
    default:
      throw ModelError(t.file + ": tensor '" + t.name + "' has dtype " + t.dtype_name + "; expected F32, F16, BF16 or F64");
  }
  return out;
}

}  // namespace rerank::model

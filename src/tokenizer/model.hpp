// model.hpp — internal: the tokenization model (tokenizers' `model` section) as an interface, and the registry
// that builds one from `model.type`.
//
// A model turns one pre-tokenized word (code points, after the normalizers and pre-tokenizers have transformed
// it) into vocabulary ids. Each model type is one file (wordpiece.cpp, unigram.cpp, bpe.cpp) plus one line in
// the registry table of model.cpp. A model is immutable after loading and used concurrently; per-call scratch
// space is the model's own business (thread_local in its .cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/json_util.hpp"

namespace rerank::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
/// token -> id, with lookups by string_view.
using VocabMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class Model {
 public:
  virtual ~Model() = default;
  /// Appends the ids of one word, code points [b, e) (b < e).
  virtual void tokenize(const char32_t* b, const char32_t* e, std::vector<int32_t>& ids) const = 0;
  /// The id of `token` in the model's vocabulary, or -1.
  virtual int32_t token_to_id(std::string_view token) const = 0;
  /// id -> token of the model's vocabulary (ids without a token map to "").
  virtual std::vector<std::string> id_to_token() const = 0;
};

/// A model parser: the `model` object of tokenizer.json -> the model. Errors name `source` and the field.
using ModelParser = std::unique_ptr<Model> (*)(const Json& j, const std::string& source);

/// Builds the model named by `j["type"]` (a missing type with `continuing_subword_prefix` is WordPiece, as in
/// files written by old tokenizers versions). Unknown types: ModelError naming `model.type` and the supported ones.
std::unique_ptr<Model> model_from_json(const Json& j, const std::string& source);

}  // namespace rerank::tok

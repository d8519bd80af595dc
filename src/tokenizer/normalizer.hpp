// normalizer.hpp — internal: the normalizers of tokenizers that BERT models use.
//
// Supported: BertNormalizer, Lowercase, NFD, NFC, NFKD, NFKC, StripAccents, and Sequence of these.
#pragma once
#include <string>
#include <vector>

#include "tokenizer/json_util.hpp"
#include "tokenizer/unicode.hpp"

namespace rerank::tok {

struct NormStep {
  enum class Kind { Bert, Lowercase, Form, StripAccents };
  Kind kind = Kind::Bert;
  // BertNormalizer options (strip_accents already resolved: null follows lowercase).
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;
  bool lowercase = true;
  NormForm form = NormForm::NFD;
};

class Normalizer {
 public:
  /// Parses the `normalizer` section (null = identity).
  static Normalizer from_json(const Json& j, const std::string& source);
  static Normalizer bert(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase);

  /// Normalizes `s` in place; `tmp` is scratch space.
  void apply(U32& s, U32& tmp) const;
  bool empty() const { return steps_.empty(); }

 private:
  void parse_into(const Json& j, const std::string& source, const std::string& path);
  std::vector<NormStep> steps_;
};

}  // namespace rerank::tok

// normalizer.hpp — internal: tokenizers' normalizers (the `normalizer` section), each a step that rewrites the
// text (code points) in place; a Sequence is flattened into its steps.
//
// Built in (normalizer.cpp): BertNormalizer, Lowercase, NFD, NFC, NFKD, NFKC, StripAccents, Strip, Prepend,
// Replace, Sequence; Precompiled in precompiled.cpp. Adding a type is one entry in the registry table of
// normalizer.cpp (a name and a NormParser).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/json_util.hpp"
#include "tokenizer/unicode.hpp"

namespace rerank::tok {

class NormStep {
 public:
  virtual ~NormStep() = default;
  /// Rewrites `s` in place; `tmp` is scratch space. `first_kept` tells whether s[0] still comes from the first
  /// character of the text given to the normalizer (tokenizers' alignment of the first normalized character,
  /// which Metaspace's prepend_scheme "first" reads through offsets_original): a step that deletes the leading
  /// character(s) of a non-empty result sets it false; one that inserts a prefix sets it true.
  virtual void apply(U32& s, U32& tmp, bool& first_kept) const = 0;
};

/// A normalizer parser: the JSON object (at field path `path` of `source`) -> the step.
using NormParser = std::unique_ptr<NormStep> (*)(const Json& j, const std::string& source, const std::string& path);

class Normalizer {
 public:
  /// Parses the `normalizer` section (null = identity).
  static Normalizer from_json(const Json& j, const std::string& source);
  static Normalizer bert(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase);

  /// Normalizes `s` in place; `tmp` is scratch space. Returns whether s[0] comes from the input's first
  /// character (see NormStep).
  bool apply(U32& s, U32& tmp) const {
    bool first_kept = true;
    for (const auto& st : steps_) st->apply(s, tmp, first_kept);
    return first_kept;
  }
  bool empty() const { return steps_.empty(); }

 private:
  void parse_into(const Json& j, const std::string& source, const std::string& path);
  std::vector<std::shared_ptr<const NormStep>> steps_;
};

/// The `Precompiled` normalizer (precompiled.cpp).
std::unique_ptr<NormStep> parse_precompiled(const Json& j, const std::string& source, const std::string& path);

}  // namespace rerank::tok

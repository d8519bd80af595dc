// normalizer.hpp — internal: tokenizers' normalizers (the `normalizer` section), each a step that rewrites the
// text (code points) in place; a Sequence is flattened into its steps.
//
// Built in (normalizer.cpp): BertNormalizer, Lowercase, NFD, NFC, NFKD, NFKC, StripAccents, Strip, Prepend,
// Replace, Sequence; Precompiled in precompiled.cpp. Adding a type is one entry in the registry table of
// normalizer.cpp (a name and a NormParser).
#pragma once
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/json_util.hpp"
#include "tokenizer/unicode.hpp"

namespace rerank::tok {

class NormStep {
 public:
  virtual ~NormStep() = default;
  /// Rewrites `s` in place; `tmp` is scratch space. `lead` counts the leading characters of `s` that tokenizers
  /// aligns with the first character of the text given to the normalizer (offset 0, which Metaspace's
  /// prepend_scheme "first" tests through offsets_original); each step updates it as tokenizers'
  /// NormalizedString alignments move (a deleted first character drops it, a prefix or an expansion of the first
  /// character extends it).
  virtual void apply(U32& s, U32& tmp, size_t& lead) const = 0;
};

/// A normalizer parser: the JSON object (at field path `path` of `source`) -> the step.
using NormParser = std::unique_ptr<NormStep> (*)(const Json& j, const std::string& source, const std::string& path);

class Normalizer {
 public:
  /// Parses the `normalizer` section (null = identity).
  static Normalizer from_json(const Json& j, const std::string& source);
  static Normalizer bert(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase);

  /// Normalizes `s` in place; `tmp` is scratch space. Returns the number of leading characters aligned with
  /// the input's first character (see NormStep).
  size_t apply(U32& s, U32& tmp) const {
    size_t lead = s.empty() ? 0 : 1;
    for (const auto& st : steps_) st->apply(s, tmp, lead);
    return std::min(lead, s.size());
  }
  bool empty() const { return steps_.empty(); }

 private:
  void parse_into(const Json& j, const std::string& source, const std::string& path);
  std::vector<std::shared_ptr<const NormStep>> steps_;
};

/// The `Precompiled` normalizer (precompiled.cpp).
std::unique_ptr<NormStep> parse_precompiled(const Json& j, const std::string& source, const std::string& path);

}  // namespace rerank::tok

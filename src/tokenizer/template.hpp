// template.hpp — internal: the post-processor (special tokens and type ids) and LongestFirst truncation.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "rerank/tokenizer.hpp"
#include "tokenizer/json_util.hpp"

namespace rerank::tok {

struct TemplatePiece {
  bool special = false;
  int sequence = 0;  ///< 0 = A, 1 = B (when !special)
  std::vector<int32_t> ids;  ///< the special token's ids (when special)
  std::vector<std::string> tokens;
  int32_t type_id = 0;
};

class PostProcessor {
 public:
  /// Parses the `post_processor` section (null = no special tokens, B gets type id 1).
  static PostProcessor from_json(const Json& j, const std::string& source);
  /// `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` with type ids 0 / 0 / 1.
  static PostProcessor bert(const std::string& cls, int32_t cls_id, const std::string& sep, int32_t sep_id);

  size_t num_special_tokens(bool pair) const { return pair ? n_pair_ : n_single_; }

  /// Truncates `a` (and `b` when `pair`) so that the result has at most `max_length` tokens (0 = no limit),
  /// then writes the template's output into `out`. `vocab` maps ids to token strings.
  void process(std::vector<int32_t>& a, std::vector<int32_t>* b, size_t max_length,
               const std::vector<std::string>& vocab, Encoding& out) const;

 private:
  void set_templates(std::vector<TemplatePiece> single, std::vector<TemplatePiece> pair);

  std::vector<TemplatePiece> single_;
  std::vector<TemplatePiece> pair_;
  size_t n_single_ = 0;
  size_t n_pair_ = 0;
};

/// tokenizers' LongestFirst rule: truncates `a` (and `b`, if not null) to `budget` content tokens in all.
void truncate_longest_first(std::vector<int32_t>& a, std::vector<int32_t>* b, size_t budget);

}  // namespace rerank::tok

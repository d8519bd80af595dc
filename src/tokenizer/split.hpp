// split.hpp — internal: the `Split` pre-tokenizer (pattern {"String": s} or {"Regex": r}, a `behavior`, `invert`),
// as tokenizers' pre_tokenizers/split.rs and NormalizedString::split behave. Both pattern kinds are regexes there
// (a String is escaped), so empty matches split the text too.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/json_util.hpp"
#include "tokenizer/regex.hpp"

namespace rerank::tok {

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

/// Parses a SplitDelimiterBehavior name ("Removed", "Isolated", ...); ModelError naming `field` otherwise.
SplitBehavior parse_split_behavior(const Json& j, const std::string& source, const std::string& field);

/// The pieces of a text of `n` code points given its pattern matches (tokenizers' find_matches + split with
/// `behavior`; `invert` swaps matches and gaps). Empty pieces are dropped. `tmp` is scratch space.
void split_by_matches(const std::vector<Range>& matches, uint32_t n, SplitBehavior behavior, bool invert,
                      std::vector<Range>& out, std::vector<std::pair<Range, bool>>& tmp);

class SplitPreTokenizer {
 public:
  /// From a pre-tokenizer object of type "Split" at `path`.
  static SplitPreTokenizer from_json(const Json& j, const std::string& source, const std::string& path);
  SplitPreTokenizer(Regex re, SplitBehavior behavior, bool invert)
      : re_(std::move(re)), behavior_(behavior), invert_(invert) {}

  /// Replaces `out` with the pieces of s[0, n) (offsets relative to s).
  void split(const char32_t* s, uint32_t n, std::vector<Range>& out) const;

 private:
  Regex re_;
  SplitBehavior behavior_;
  bool invert_;
};

}  // namespace rerank::tok

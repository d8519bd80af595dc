// split.cpp — the Split pre-tokenizer and the SplitDelimiterBehavior rules (tokenizers'
// tokenizer/normalizer.rs NormalizedString::split, tokenizer/pattern.rs).
#include "tokenizer/split.hpp"

#include "tokenizer/pretokenizer.hpp"

#include <algorithm>
#include <utility>

namespace rerank::tok {

SplitBehavior parse_split_behavior(const Json& j, const std::string& source, const std::string& field) {
  if (!j.is_string()) fail(source, field, "missing or not a string");
  const std::string s = j.get<std::string>();
  if (s == "Removed") return SplitBehavior::Removed;
  if (s == "Isolated") return SplitBehavior::Isolated;
  if (s == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (s == "Contiguous") return SplitBehavior::Contiguous;
  fail(source, field,
       "unknown behavior '" + s + "' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
}

void split_by_matches(const std::vector<Range>& matches, uint32_t n, SplitBehavior behavior, bool invert,
                      std::vector<Range>& out, std::vector<std::pair<Range, bool>>& tmp) {
  // find_matches: the matches and the gaps between them, each flagged (is_match), in order.
  tmp.clear();
  uint32_t prev = 0;
  for (const Range& m : matches) {
    if (prev != m.begin) tmp.push_back({{prev, m.begin}, invert});
    tmp.push_back({m, !invert});
    prev = m.end;
  }
  if (prev != n) tmp.push_back({{prev, n}, invert});

  out.clear();
  switch (behavior) {
    case SplitBehavior::Removed:
      for (const auto& [r, is_match] : tmp)
        if (!is_match && r.begin < r.end) out.push_back(r);
      return;
    case SplitBehavior::Isolated:
      for (const auto& [r, is_match] : tmp)
        if (r.begin < r.end) out.push_back(r);
      return;
    case SplitBehavior::Contiguous:
    case SplitBehavior::MergedWithPrevious: {
      // Contiguous: a piece with the same flag as the previous one extends it; MergedWithPrevious: a match
      // following a non-match extends the previous piece.
      const bool contiguous = behavior == SplitBehavior::Contiguous;
      bool previous_match = false;
      for (const auto& [r, is_match] : tmp) {
        const bool extend = contiguous ? is_match == previous_match : (is_match && !previous_match);
        if (extend && !out.empty()) {
          out.back().end = r.end;
        } else {
          out.push_back(r);
        }
        previous_match = is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      // Folded from the right: a match preceding a non-match (in reverse order: following) extends the next piece.
      bool previous_match = false;
      for (size_t i = tmp.size(); i-- > 0;) {
        const auto& [r, is_match] = tmp[i];
        if (is_match && !previous_match && !out.empty()) {
          out.back().begin = r.begin;
        } else {
          out.push_back(r);
        }
        previous_match = is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
  }
  size_t k = 0;
  for (const Range& r : out)
    if (r.begin < r.end) out[k++] = r;
  out.resize(k);
}

SplitPreTokenizer SplitPreTokenizer::from_json(const Json& j, const std::string& source, const std::string& path) {
  auto pit = j.find("pattern");
  if (pit == j.end() || !pit->is_object() || pit->size() != 1)
    fail(source, path + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
  const bool literal = pit->contains("String");
  if (!literal && !pit->contains("Regex"))
    fail(source, path + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
  const std::string field = path + ".pattern." + (literal ? "String" : "Regex");
  const Json& pj = literal ? (*pit)["String"] : (*pit)["Regex"];
  if (!pj.is_string()) fail(source, field, "expected a string");
  auto bit = j.find("behavior");
  if (bit == j.end()) fail(source, path + ".behavior", "missing");
  const SplitBehavior behavior = parse_split_behavior(*bit, source, path + ".behavior");
  const bool invert = get_bool(j, "invert", false, source, path);
  return SplitPreTokenizer(Regex(pj.get<std::string>(), literal, source, field), behavior, invert);
}

void SplitPreTokenizer::split(const char32_t* s, uint32_t n, std::vector<Range>& out) const {
  thread_local std::vector<Range> matches;
  thread_local std::vector<std::pair<Range, bool>> tmp;
  re_.find_all(s, n, matches);
  split_by_matches(matches, n, behavior_, invert_, out, tmp);
  release_if_large(matches);
  release_if_large(tmp);
}

namespace {

struct SplitStep final : PreTokStep {
  SplitPreTokenizer split;
  explicit SplitStep(SplitPreTokenizer s) : split(std::move(s)) {}
  void apply(U32& buf, std::vector<Span>& words, std::vector<Span>& out) const override {
    thread_local std::vector<Range> pieces;
    out.clear();
    for (const Span& w : words) {
      split.split(buf.data() + w.begin, w.end - w.begin, pieces);
      for (const Range& r : pieces) out.push_back({w.begin + r.begin, w.begin + r.end, w.at_start && r.begin == 0});
    }
    words.swap(out);
  }
};

}  // namespace

std::unique_ptr<PreTokStep> parse_split(const Json& j, const std::string& source, const std::string& path) {
  return std::make_unique<SplitStep>(SplitPreTokenizer::from_json(j, source, path));
}

}  // namespace rerank::tok

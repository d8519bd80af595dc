// added_tokens.cpp — matching added tokens (see added_tokens.hpp).
#include "tokenizer/added_tokens.hpp"

#include <algorithm>
#include <utility>

namespace rerank::tok {

void AddedTokenSet::add(AddedToken t) {
  if (t.chars.empty()) return;  // an empty token can never match
  const char32_t c = t.chars[0];
  if (c < 128) {
    first_ascii_[c >> 6] |= uint64_t{1} << (c & 63);
  } else {
    any_non_ascii_first_ = true;
  }
  tokens_.push_back(std::move(t));
}

void AddedTokenSet::split(const U32& s, uint32_t begin, uint32_t end, std::vector<Piece>& out) const {
  out.clear();
  uint32_t emitted = begin;  // end of the last piece pushed
  uint32_t i = begin;
  while (i < end) {
    const char32_t c = s[i];
    const bool candidate = c < 128 ? ((first_ascii_[c >> 6] >> (c & 63)) & 1) != 0 : any_non_ascii_first_;
    if (!candidate) {
      ++i;
      continue;
    }
    const AddedToken* best = nullptr;
    for (const AddedToken& t : tokens_) {
      const size_t len = t.chars.size();
      if (len > end - i || (best && len <= best->chars.size())) continue;
      if (std::equal(t.chars.begin(), t.chars.end(), s.begin() + i)) best = &t;
    }
    if (!best) {
      ++i;
      continue;
    }
    // As tokenizers' find_matches: the matches themselves never depend on stripping (the search resumes after
    // the raw match); lstrip stops at the end of the previous piece, rstrip may overlap the next match.
    uint32_t mstart = i;
    uint32_t mstop = i + static_cast<uint32_t>(best->chars.size());
    i = mstop;
    if (best->single_word) {
      const bool left_ok = mstart == begin || !is_word_char(s[mstart - 1]);
      const bool right_ok = mstop == end || !is_word_char(s[mstop]);
      if (!left_ok || !right_ok) continue;
    }
    if (best->lstrip) {
      while (mstart > begin && is_whitespace(s[mstart - 1])) --mstart;
      mstart = std::max(mstart, emitted);
    }
    if (best->rstrip) {
      while (mstop < end && is_whitespace(s[mstop])) ++mstop;
    }
    if (emitted < mstart) out.push_back({emitted, mstart, -1});
    out.push_back({mstart, mstop, best->id});
    emitted = mstop;
  }
  if (emitted < end) out.push_back({emitted, end, -1});
}

}  // namespace rerank::tok

// Sentence-aware chunking (see chunker.hpp).
#include "collection/chunker.hpp"

#include <algorithm>

namespace rerank::collection {
namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

struct Unit {
  size_t start, end, tokens;
};

/// Sentence spans (leading white space excluded).
std::vector<std::pair<size_t, size_t>> sentences(std::string_view t) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t i = 0, n = t.size();
  while (i < n) {
    while (i < n && space(t[i])) ++i;
    if (i >= n) break;
    size_t s = i;
    while (i < n) {
      char c = t[i];
      if (c == '\n' && i + 1 < n && (t[i + 1] == '\n' || (t[i + 1] == '\r' && i + 2 < n && t[i + 2] == '\n'))) break;
      if (c == '.' || c == '!' || c == '?') {
        size_t j = i + 1;
        while (j < n && (t[j] == '.' || t[j] == '!' || t[j] == '?' || t[j] == '"' || t[j] == '\'' || t[j] == ')' || t[j] == ']')) ++j;
        if (j >= n || space(t[j])) {
          i = j;
          break;
        }
      }
      ++i;
    }
    size_t e = i;
    while (e > s && space(t[e - 1])) --e;
    if (e > s) out.emplace_back(s, e);
  }
  return out;
}

}  // namespace

size_t count_words(std::string_view t) {
  size_t n = 0;
  bool in = false;
  for (char c : t) {
    if (space(c)) in = false;
    else if (!in) {
      in = true;
      ++n;
    }
  }
  return n;
}

std::vector<Chunk> chunk_text(std::string_view text, size_t budget, size_t overlap,
                              const std::function<size_t(std::string_view)>& count) {
  budget = std::max<size_t>(budget, 1);
  if (overlap >= budget) overlap = budget / 2;
  std::vector<Unit> units;
  for (auto [s, e] : sentences(text)) {
    size_t c = count(text.substr(s, e - s));
    if (c <= budget) {
      units.push_back({s, e, c});
      continue;
    }
    // a sentence longer than the budget: its words become the units
    size_t i = s;
    while (i < e) {
      while (i < e && space(text[i])) ++i;
      size_t ws = i;
      while (i < e && !space(text[i])) ++i;
      if (i > ws) units.push_back({ws, i, std::max<size_t>(count(text.substr(ws, i - ws)), 1)});
    }
  }
  if (units.empty()) return {{0, text.size()}};
  std::vector<Chunk> out;
  size_t i = 0;
  while (i < units.size()) {
    size_t j = i, sum = 0;
    while (j < units.size() && (j == i || sum + units[j].tokens <= budget)) sum += units[j++].tokens;
    out.push_back({units[i].start, units[j - 1].end});
    if (j >= units.size()) break;
    size_t k = j, acc = 0;
    while (k - 1 > i && acc + units[k - 1].tokens <= overlap) acc += units[--k].tokens;
    i = k;
  }
  return out;
}

}  // namespace rerank::collection

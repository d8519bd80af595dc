// unigram.cpp — the Unigram model (see unigram.hpp).
//
// Viterbi over byte positions as tokenizers' encode_optimized: positions are visited left to right at character
// boundaries; from each, every piece that is a prefix of the rest (trie walk, shortest first) relaxes the best
// path ending where the piece ends, and only a strictly better score replaces an earlier candidate (so ties keep
// the path found first). When no piece covers exactly the next character, the unknown piece does, at
// min_score - 10.
#include "tokenizer/unigram.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <utility>

#include "tokenizer/unicode.hpp"

namespace rerank::tok {

namespace {

constexpr double kUnkPenalty = 10.0;

struct Node {
  double score;
  uint32_t start;  ///< UINT32_MAX: no path ends here yet
  int32_t id;
};

inline size_t utf8_len(unsigned char b) { return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }

}  // namespace

uint32_t Unigram::Trie::child(uint32_t node, uint8_t byte) const {
  auto b = edges.begin() + first[node];
  auto e = edges.begin() + first[node + 1];
  auto it = std::lower_bound(b, e, byte, [](const auto& edge, uint8_t v) { return edge.first < v; });
  return it != e && it->first == byte ? it->second : UINT32_MAX;
}

std::unique_ptr<Model> Unigram::parse(const Json& j, const std::string& source) {
  auto owned = std::make_unique<Unigram>();
  Unigram& u = *owned;
  auto vi = j.find("vocab");
  if (vi == j.end() || !vi->is_array()) fail(source, "model.vocab", "missing or not an array");
  if (vi->empty()) fail(source, "model.vocab", "empty vocabulary");
  if (vi->size() > static_cast<size_t>(INT32_MAX / 2)) fail(source, "model.vocab", "too many entries");
  u.pieces_.reserve(vi->size());
  u.scores_.reserve(vi->size());
  u.vocab_.reserve(vi->size());
  double min_score = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < vi->size(); ++i) {
    const Json& entry = (*vi)[i];
    const std::string field = "model.vocab[" + std::to_string(i) + "]";
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number())
      fail(source, field, "expected [piece, score]");
    const double score = entry[1].get<double>();
    if (!std::isfinite(score)) fail(source, field, "score is not a finite number");
    std::string piece = entry[0].get<std::string>();
    if (piece.empty()) fail(source, field, "empty piece");
    U32 check;
    decode_utf8(piece, check);
    if (to_utf8(check) != piece) fail(source, field, "piece is not valid UTF-8");
    u.vocab_[piece] = static_cast<int32_t>(i);  // a later duplicate wins, as tokenizers' HashMap insert
    u.pieces_.push_back(std::move(piece));
    u.scores_.push_back(score);
    min_score = std::min(min_score, score);
  }
  u.unk_score_ = min_score - kUnkPenalty;
  auto ui = j.find("unk_id");
  if (ui != j.end() && !ui->is_null()) {
    if (!ui->is_number_unsigned() || ui->get<uint64_t>() >= u.pieces_.size())
      fail(source, "model.unk_id", "expected an index into model.vocab (size " + std::to_string(u.pieces_.size()) +
                                       ")");
    u.unk_id_ = static_cast<int32_t>(ui->get<uint64_t>());
  }
  u.byte_fallback_ = get_bool(j, "byte_fallback", false, source, "model");
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    u.byte_ids_[static_cast<size_t>(b)] = u.token_to_id(name);
  }
  u.build_trie();
  return owned;
}

void Unigram::build_trie() {
  // Breadth-first over the pieces sorted by bytes: the children of each node are a contiguous, sorted range.
  std::vector<int32_t> order(pieces_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return pieces_[a] < pieces_[b]; });
  struct Pending {
    size_t lo, hi, depth;  ///< the pieces order[lo, hi) share a prefix of `depth` bytes (this node)
  };
  std::vector<Pending> queue{{0, order.size(), 0}};
  trie_.first.clear();
  trie_.edges.clear();
  trie_.id.clear();
  for (size_t q = 0; q < queue.size(); ++q) {
    const Pending node = queue[q];
    trie_.first.push_back(static_cast<uint32_t>(trie_.edges.size()));
    int32_t id = -1;
    size_t i = node.lo;
    for (; i < node.hi && pieces_[order[i]].size() == node.depth; ++i) id = vocab_.at(pieces_[order[i]]);
    trie_.id.push_back(id);
    while (i < node.hi) {
      const auto byte = static_cast<uint8_t>(pieces_[order[i]][node.depth]);
      size_t k = i;
      while (k < node.hi && static_cast<uint8_t>(pieces_[order[k]][node.depth]) == byte) ++k;
      trie_.edges.emplace_back(byte, static_cast<uint32_t>(queue.size()));
      queue.push_back({i, k, node.depth + 1});
      i = k;
    }
  }
  trie_.first.push_back(static_cast<uint32_t>(trie_.edges.size()));
}

void Unigram::emit(std::string_view text, int32_t id, bool unknown, std::vector<int32_t>& ids) const {
  if (!unknown) {
    ids.push_back(id);
    return;
  }
  // A fused run of unknown characters: its own piece if the vocabulary has it, else its bytes, else unk.
  const int32_t known = token_to_id(text);
  if (known >= 0) {
    ids.push_back(known);
    return;
  }
  if (byte_fallback_) {
    bool all = true;
    for (char c : text) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
    if (all) {
      for (char c : text) ids.push_back(byte_ids_[static_cast<unsigned char>(c)]);
      return;
    }
  }
  ids.push_back(unk_id_);
}

void Unigram::tokenize(const char32_t* b, const char32_t* e, std::vector<int32_t>& ids) const {
  thread_local std::string text;
  thread_local std::vector<Node> best;
  thread_local std::vector<std::pair<uint32_t, uint32_t>> path;  // (start, end) of the best path, reversed
  encode_utf8(b, e, text);
  const size_t n = text.size();
  best.assign(n + 1, Node{0.0, UINT32_MAX, -1});
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t start = 0; start < n;) {
    const double here = best[start].score;
    const size_t mblen = std::min(utf8_len(s[start]), n - start);
    bool single = false;
    uint32_t node = 0;
    for (size_t pos = start; pos < n;) {
      node = trie_.child(node, s[pos]);
      if (node == UINT32_MAX) break;
      ++pos;
      const int32_t id = trie_.id[node];
      if (id < 0) continue;
      Node& target = best[pos];
      const double cand = here + scores_[static_cast<size_t>(id)];
      if (target.start == UINT32_MAX || cand > target.score) target = {cand, static_cast<uint32_t>(start), id};
      single = single || pos - start == mblen;
    }
    if (!single) {
      if (unk_id_ < 0)
        throw InputError("tokenizer: the text has a character the Unigram vocabulary cannot cover and the "
                         "tokenizer has no unk_id");
      Node& target = best[start + mblen];
      const double cand = here + unk_score_;
      if (target.start == UINT32_MAX || cand > target.score) target = {cand, static_cast<uint32_t>(start), unk_id_};
    }
    start += mblen;
  }
  path.clear();
  for (size_t end = n; end > 0; end = best[end].start) path.emplace_back(best[end].start, static_cast<uint32_t>(end));
  // Forward, fusing consecutive unknown pieces.
  size_t run_begin = 0;
  bool in_run = false;
  for (size_t k = path.size(); k-- > 0;) {
    const auto [from, to] = path[k];
    const int32_t id = best[to].id;
    const bool unknown = id == unk_id_;
    if (unknown) {
      if (!in_run) run_begin = from;
      in_run = true;
      continue;
    }
    if (in_run) emit(std::string_view(text).substr(run_begin, from - run_begin), unk_id_, true, ids);
    in_run = false;
    emit({}, id, false, ids);
  }
  if (in_run) emit(std::string_view(text).substr(run_begin, n - run_begin), unk_id_, true, ids);
  release_if_large(text);
  release_if_large(best);
  release_if_large(path);
}

}  // namespace rerank::tok

// bpe.cpp — the BPE model: loading (vocab, merges as "a b" strings or [a, b] pairs) and ranked merging
// (tokenizers' models/bpe/{model,word}.rs).
#include "tokenizer/bpe.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdio>

#include "tokenizer/unicode.hpp"

namespace rerank::tok {

namespace {

constexpr char32_t kSmallChars = 512;
constexpr size_t kCachedWordChars = 64;
constexpr size_t kCacheEntries = 1 << 14;  // per thread and model; the cache is emptied when full

std::atomic<uint64_t> next_cache_owner{1};

struct U32Hash {
  using is_transparent = void;
  size_t operator()(std::u32string_view s) const noexcept { return std::hash<std::u32string_view>{}(s); }
};
using WordCache = std::unordered_map<std::u32string, std::vector<int32_t>, U32Hash, std::equal_to<>>;

// The calling thread's cache for model `owner` (a few models per thread; more evict them all).
WordCache& word_cache(uint64_t owner) {
  thread_local std::unordered_map<uint64_t, WordCache> caches;
  auto it = caches.find(owner);
  if (it != caches.end()) return it->second;
  if (caches.size() >= 8) caches.clear();
  return caches[owner];
}

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

// A candidate merge in the queue: lowest rank first, then leftmost.
struct Candidate {
  uint32_t rank;
  int32_t pos;
  int32_t new_id;
  bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

std::unique_ptr<Bpe> Bpe::from_json(const Json& j, const std::string& source) {
  auto owned = std::make_unique<Bpe>();
  Bpe& m = *owned;
  m.source_ = source;
  m.cache_owner_ = next_cache_owner.fetch_add(1);
  auto dropout = j.find("dropout");
  if (dropout != j.end() && !dropout->is_null()) {
    if (!dropout->is_number()) fail(source, "model.dropout", "expected a number or null");
    if (dropout->get<double>() != 0.0)
      fail(source, "model.dropout", "BPE dropout " + dropout->dump() + " is not supported (only null or 0)");
  }
  m.unk_token_ = get_string(j, "unk_token", "", source, "model");
  m.prefix_ = get_string(j, "continuing_subword_prefix", "", source, "model");
  m.suffix_ = get_string(j, "end_of_word_suffix", "", source, "model");
  m.byte_fallback_ = get_bool(j, "byte_fallback", false, source, "model");
  m.fuse_unk_ = get_bool(j, "fuse_unk", false, source, "model");
  m.ignore_merges_ = get_bool(j, "ignore_merges", false, source, "model");

  auto vi = j.find("vocab");
  if (vi == j.end() || !vi->is_object()) fail(source, "model.vocab", "missing or not an object");
  if (vi->empty()) fail(source, "model.vocab", "empty vocabulary");
  m.vocab_.reserve(vi->size());
  int32_t max_id = -1;
  for (auto it = vi->begin(); it != vi->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() > INT32_MAX / 2)
      fail(source, "model.vocab." + it.key(), "expected a non-negative integer id");
    const auto id = static_cast<int32_t>(it.value().get<int64_t>());
    m.vocab_[it.key()] = id;
    max_id = std::max(max_id, id);
  }
  // Ids index a table: refuse files whose ids are absurdly sparse rather than allocating gigabytes.
  if (static_cast<size_t>(max_id) > 16 * m.vocab_.size() + 65536)
    fail(source, "model.vocab", "ids up to " + std::to_string(max_id) + " for " + std::to_string(m.vocab_.size()) +
                                    " tokens");
  m.id_to_token_.assign(static_cast<size_t>(max_id) + 1, std::string());
  for (const auto& [tok, id] : m.vocab_) m.id_to_token_[static_cast<size_t>(id)] = tok;

  m.small_chars_.assign(kSmallChars, -1);
  std::string buf;
  for (char32_t c = 0; c < kSmallChars; ++c) {
    buf.clear();
    append_utf8(c, buf);
    m.small_chars_[c] = m.token_to_id(buf);
  }

  auto mi = j.find("merges");
  m.parse_merges(mi != j.end() && !mi->is_null() ? *mi : Json::array(), source);
  return owned;
}

void Bpe::parse_merges(const Json& merges, const std::string& source) {
  if (!merges.is_array()) fail(source, "model.merges", "expected an array");
  size_t cap = 16;
  while (cap < 2 * merges.size()) cap *= 2;
  merges_.assign(cap, MergeSlot{});
  mask_ = cap - 1;
  shift_ = 64 - std::countr_zero(cap);
  for (size_t i = 0; i < merges.size(); ++i) {
    const Json& e = merges[i];
    const std::string field = "model.merges[" + std::to_string(i) + "]";
    std::string a, b;
    if (e.is_string()) {  // "a b" (split on the single space, exactly two parts)
      const std::string s = e.get<std::string>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        fail(source, field, "expected \"a b\" (two tokens separated by one space), got " + in_quotes(s));
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].get<std::string>();
      b = e[1].get<std::string>();
    } else {
      fail(source, field, "expected a string \"a b\" or a pair [a, b] of strings");
    }
    const int32_t ia = token_to_id(a), ib = token_to_id(b);
    if (ia < 0) fail(source, field, "token " + in_quotes(a) + " is not in model.vocab");
    if (ib < 0) fail(source, field, "token " + in_quotes(b) + " is not in model.vocab");
    if (b.size() < prefix_.size())
      fail(source, field, "token " + in_quotes(b) + " is shorter than continuing_subword_prefix " + in_quotes(prefix_));
    const std::string merged = a + b.substr(prefix_.size());
    const int32_t id = token_to_id(merged);
    if (id < 0) fail(source, field, "merged token " + in_quotes(merged) + " is not in model.vocab");
    // A repeated pair takes the rank of its last occurrence (tokenizers collects the merges into a map).
    insert_merge(key(ia, ib), MergeVal{static_cast<uint32_t>(i), id});
  }
}

void Bpe::insert_merge(uint64_t k, MergeVal v) {
  for (size_t i = slot_of(k);; i = (i + 1) & mask_) {
    MergeSlot& s = merges_[i];
    if (s.key == kEmpty || s.key == k) {
      s.key = k;
      s.val = v;
      return;
    }
  }
}

int32_t Bpe::char_id(char32_t c) const {
  if (c < kSmallChars) return small_chars_[c];
  std::string s;
  append_utf8(c, s);
  return token_to_id(s);
}

void Bpe::initial_symbols(const char32_t* b, const char32_t* e, std::string& buf, std::vector<Symbol>& syms) const {
  syms.clear();
  const bool plain = prefix_.empty() && suffix_.empty();
  int32_t unk = -1;  // a pending unknown token (fused runs stay pending)
  auto push = [&](int32_t id) {
    const auto n = static_cast<int32_t>(syms.size());
    syms.push_back(Symbol{id, n - 1, n + 1, true});
  };
  for (const char32_t* p = b; p < e; ++p) {
    int32_t id;
    if (plain) {
      id = char_id(*p);
    } else {
      buf.clear();
      if (p != b) buf += prefix_;
      append_utf8(*p, buf);
      if (p + 1 == e) buf += suffix_;
      id = token_to_id(buf);
    }
    if (id >= 0) {
      if (unk >= 0) push(unk);
      unk = -1;
      push(id);
      continue;
    }
    if (plain) {
      buf.clear();
      append_utf8(*p, buf);
    }
    if (byte_fallback_) {
      // Every byte of the piece (prefix and suffix included) as <0xHH>, or none of them. A pending unknown
      // token stays pending, as in tokenizers.
      const size_t mark = syms.size();
      bool all = true;
      for (unsigned char byte : buf) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "<0x%02X>", byte);
        const int32_t bid = token_to_id(hex);
        if (bid < 0) {
          all = false;
          break;
        }
        push(bid);
      }
      if (all) continue;
      syms.resize(mark);
    }
    if (unk_token_.empty()) continue;
    if (unk >= 0 && fuse_unk_) continue;
    if (unk >= 0) push(unk);
    unk = token_to_id(unk_token_);
    if (unk < 0) fail(source_, "model.unk_token", "unknown token " + in_quotes(unk_token_) + " is not in model.vocab");
  }
  if (unk >= 0) push(unk);
  if (!syms.empty()) syms.back().next = -1;
}

void Bpe::merge_all(std::vector<Symbol>& syms) const {
  thread_local std::vector<Candidate> queue;  // a binary max-heap under Candidate::operator<
  queue.clear();
  auto push = [&](Candidate c) {
    queue.push_back(c);
    std::push_heap(queue.begin(), queue.end());
  };
  const auto n = static_cast<int32_t>(syms.size());
  for (int32_t i = 0; i + 1 < n; ++i)
    if (const MergeVal* m = find_merge(syms[i].id, syms[i + 1].id)) queue.push_back({m->rank, i, m->new_id});
  std::make_heap(queue.begin(), queue.end());
  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end());
    const Candidate top = queue.back();
    queue.pop_back();
    Symbol& cur = syms[top.pos];
    if (!cur.alive || cur.next < 0) continue;
    const int32_t next_pos = cur.next;
    const Symbol right = syms[next_pos];
    const MergeVal* m = find_merge(cur.id, right.id);
    if (!m || m->new_id != top.new_id) continue;  // an expired entry
    cur.id = top.new_id;
    cur.next = right.next;
    syms[next_pos].alive = false;
    if (right.next >= 0) syms[right.next].prev = top.pos;
    if (cur.prev >= 0)
      if (const MergeVal* pm = find_merge(syms[cur.prev].id, cur.id)) push({pm->rank, cur.prev, pm->new_id});
    if (cur.next >= 0)
      if (const MergeVal* nm = find_merge(cur.id, syms[cur.next].id)) push({nm->rank, top.pos, nm->new_id});
  }
  release_if_large(queue);
}

void Bpe::tokenize(const char32_t* b, const char32_t* e, std::vector<int32_t>& ids) const {
  if (b == e) return;
  thread_local std::string buf;
  if (ignore_merges_) {
    encode_utf8(b, e, buf);
    const int32_t id = token_to_id(buf);
    if (id >= 0) {
      ids.push_back(id);
      return;
    }
  }
  const size_t n = static_cast<size_t>(e - b);
  WordCache* cache = nullptr;
  if (n <= kCachedWordChars) {
    cache = &word_cache(cache_owner_);
    auto it = cache->find(std::u32string_view(b, n));
    if (it != cache->end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  thread_local std::vector<Symbol> syms;
  initial_symbols(b, e, buf, syms);
  if (syms.size() > 1) merge_all(syms);
  const size_t mark = ids.size();
  for (const Symbol& s : syms)
    if (s.alive) ids.push_back(s.id);
  release_if_large(syms);
  if (cache) {
    if (cache->size() >= kCacheEntries) cache->clear();
    cache->emplace(std::u32string(b, n), std::vector<int32_t>(ids.begin() + mark, ids.end()));
  }
}

}  // namespace rerank::tok

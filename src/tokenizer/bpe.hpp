// bpe.hpp — internal: the BPE model (`model.type` "BPE"), as tokenizers' models/bpe behaves.
//
// A word starts as one symbol per character (the vocabulary's id of the character, with `continuing_subword_prefix`
// on non-first and `end_of_word_suffix` on the last character; unknown characters become `<0xHH>` byte tokens with
// `byte_fallback`, else `unk_token` (runs fused with `fuse_unk`), else nothing). Then the adjacent pair with the
// lowest merge rank (leftmost on ties) is merged, repeatedly, through a priority queue: O(n log n) per word.
// `ignore_merges`: a word that is itself in the vocabulary is that token. `dropout` must be null or 0.
// Words of up to 64 characters are cached per thread (bounded; as tokenizers caches words).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/model.hpp"

namespace rerank::tok {

class Bpe final : public Model {
 public:
  /// From the `model` section of tokenizer.json; errors name `source` and the field.
  static std::unique_ptr<Bpe> from_json(const Json& j, const std::string& source);
  /// The registry's parser (model.cpp).
  static std::unique_ptr<Model> parse(const Json& j, const std::string& source) { return from_json(j, source); }

  void tokenize(const char32_t* b, const char32_t* e, std::vector<int32_t>& ids) const override;
  int32_t token_to_id(std::string_view token) const override {
    auto it = vocab_.find(token);
    return it == vocab_.end() ? -1 : it->second;
  }
  std::vector<std::string> id_to_token() const override { return id_to_token_; }

 private:
  struct MergeVal {
    uint32_t rank;
    int32_t new_id;
  };
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };

  void parse_merges(const Json& merges, const std::string& source);
  struct MergeSlot {
    uint64_t key = kEmpty;
    MergeVal val{};
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // never a key: ids are non-negative

  /// The merge of the pair (a, b), or null (open addressing, linear probing).
  const MergeVal* find_merge(int32_t a, int32_t b) const {
    const uint64_t k = key(a, b);
    for (size_t i = slot_of(k);; i = (i + 1) & mask_) {
      const MergeSlot& s = merges_[i];
      if (s.key == k) return &s.val;
      if (s.key == kEmpty) return nullptr;
    }
  }
  size_t slot_of(uint64_t k) const { return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> shift_); }
  void insert_merge(uint64_t k, MergeVal v);
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  /// The initial symbols of a word (tokenizers' merge_word before merge_all).
  void initial_symbols(const char32_t* b, const char32_t* e, std::string& buf, std::vector<Symbol>& syms) const;
  void merge_all(std::vector<Symbol>& syms) const;
  int32_t char_id(char32_t c) const;

  VocabMap vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<MergeSlot> merges_;  ///< a hash table of (left id, right id) -> merge, at most half full
  size_t mask_ = 0;
  int shift_ = 64;
  std::vector<int32_t> small_chars_;  ///< id of the one-character token for code points < 512, or -1
  std::string unk_token_;             ///< empty = none
  std::string prefix_;                ///< continuing_subword_prefix
  std::string suffix_;                ///< end_of_word_suffix
  std::string source_;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  uint64_t cache_owner_ = 0;  ///< this model's key in the per-thread word caches (never reused)
};

}  // namespace rerank::tok

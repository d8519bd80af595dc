// bpe.hpp — internal: the BPE model (`model.type` "BPE"), as tokenizers' models/bpe behaves.
//
// A word starts as one symbol per character (the vocabulary's id of the character, with `continuing_subword_prefix`
// on non-first and `end_of_word_suffix` on the last character; unknown characters become `<0xHH>` byte tokens with
// `byte_fallback`, else `unk_token` (runs fused with `fuse_unk`), else nothing). Then the adjacent pair with the
// lowest merge rank (leftmost on ties) is merged, repeatedly, through a priority queue: O(n log n) per word.
// `ignore_merges`: a word that is itself in the vocabulary is that token. `dropout` must be null or 0.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/json_util.hpp"
#include "tokenizer/wordpiece.hpp"  // VocabMap

namespace rerank::tok {

class Bpe {
 public:
  /// From the `model` section of tokenizer.json; errors name `source` and the field.
  static Bpe from_json(const Json& j, const std::string& source);

  /// Appends the ids of one word (code points [b, e)); `buf` is scratch space.
  void tokenize_word(const char32_t* b, const char32_t* e, std::string& buf, std::vector<int32_t>& ids) const;

  /// The id of `token`, or -1.
  int32_t token_to_id(std::string_view token) const {
    auto it = vocab_.find(token);
    return it == vocab_.end() ? -1 : it->second;
  }
  size_t size() const { return id_to_token_.size(); }
  const std::vector<std::string>& id_to_token() const { return id_to_token_; }

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
  const MergeVal* find_merge(int32_t a, int32_t b) const {
    auto it = merges_.find(key(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  }
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  /// The initial symbols of a word (tokenizers' merge_word before merge_all).
  void initial_symbols(const char32_t* b, const char32_t* e, std::string& buf, std::vector<Symbol>& syms) const;
  void merge_all(std::vector<Symbol>& syms) const;
  int32_t char_id(char32_t c) const;

  VocabMap vocab_;
  std::vector<std::string> id_to_token_;
  std::unordered_map<uint64_t, MergeVal> merges_;
  std::vector<int32_t> small_chars_;  ///< id of the one-character token for code points < 512, or -1
  std::string unk_token_;             ///< empty = none
  std::string prefix_;                ///< continuing_subword_prefix
  std::string suffix_;                ///< end_of_word_suffix
  std::string source_;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
};

}  // namespace rerank::tok

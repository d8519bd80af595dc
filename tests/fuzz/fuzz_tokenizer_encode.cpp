// Fuzz target: encoding arbitrary bytes (invalid UTF-8 included) with every kind of tokenizer the repository's
// fixtures hold (WordPiece, byte-level BPE, Metaspace Unigram, Unigram with byte fallback, ...).
// Input: byte 0 picks the tokenizer, byte 1 the max_length; the rest is text, a NUL separating a pair's texts.
#include <memory>

#include "fuzz_common.hpp"
#include "rerank/tokenizer.hpp"

namespace {

const std::vector<std::unique_ptr<rerank::Tokenizer>>& tokenizers() {
  static const auto all = [] {
    std::vector<std::unique_ptr<rerank::Tokenizer>> v;
    for (const char* name : {"ms-marco-MiniLM-L-6-v2", "roberta-bpe", "xlmr-unigram", "unigram-bytefallback",
                             "qwen-bpe", "modernbert-bpe", "xlmr-unigram-t5", "bge-small-en-v1.5"})
      v.push_back(std::make_unique<rerank::Tokenizer>(
          rerank::Tokenizer::from_directory(std::filesystem::path(RERANK_TEST_DATA) / "tokenizers" / name)));
    return v;
  }();
  return all;
}

}  // namespace

// Loading the eight tokenizers takes seconds under ASan: before the first input, not counted in its time limit.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const auto& toks = tokenizers();
  const rerank::Tokenizer& tok = *toks[data[0] % toks.size()];
  const size_t max_len = data[1] % 64;
  const auto parts = fuzz::split(std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2), 2);
  fuzz::expect_typed_errors([&] {
    rerank::Encoding e = parts.size() > 1 ? tok.encode_pair(parts[0], parts[1], max_len) : tok.encode(parts[0], max_len);
    if (e.ids.size() != e.type_ids.size()) __builtin_trap();
    if (max_len >= tok.num_special_tokens(parts.size() > 1) + 2 && max_len > 0 && e.ids.size() > max_len) __builtin_trap();
    for (int32_t id : e.ids)
      if (id < 0) __builtin_trap();
    std::vector<int32_t> ids = tok.encode_ids(parts[0], max_len == 0 ? SIZE_MAX : max_len);
    if (max_len > 0 && ids.size() > max_len) __builtin_trap();
    (void)tok.tokenize(parts[0]);
  });
  return 0;
}

// Fuzz target: tokenizer.json loading (Tokenizer::from_json), then encoding with the loaded tokenizer.
// Input: the tokenizer.json text, optionally followed by a NUL and the text to encode (else a fixed sentence).
#include "fuzz_common.hpp"
#include "rerank/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto parts = fuzz::split(in, 2);
  const std::string_view text = parts.size() > 1 ? parts[1] : "Hello, world! Ünïcödé café 東京 123";
  fuzz::expect_typed_errors([&] {
    rerank::Tokenizer tok = rerank::Tokenizer::from_json(parts[0], "fuzz/tokenizer.json");
    const size_t vocab = tok.vocab_size();
    for (size_t max_len : {size_t{0}, size_t{8}}) {
      rerank::Encoding e = tok.encode(text, max_len);
      if (e.ids.size() != e.type_ids.size()) __builtin_trap();
      if (max_len > 0 && max_len >= tok.num_special_tokens(false) && e.ids.size() > max_len) __builtin_trap();
    }
    rerank::Encoding p = tok.encode_pair(text, "a second text", 16);
    if (p.ids.size() != p.type_ids.size()) __builtin_trap();
    for (int32_t id : tok.encode_ids(text, 64)) {
      if (id < 0) __builtin_trap();
      (void)tok.id_to_token(id);
    }
    (void)tok.tokenize(text);
    (void)vocab;
  });
  return 0;
}

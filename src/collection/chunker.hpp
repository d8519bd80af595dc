// Splitting long documents into overlapping passages, on sentence boundaries where possible.
#pragma once
#include <functional>
#include <string_view>
#include <vector>

namespace rerank::collection {

struct Chunk {
  size_t start, end;  ///< byte range of the document text
};

/// Splits `text` into chunks of at most `budget` tokens (as counted by `count`) sharing up to `overlap` tokens
/// with the previous chunk. Sentences (ended by . ! ? followed by white space, or blank lines) are kept whole
/// unless one alone exceeds the budget, which is then split between words. Returns one chunk for an empty text.
std::vector<Chunk> chunk_text(std::string_view text, size_t budget, size_t overlap,
                              const std::function<size_t(std::string_view)>& count);

/// Whitespace-separated words in `text`.
size_t count_words(std::string_view text);

}  // namespace rerank::collection

// precompiled.cpp — the Precompiled normalizer (SentencePiece's compiled charsmap). Placeholder until the
// charsmap reader lands.
#include "tokenizer/normalizer.hpp"

namespace rerank::tok {

std::unique_ptr<NormStep> parse_precompiled(const Json&, const std::string& source, const std::string& path) {
  fail(source, path + ".type", "unsupported normalizer 'Precompiled' (not implemented yet)");
}

}  // namespace rerank::tok

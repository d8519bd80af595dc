// metaspace.cpp — the Metaspace pre-tokenizer, as tokenizers' pre_tokenizers/metaspace.rs behaves: in each word,
// every ' ' (U+0020 only) becomes the replacement character; the replacement is prepended (prepend_scheme
// "always": to every word not already starting with it; "first": only to the word that starts the input;
// "never"); with `split`, each replacement character then starts a new word (MergedWithNext).
//
// JSON: `replacement` (one character, required), `prepend_scheme` (default "always"), `split` (default true),
// and the legacy `add_prefix_space` (false requires prepend_scheme "never"); `str_rep` is ignored as tokenizers
// does.
#include <utility>

#include "tokenizer/pretokenizer.hpp"

namespace rerank::tok {

namespace {

enum class Prepend { Always, First, Never };

struct Metaspace final : PreTokStep {
  char32_t replacement = 0x2581;
  Prepend prepend = Prepend::Always;
  bool split = true;

  void apply(U32& buf, std::vector<Span>& words, std::vector<Span>& out) const override {
    out.clear();
    for (const Span& w : words) {
      const auto start = static_cast<uint32_t>(buf.size());
      const bool starts_with_rep = buf[w.begin] == replacement || buf[w.begin] == U' ';
      if (!starts_with_rep && (prepend == Prepend::Always || (prepend == Prepend::First && w.at_start)))
        buf.push_back(replacement);
      for (uint32_t i = w.begin; i < w.end; ++i) {
        const char32_t c = buf[i];
        buf.push_back(c == U' ' ? replacement : c);
      }
      const auto stop = static_cast<uint32_t>(buf.size());
      if (!split) {
        out.push_back({start, stop, w.at_start});
        continue;
      }
      uint32_t piece = start;
      for (uint32_t i = start + 1; i < stop; ++i) {
        if (buf[i] != replacement) continue;
        out.push_back({piece, i, w.at_start && piece == start});
        piece = i;
      }
      out.push_back({piece, stop, w.at_start && piece == start});
    }
    words.swap(out);
  }
};

}  // namespace

std::unique_ptr<PreTokStep> parse_metaspace(const Json& j, const std::string& source, const std::string& path) {
  auto m = std::make_unique<Metaspace>();
  auto r = j.find("replacement");
  if (r == j.end() || !r->is_string()) fail(source, path + ".replacement", "missing or not a string");
  U32 rep;
  decode_utf8(r->get<std::string>(), rep);
  if (rep.size() != 1) fail(source, path + ".replacement", "expected exactly one character");
  m->replacement = rep[0];
  const std::string scheme = get_string(j, "prepend_scheme", "always", source, path);
  if (scheme == "always") {
    m->prepend = Prepend::Always;
  } else if (scheme == "first") {
    m->prepend = Prepend::First;
  } else if (scheme == "never") {
    m->prepend = Prepend::Never;
  } else {
    fail(source, path + ".prepend_scheme", "unsupported value '" + scheme + "' (supported: always, first, never)");
  }
  // The legacy key: true changes nothing; false must agree with prepend_scheme "never" (tokenizers refuses the
  // file otherwise, and so do we).
  if (!get_bool(j, "add_prefix_space", true, source, path) && m->prepend != Prepend::Never)
    fail(source, path + ".add_prefix_space", "false does not match prepend_scheme '" + scheme + "'");
  m->split = get_bool(j, "split", true, source, path);
  return m;
}

}  // namespace rerank::tok

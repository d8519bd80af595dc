// tokenizer.cpp — the public rerank::Tokenizer: loading and encoding.
//
// Deliberate differences from Hugging Face tokenizers (0.23):
//  * max_length smaller than the number of special tokens: the content is dropped and only the special tokens
//    are returned (HF skips truncation entirely then).
//  * Unicode data comes from utf8proc (Unicode 15) where tokenizers uses the unicode_categories crate (older
//    tables): punctuation added after that (e.g. U+2E5D, U+061D) is isolated here but not in HF, and similar for
//    Mn / Cf characters assigned recently. Common text is unaffected.
#include <utility>

#include "util/files.hpp"
#include "tokenizer/impl.hpp"

namespace rerank {

namespace {

struct Scratch {
  tok::U32 raw, norm, tmp;
  std::vector<tok::Piece> outer, inner;
  std::vector<tok::Span> spans, spans_tmp;
  std::vector<int32_t> a, b;

  void trim() {
    tok::release_if_large(raw);
    tok::release_if_large(norm);
    tok::release_if_large(tmp);
    tok::release_if_large(spans);
    tok::release_if_large(spans_tmp);
    tok::release_if_large(outer);
    tok::release_if_large(inner);
    tok::release_if_large(a);
    tok::release_if_large(b);
  }
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

void Tokenizer::Impl::encode_sequence(std::string_view text, std::vector<int32_t>& ids, size_t cap) const {
  Scratch& s = scratch();
  tok::decode_utf8(text, s.raw);
  const auto n = static_cast<uint32_t>(s.raw.size());
  if (raw_added.empty()) {
    s.outer.assign(1, tok::Piece{0, n, -1});
  } else {
    raw_added.split(s.raw, 0, n, s.outer);
  }
  for (const tok::Piece& p : s.outer) {
    if (ids.size() >= cap) return;
    if (p.id >= 0) {
      ids.push_back(p.id);
      continue;
    }
    s.norm.assign(s.raw.begin() + p.begin, s.raw.begin() + p.end);
    // Leading characters aligned with offset 0 of the input (Metaspace's prepend_scheme "first").
    const size_t lead = p.begin == 0 ? normalizer.apply(s.norm, s.tmp) : (normalizer.apply(s.norm, s.tmp), 0);
    const auto m = static_cast<uint32_t>(s.norm.size());
    if (norm_added.empty()) {
      s.inner.assign(1, tok::Piece{0, m, -1});
    } else {
      norm_added.split(s.norm, 0, m, s.inner);
    }
    for (const tok::Piece& q : s.inner) {
      if (q.id >= 0) {
        if (ids.size() >= cap) return;
        ids.push_back(q.id);
        continue;
      }
      // Transforming pre-tokenizers append to s.norm: the ranges of s.inner stay valid.
      pre_tokenizer.split(s.norm, q.begin, q.end, lead > q.begin ? static_cast<uint32_t>(lead - q.begin) : 0, s.spans,
                          s.spans_tmp);
      for (const tok::Span& w : s.spans) {
        if (ids.size() >= cap) return;
        model->tokenize(s.norm.data() + w.begin, s.norm.data() + w.end, ids);
      }
    }
  }
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_json(std::string_view json_text, const std::string& source) {
  return Tokenizer(tok::load_tokenizer_json(json_text, source));
}

Tokenizer Tokenizer::from_directory(const std::filesystem::path& dir) {
  const std::filesystem::path json_path = dir / "tokenizer.json";
  std::error_code ec;
  if (std::filesystem::exists(json_path, ec)) {
    auto impl = tok::load_tokenizer_json(tok::read_file(json_path), json_path.string());
    // tokenizer_config.json names the padding token when present.
    const std::filesystem::path cfg_path = dir / "tokenizer_config.json";
    if (std::filesystem::exists(cfg_path, ec)) {
      try {
        const tok::Json cfg = util::parse_json(tok::read_file(cfg_path));
        if (cfg.is_object() && cfg.contains("pad_token") && cfg["pad_token"].is_string()) {
          const int32_t id = impl->token_to_id(cfg["pad_token"].get<std::string>());
          if (id >= 0) impl->pad_id = id;
        }
      } catch (const tok::Json::exception&) {
        // tokenizer.json is authoritative; a broken optional config only loses the pad token hint.
      }
    }
    return Tokenizer(std::move(impl));
  }
  if (std::filesystem::exists(dir / "vocab.txt", ec)) return Tokenizer(tok::load_vocab_txt(dir));
  if (!std::filesystem::is_directory(dir, ec)) throw ModelError(dir.string() + ": not a directory");
  throw ModelError(dir.string() + ": neither tokenizer.json nor vocab.txt found");
}

Encoding Tokenizer::encode(std::string_view text, size_t max_length) const {
  Scratch& s = scratch();
  s.a.clear();
  const size_t n_special = impl_->post.num_special_tokens(false);
  const size_t budget = max_length > n_special ? max_length - n_special : 0;
  impl_->encode_sequence(text, s.a, max_length > 0 ? budget : SIZE_MAX);
  Encoding out;
  impl_->post.process(s.a, nullptr, max_length, impl_->vocab, out);
  s.trim();
  return out;
}

Encoding Tokenizer::encode_pair(std::string_view a, std::string_view b, size_t max_length) const {
  Scratch& s = scratch();
  s.a.clear();
  s.b.clear();
  impl_->encode_sequence(a, s.a);
  size_t cap = SIZE_MAX;
  if (max_length > 0) {
    // LongestFirst only needs b's exact length up to max(budget, |a|): beyond that b is the longer sequence and
    // is cut to at most `budget` tokens, so stopping at max(budget, |a|) + 1 ids gives the same result.
    const size_t n_special = impl_->post.num_special_tokens(true);
    const size_t budget = max_length > n_special ? max_length - n_special : 0;
    cap = std::max(budget, s.a.size()) + 1;
  }
  impl_->encode_sequence(b, s.b, cap);
  Encoding out;
  impl_->post.process(s.a, &s.b, max_length, impl_->vocab, out);
  s.trim();
  return out;
}

std::vector<int32_t> Tokenizer::encode_ids(std::string_view text, size_t cap) const {
  std::vector<int32_t> ids;
  impl_->encode_sequence(text, ids, cap);
  if (ids.size() > cap) ids.resize(cap);
  scratch().trim();
  return ids;
}

Encoding Tokenizer::assemble_pair(std::vector<int32_t> a, std::vector<int32_t> b, size_t max_length) const {
  Encoding out;
  impl_->post.process(a, &b, max_length, impl_->vocab, out);
  return out;
}

std::vector<std::string> Tokenizer::tokenize(std::string_view text) const {
  std::vector<int32_t> ids;
  impl_->encode_sequence(text, ids);
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int32_t id : ids) out.push_back(id_to_token(id));
  scratch().trim();
  return out;
}

size_t Tokenizer::vocab_size() const { return impl_->vocab.size(); }
int32_t Tokenizer::pad_id() const { return impl_->pad_id; }
size_t Tokenizer::num_special_tokens(bool pair) const { return impl_->post.num_special_tokens(pair); }

int32_t Tokenizer::token_to_id(std::string_view token) const {
  for (size_t i = 0; i < impl_->vocab.size(); ++i) {
    if (impl_->vocab[i] == token) return static_cast<int32_t>(i);
  }
  return -1;
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->vocab.size()) return std::string();
  return impl_->vocab[static_cast<size_t>(id)];
}

}  // namespace rerank

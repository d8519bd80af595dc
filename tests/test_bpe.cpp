// Tests of the byte-level BPE side of the tokenizer: the BPE model, ByteLevel, Split, the PCRE2 wrapper,
// RobertaProcessing; goldens from Hugging Face tokenizers 0.23.3:
//   tests/data/tokenizers/bpe_unit_golden.jsonl  (scripts/reference/bpe_unit_golden.py): per-option cases
//   tests/data/tokenizers/arch_golden.jsonl      (scripts/reference/make_tokenizers.py): whole tokenizers
// Token ids are compared exactly.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "rerank/error.hpp"
#include "rerank/tokenizer.hpp"
#include "test_util.hpp"
#include "tokenizer/bpe.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/regex.hpp"
#include "tokenizer/split.hpp"
#include "tokenizer/template.hpp"

namespace {

using nlohmann::json;
using rerank::Encoding;
using rerank::ModelError;
using rerank::Tokenizer;
using rerank::test::data;
using rerank::test::error_of;
using rerank::test::read_jsonl;
namespace tok = rerank::tok;

const char* const kBpeTokenizers[] = {"roberta-bpe", "modernbert-bpe", "qwen-bpe"};

std::vector<std::string> pieces_of(const tok::U32& text, const std::vector<tok::Range>& ranges) {
  std::vector<std::string> out;
  for (const tok::Range& r : ranges) out.push_back(tok::to_utf8(text.substr(r.begin, r.end - r.begin)));
  return out;
}

std::vector<json> unit_cases(const std::string& kind) {
  std::vector<json> out;
  for (json& c : read_jsonl(data("tokenizers/bpe_unit_golden.jsonl")))
    if (c["kind"] == kind) out.push_back(std::move(c));
  return out;
}

// A small tokenizer.json: BPE over WhitespaceSplit, vocabulary a b c ab abc, merges given.
json small_tokenizer(const json& merges) {
  return {{"version", "1.0"},
          {"pre_tokenizer", {{"type", "WhitespaceSplit"}}},
          {"model",
           {{"type", "BPE"},
            {"vocab", {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"abc", 4}}},
            {"merges", merges}}}};
}

std::string load_error(const json& j) {
  return error_of<ModelError>([&] { Tokenizer::from_json(j.dump(), "tok.json"); });
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Pieces against tokenizers

TEST(BpeUnit, SplitMatchesTokenizers) {
  const auto cases = unit_cases("split");
  ASSERT_GT(cases.size(), 500u);
  int ok = 0;
  for (const json& c : cases) {
    const auto split = tok::SplitPreTokenizer::from_json(c["pre_tokenizer"], "case", "pre_tokenizer");
    tok::U32 text;
    tok::decode_utf8(c["text"].get<std::string>(), text);
    std::vector<tok::Range> out;
    if (!text.empty()) split.split(text.data(), static_cast<uint32_t>(text.size()), out);
    const auto got = pieces_of(text, out);
    if (got == c["pieces"].get<std::vector<std::string>>()) {
      ++ok;
    } else {
      ADD_FAILURE() << c.dump() << "\n  got: " << json(got).dump();
    }
  }
  EXPECT_EQ(ok, static_cast<int>(cases.size()));
  std::printf("Split pieces: %d / %zu matched\n", ok, cases.size());
}

TEST(BpeUnit, ByteLevelMatchesTokenizers) {
  const auto cases = unit_cases("byte_level");
  ASSERT_GE(cases.size(), 80u);
  int ok = 0;
  for (const json& c : cases) {
    const auto bl = tok::ByteLevelPreTokenizer::from_json(c["pre_tokenizer"], "case", "pre_tokenizer");
    tok::U32 text, out_text;
    tok::decode_utf8(c["text"].get<std::string>(), text);
    std::vector<tok::Range> words;
    bl.apply(text.data(), static_cast<uint32_t>(text.size()), out_text, words);
    const auto got = pieces_of(out_text, words);
    if (got == c["pieces"].get<std::vector<std::string>>()) {
      ++ok;
    } else {
      ADD_FAILURE() << c.dump() << "\n  got: " << json(got).dump();
    }
  }
  EXPECT_EQ(ok, static_cast<int>(cases.size()));
}

TEST(BpeUnit, ModelOptionsMatchTokenizers) {
  // prefix / suffix / byte_fallback / unk / fuse_unk / ignore_merges / legacy "a b" merges / dropout 0.
  const auto configs = unit_cases("tokenizer");
  ASSERT_GE(configs.size(), 12u);
  int ok = 0, n = 0;
  for (const json& cfg : configs) {
    const std::string name = cfg["name"];
    Tokenizer t = Tokenizer::from_json(cfg["tokenizer"].dump(), name);
    for (const json& c : cfg["cases"]) {
      ++n;
      const Encoding e = t.encode(c["text"].get<std::string>());
      if (e.ids == c["ids"].get<std::vector<int32_t>>()) {
        ++ok;
      } else {
        ADD_FAILURE() << name << ": " << c.dump();
      }
    }
  }
  EXPECT_EQ(ok, n);
  std::printf("BPE model options: %d / %d matched\n", ok, n);
}

TEST(BpeUnit, ByteTable) {
  // GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the 68 others for U+0100.. in order.
  std::vector<bool> seen(400, false);
  for (int b = 0; b < 256; ++b) {
    const char32_t c = tok::byte_to_char(static_cast<uint8_t>(b));
    ASSERT_LT(c, 400u);
    EXPECT_FALSE(seen[c]) << b;
    seen[c] = true;
    EXPECT_EQ(tok::char_to_byte(c), b);
  }
  EXPECT_EQ(tok::byte_to_char('A'), U'A');
  EXPECT_EQ(tok::byte_to_char(0), U'\u0100');
  EXPECT_EQ(tok::byte_to_char(' '), U'\u0120');  // 'Ġ'
  EXPECT_EQ(tok::byte_to_char('\n'), U'\u010A');  // 'Ċ'
  EXPECT_EQ(tok::byte_to_char(0xAD), U'\u0143');
  EXPECT_EQ(tok::char_to_byte(U'\u0144'), -1);
  EXPECT_EQ(tok::char_to_byte(U'€'), -1);
}

TEST(BpeUnit, RegexRewritesOnigurumaClasses) {
  EXPECT_EQ(tok::onig_compatible_pattern(R"(\s+(?!\S))"), R"([\s\x{85}]+(?![^\s\x{85}]))");
  EXPECT_EQ(tok::onig_compatible_pattern(R"([^\s\p{L}])"), R"([^\s\x{85}\p{L}])");
  EXPECT_EQ(tok::onig_compatible_pattern(R"(\\s\Q\s\E)"), R"(\\s\Q\s\E)");  // escaped backslash, quoting
  EXPECT_EQ(tok::onig_compatible_pattern(R"([]\s])"), R"([]\s\x{85}])");     // ']' first in a class
  // U+0085 is whitespace for Oniguruma (tokenizers) and must be for the compiled pattern too.
  tok::Regex re(R"(\s+)", false, "t", "f");
  const std::u32string text = U"a\u0085b";
  std::vector<tok::Range> m;
  re.find_all(text.data(), text.size(), m);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].begin, 1u);
}

TEST(BpeUnit, RobertaProcessing) {
  const json j = {{"type", "RobertaProcessing"}, {"sep", json::array({"</s>", 2u})}, {"cls", json::array({"<s>", 0u})},
                  {"trim_offsets", true}, {"add_prefix_space", false}};
  const auto pp = tok::PostProcessor::from_json(j, "tok.json");
  EXPECT_EQ(pp.num_special_tokens(false), 2u);
  EXPECT_EQ(pp.num_special_tokens(true), 4u);
  std::vector<std::string> vocab(20, "x");
  std::vector<int32_t> a = {10, 11, 12}, b = {13, 14};
  Encoding e;
  pp.process(a, &b, 0, vocab, e);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{0, 10, 11, 12, 2, 2, 13, 14, 2}));
  EXPECT_EQ(e.type_ids, std::vector<int32_t>(9, 0));
  EXPECT_EQ(e.tokens[0], "<s>");
  EXPECT_EQ(e.tokens[5], "</s>");
  pp.process(a, nullptr, 4, vocab, e);  // truncated to 2 content tokens
  EXPECT_EQ(e.ids, (std::vector<int32_t>{0, 10, 11, 2}));
  // ByteLevel as the post-processor changes no ids.
  const auto bl = tok::PostProcessor::from_json({{"type", "ByteLevel"}, {"trim_offsets", true}}, "tok.json");
  EXPECT_EQ(bl.num_special_tokens(true), 0u);
  const json bad = {{"type", "RobertaProcessing"}, {"sep", "</s>"}, {"cls", json::array({"<s>", 0u})}};
  EXPECT_NE(error_of<ModelError>([&] { tok::PostProcessor::from_json(bad, "tok.json"); }).find("post_processor.sep"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------------
// Whole tokenizers

TEST(BpeGolden, ArchGolden) {
  const auto cases = read_jsonl(data("tokenizers/arch_golden.jsonl"));
  std::map<std::string, std::unique_ptr<Tokenizer>> toks;
  std::map<std::string, std::pair<int, int>> counts;  // tokenizer -> (matched, total)
  for (const json& c : cases) {
    const std::string name = c["tokenizer"];
    if (name.size() < 4 || name.compare(name.size() - 4, 4, "-bpe") != 0) continue;
    auto& t = toks[name];
    if (!t) t = std::make_unique<Tokenizer>(Tokenizer::from_directory(data("tokenizers/" + name)));
    const size_t max_length = c["max_length"].get<size_t>();
    const std::string a = c["text"];
    const Encoding e =
        c.contains("text_pair") ? t->encode_pair(a, c["text_pair"].get<std::string>(), max_length) : t->encode(a, max_length);
    auto& [ok, n] = counts[name];
    ++n;
    if (e.ids == c["input_ids"].get<std::vector<int32_t>>() && e.type_ids == c["token_type_ids"].get<std::vector<int32_t>>()) {
      ++ok;
    } else if (n - ok <= 5) {
      ADD_FAILURE() << name << " mismatch: " << c.dump();
    }
  }
  for (const char* name : kBpeTokenizers) {
    const auto [ok, n] = counts[name];
    EXPECT_GE(n, 500) << name;
    EXPECT_EQ(ok, n) << name;
    std::printf("arch golden %s: %d / %d matched\n", name, ok, n);
  }
}

TEST(BpeGolden, ConcurrentEncodingsAgree) {
  // The BPE, regex and ByteLevel scratch space is per thread: encodings in parallel equal the serial ones.
  const Tokenizer t = Tokenizer::from_directory(data("tokenizers/qwen-bpe"));
  std::vector<std::string> texts;
  for (const json& c : read_jsonl(data("tokenizers/arch_golden.jsonl")))
    if (c["tokenizer"] == "qwen-bpe") texts.push_back(c["text"]);
  ASSERT_GT(texts.size(), 100u);
  std::vector<std::vector<int32_t>> serial;
  for (const auto& s : texts) serial.push_back(t.encode(s).ids);
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int rep = 0; rep < 3; ++rep)
        for (size_t i = k; i < texts.size(); i += 2) bad[k] += t.encode(texts[i]).ids != serial[i];
    });
  for (auto& th : threads) th.join();
  for (int k = 0; k < 4; ++k) EXPECT_EQ(bad[k], 0) << "thread " << k;
}

// ---------------------------------------------------------------------------------------------------------------
// Malformed tokenizer.json

TEST(BpeMalformed, ErrorsNameTheField) {
  const json pairs = json::array({json::array({"a", "b"}), json::array({"ab", "c"})});
  EXPECT_NO_THROW(Tokenizer::from_json(small_tokenizer(pairs).dump(), "tok.json"));
  EXPECT_NO_THROW(Tokenizer::from_json(small_tokenizer({"a b", "ab c"}).dump(), "tok.json"));

  // merges referring to missing tokens
  std::string e = load_error(small_tokenizer({"a b", "ab d"}));
  EXPECT_NE(e.find("tok.json"), std::string::npos) << e;
  EXPECT_NE(e.find("model.merges[1]"), std::string::npos) << e;
  EXPECT_NE(e.find("'d'"), std::string::npos) << e;
  e = load_error(small_tokenizer({"b c"}));  // "bc" is not in the vocabulary
  EXPECT_NE(e.find("model.merges[0]"), std::string::npos) << e;
  EXPECT_NE(e.find("'bc'"), std::string::npos) << e;
  e = load_error(small_tokenizer({"a b c"}));
  EXPECT_NE(e.find("model.merges[0]"), std::string::npos) << e;
  e = load_error(small_tokenizer(json::array({json::array({"a"})})));
  EXPECT_NE(e.find("model.merges[0]"), std::string::npos) << e;

  // dropout
  json j = small_tokenizer({"a b"});
  j["model"]["dropout"] = 0.1;
  e = load_error(j);
  EXPECT_NE(e.find("model.dropout"), std::string::npos) << e;
  j["model"]["dropout"] = 0.0;
  EXPECT_NO_THROW(Tokenizer::from_json(j.dump(), "tok.json"));

  // vocabulary
  j = small_tokenizer({"a b"});
  j["model"]["vocab"]["x"] = -1;
  EXPECT_NE(load_error(j).find("model.vocab.x"), std::string::npos);
  j["model"]["vocab"] = json::object();
  EXPECT_NE(load_error(j).find("model.vocab"), std::string::npos);

  // pre-tokenizers
  j = small_tokenizer({"a b"});
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "NoSuchSplitter"}}}}};
  e = load_error(j);
  EXPECT_NE(e.find("pre_tokenizer.pretokenizers[0].type"), std::string::npos) << e;
  EXPECT_NE(e.find("NoSuchSplitter"), std::string::npos) << e;
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  e = load_error(j);
  EXPECT_NE(e.find("pre_tokenizer.pattern.Regex"), std::string::npos) << e;
  EXPECT_NE(e.find("(unclosed"), std::string::npos) << e;
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "\\s"}}}, {"behavior", "Sideways"}};
  EXPECT_NE(load_error(j).find("pre_tokenizer.behavior"), std::string::npos);
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Glob", "*"}}}, {"behavior", "Removed"}};
  EXPECT_NE(load_error(j).find("pre_tokenizer.pattern"), std::string::npos);
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", "yes"}};
  EXPECT_NE(load_error(j).find("pre_tokenizer.add_prefix_space"), std::string::npos);

  // unk_token missing from the vocabulary: an error once an unknown character needs it
  j = small_tokenizer({"a b"});
  j["model"]["unk_token"] = "<unk>";
  Tokenizer t = Tokenizer::from_json(j.dump(), "tok.json");
  EXPECT_EQ(t.encode("ab").ids, std::vector<int32_t>{3});
  EXPECT_NE(error_of<ModelError>([&] { t.encode("az"); }).find("model.unk_token"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------------
// Hostile input and speed

TEST(BpeSpeed, LongWordsAreNotQuadratic) {
  // 100k characters without a space: one BPE word (qwen splits letters from digits; roberta keeps letters whole).
  const Tokenizer roberta = Tokenizer::from_directory(data("tokenizers/roberta-bpe"));
  const Tokenizer qwen = Tokenizer::from_directory(data("tokenizers/qwen-bpe"));
  std::mt19937 rng(7);
  std::string letters, mixed, spaces(100000, ' ');
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz";
  for (int i = 0; i < 100000; ++i) letters += alphabet[rng() % alphabet.size()];
  for (int i = 0; i < 25000; ++i) mixed += "é€ab";  // 2- and 3-byte characters: 175k byte-level symbols
  spaces += "x";
  for (const auto* t : {&roberta, &qwen}) {
    for (const std::string* s : {&letters, &mixed, &spaces}) {
      const auto t0 = std::chrono::steady_clock::now();
      const size_t n = t->encode(*s).ids.size();
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("long word: %zu bytes -> %zu tokens in %.3f s\n", s->size(), n, sec);
      EXPECT_GT(n, 10u);
      EXPECT_LT(sec, 5.0);  // O(n log n): ~0.05 s here (x5 under ASan); a quadratic merge loop takes minutes
    }
  }
}

TEST(BpeSpeed, TokensPerSecond) {
  // SciFact-like text: the golden texts (Faker text in 20 locales and SciFact abstracts) encoded repeatedly.
  std::vector<std::string> texts;
  for (const json& c : read_jsonl(data("tokenizers/arch_golden.jsonl")))
    if (c["tokenizer"] == "roberta-bpe" && c.contains("text_pair")) texts.push_back(c["text_pair"]);
  ASSERT_GT(texts.size(), 50u);
  for (const char* name : kBpeTokenizers) {
    const Tokenizer t = Tokenizer::from_directory(data("tokenizers/" + std::string(name)));
    size_t tokens = 0, bytes = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int rep = 0; rep < 5; ++rep)
      for (const auto& s : texts) {
        tokens += t.encode(s).ids.size();
        bytes += s.size();
      }
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s: %.0f tokens/s, %.1f MB/s (1 thread)\n", name, tokens / sec, bytes / sec / 1e6);
    EXPECT_GT(tokens, 0u);
  }
}

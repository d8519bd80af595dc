// test_tokenizer_unigram.cpp — the Unigram tokenizers (SentencePiece models converted by transformers, and
// tokenizers' own layout) against Hugging Face tokenizers, their pipeline pieces (Precompiled, Replace, Strip,
// Prepend, Metaspace, WhitespaceSplit, added tokens with lstrip/rstrip/single_word) and malformed files.
//
// Golden data (token ids exact): tests/data/tokenizers/arch_golden.jsonl (scripts/reference/make_tokenizers.py)
// and unigram_edge_golden.jsonl + unigram_variants.json (scripts/reference/make_unigram_edge_goldens.py).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "rerank/error.hpp"
#include "rerank/tokenizer.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using rerank::Encoding;
using rerank::ModelError;
using rerank::Tokenizer;

namespace {

const fs::path kTok = fs::path(RERANK_TEST_DATA) / "tokenizers";
const std::vector<std::string> kUnigram = {"xlmr-unigram", "xlmr-unigram-t5", "unigram-bytefallback"};

std::vector<json> read_lines(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ids_str(const std::vector<int32_t>& v) {
  std::string s;
  for (int32_t id : v) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

// Runs every golden line of the tokenizers `toks` knows; returns {name: {passed, total}}.
std::map<std::string, std::pair<int, int>> run_goldens(const std::vector<json>& cases,
                                                       const std::map<std::string, const Tokenizer*>& toks) {
  std::map<std::string, std::pair<int, int>> counts;
  int reported = 0;
  for (const json& c : cases) {
    const std::string name = c["tokenizer"];
    auto it = toks.find(name);
    if (it == toks.end()) continue;
    const size_t max_length = c["max_length"].get<size_t>();
    const std::string text = c["text"];
    const Encoding e = c.contains("text_pair")
                           ? it->second->encode_pair(text, c["text_pair"].get<std::string>(), max_length)
                           : it->second->encode(text, max_length);
    const bool ok = e.ids == c["input_ids"].get<std::vector<int32_t>>() &&
                    e.type_ids == c["token_type_ids"].get<std::vector<int32_t>>();
    auto& [passed, total] = counts[name];
    ++total;
    passed += ok;
    if (!ok && reported++ < 20)
      ADD_FAILURE() << name << " mismatch for " << c.dump() << "\n  got ids: " << ids_str(e.ids);
  }
  return counts;
}

void expect_model_error(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "expected ModelError";
  } catch (const ModelError& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

// xlmr-unigram's tokenizer.json, parsed once.
const json& xlmr_json() {
  static const json j = json::parse(read_text(kTok / "xlmr-unigram" / "tokenizer.json"));
  return j;
}

// A small Unigram tokenizer.json around `model` / `normalizer` / `pre_tokenizer`.
std::string unigram_json(const json& model, const json& normalizer = nullptr, const json& pre = nullptr) {
  json j = {{"version", "1.0"}, {"model", model}, {"normalizer", normalizer}, {"pre_tokenizer", pre}};
  return j.dump();
}

// [piece, score] (an explicit array: a braced pair would become a JSON object).
json e(const std::string& piece, double score) { return json::array({piece, score}); }

json small_vocab() {
  return json::array({e("<unk>", 0.0), e("\u2581a", -1.0), e("a", -2.0), e("b", -2.5), e("ab", -2.0),
                      e("\u2581", -3.0)});
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Golden data

TEST(UnigramGolden, ArchGoldenAllCasesIdentical) {
  const auto cases = read_lines(kTok / "arch_golden.jsonl");
  std::vector<std::unique_ptr<Tokenizer>> owned;
  std::map<std::string, const Tokenizer*> toks;
  for (const std::string& name : kUnigram) {
    owned.push_back(std::make_unique<Tokenizer>(Tokenizer::from_directory(kTok / name)));
    toks[name] = owned.back().get();
  }
  const auto counts = run_goldens(cases, toks);
  for (const std::string& name : kUnigram) {
    const auto it = counts.find(name);
    ASSERT_NE(it, counts.end()) << name << " has no golden cases";
    EXPECT_GE(it->second.second, 800) << name;
    EXPECT_EQ(it->second.first, it->second.second) << name;
    std::printf("arch golden %s: %d / %d identical\n", name.c_str(), it->second.first, it->second.second);
  }
}

TEST(UnigramGolden, EdgeTextsAndPipelineVariants) {
  const auto cases = read_lines(kTok / "unigram_edge_golden.jsonl");
  const json specs = json::parse(read_text(kTok / "unigram_variants.json"));
  std::vector<std::unique_ptr<Tokenizer>> owned;
  std::map<std::string, const Tokenizer*> toks;
  for (const std::string& name : kUnigram) {
    owned.push_back(std::make_unique<Tokenizer>(Tokenizer::from_directory(kTok / name)));
    toks[name] = owned.back().get();
  }
  // The variants: the base tokenizer.json with sections replaced, as make_unigram_edge_goldens.py builds them.
  const json precompiled = xlmr_json()["normalizer"]["normalizers"][0];
  for (auto it = specs.begin(); it != specs.end(); ++it) {
    const json& spec = it.value();
    ASSERT_EQ(spec["base"], "xlmr-unigram");
    json t = xlmr_json();
    std::string sections = spec["set"].dump();
    for (size_t at; (at = sections.find("\"$base_precompiled\"")) != std::string::npos;)
      sections.replace(at, 19, precompiled.dump());
    const json replaced = json::parse(sections);
    for (auto s = replaced.begin(); s != replaced.end(); ++s) t[s.key()] = s.value();
    if (spec["extra_added"].get<bool>()) {
      for (json& a : t["added_tokens"])
        if (a["content"] == "<mask>") a["rstrip"] = true;
      const size_t n = t["model"]["vocab"].size();
      t["added_tokens"].push_back({{"id", 261}, {"content", "ab"}, {"single_word", true}, {"lstrip", false},
                                   {"rstrip", false}, {"normalized", true}, {"special", false}});
      t["added_tokens"].push_back({{"id", n}, {"content", "Hé"}, {"single_word", false}, {"lstrip", true},
                                   {"rstrip", true}, {"normalized", true}, {"special", false}});
      t["added_tokens"].push_back({{"id", n + 1}, {"content", " x "}, {"single_word", false}, {"lstrip", false},
                                   {"rstrip", false}, {"normalized", false}, {"special", false}});
    }
    owned.push_back(std::make_unique<Tokenizer>(Tokenizer::from_json(t.dump(), it.key())));
    toks[it.key()] = owned.back().get();
  }
  const auto counts = run_goldens(cases, toks);
  EXPECT_EQ(counts.size(), toks.size());
  int passed = 0, total = 0;
  for (const auto& [name, c] : counts) {
    EXPECT_EQ(c.first, c.second) << name;
    passed += c.first;
    total += c.second;
  }
  EXPECT_GT(total, 4000);
  std::printf("unigram edge + variant goldens: %d / %d identical (%zu tokenizers)\n", passed, total, counts.size());
}

// ---------------------------------------------------------------------------------------------------------------
// Behaviour

TEST(UnigramTokenizer, SpacesAndMaskEdges) {
  const Tokenizer t = Tokenizer::from_directory(kTok / "xlmr-unigram");
  const int32_t bos = 0, eos = 2;
  const Encoding empty = t.encode("");
  EXPECT_EQ(empty.ids, (std::vector<int32_t>{bos, eos}));
  // Strip (right) and Replace(" {2,}") leave nothing of spaces-only texts.
  for (const char* s : {" ", "   ", " \t \n "}) EXPECT_EQ(t.encode(s).ids, empty.ids) << "'" << s << "'";
  // Leading spaces: one space is the U+2581 the word gets anyway; more spaces collapse into one U+2581 (Replace).
  EXPECT_EQ(t.tokenize(" hello"), t.tokenize("hello"));
  EXPECT_EQ(t.tokenize("  hello"), t.tokenize("hello"));
  // <mask> has lstrip: the spaces before it are part of the added token, the ones after it are not.
  const int32_t mask = 4001;
  EXPECT_EQ(t.id_to_token(mask), "<mask>");
  EXPECT_EQ(t.encode("<mask>").ids, (std::vector<int32_t>{bos, mask, eos}));
  EXPECT_EQ(t.encode("   <mask>").ids, t.encode("<mask>").ids);
  const auto a = t.tokenize("hello");
  auto with_mask = t.tokenize("hello   <mask>");
  ASSERT_EQ(with_mask.size(), a.size() + 1);
  EXPECT_EQ(with_mask.back(), "<mask>");
  // After <mask> the next word is not at the start of the input: prepend_scheme "first" adds no U+2581 there, and
  // the space after <mask> becomes one.
  const auto after = t.tokenize("<mask>b");
  ASSERT_GE(after.size(), 2u);
  EXPECT_NE(after[1].rfind("\u2581", 0), 0u) << after[1];
  const auto spaced = t.tokenize("<mask> b");
  ASSERT_GE(spaced.size(), 2u);
  EXPECT_EQ(spaced[1].rfind("\u2581", 0), 0u) << spaced[1];
  // The pair template <s> A </s></s> B </s>, all type ids 0.
  const Encoding p = t.encode_pair("", "");
  EXPECT_EQ(p.ids, (std::vector<int32_t>{bos, eos, eos, eos}));
  EXPECT_EQ(p.type_ids, (std::vector<int32_t>{0, 0, 0, 0}));
}

TEST(UnigramTokenizer, ViterbiFuseUnkAndByteFallback) {
  json model = {{"type", "Unigram"}, {"unk_id", 0}, {"vocab", small_vocab()}};
  const json meta = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}};
  const Tokenizer t = Tokenizer::from_json(unigram_json(model, nullptr, meta), "t.json");
  // "▁ab": "▁a" + "b" (-3.5) beats "▁" + "ab" (-5.0) and "▁" + "a" + "b" (-7.5).
  EXPECT_EQ(t.tokenize("ab"), (std::vector<std::string>{"\u2581a", "b"}));
  EXPECT_EQ(t.tokenize("a b"), (std::vector<std::string>{"\u2581a", "\u2581", "b"}));
  // Unknown characters: consecutive ones fuse into one unk.
  EXPECT_EQ(t.encode("xyz").ids, (std::vector<int32_t>{5, 0}));
  EXPECT_EQ(t.encode("axyb").ids, (std::vector<int32_t>{1, 0, 3}));
  // byte_fallback: the fused unknown run is spelled in <0xXX> pieces when all of them exist.
  json vocab = small_vocab();
  for (const char* b : {"<0x78>", "<0x79>", "<0xC3>", "<0xA9>"}) vocab.push_back(e(b, -10.0));
  model = {{"type", "Unigram"}, {"unk_id", 0}, {"byte_fallback", true}, {"vocab", vocab}};
  const Tokenizer bf = Tokenizer::from_json(unigram_json(model, nullptr, meta), "t.json");
  EXPECT_EQ(bf.tokenize("axy"), (std::vector<std::string>{"\u2581a", "<0x78>", "<0x79>"}));
  EXPECT_EQ(bf.tokenize("aé"), (std::vector<std::string>{"\u2581a", "<0xC3>", "<0xA9>"}));
  EXPECT_EQ(bf.tokenize("az"), (std::vector<std::string>{"\u2581a", "<unk>"}));  // no <0x7A>: unk
}

TEST(UnigramTokenizer, DuplicatePiecesHugePiecesAndNoUnk) {
  // A duplicated piece maps to its last index (tokenizers' HashMap insert).
  json vocab = small_vocab();
  vocab.push_back(e("ab", -0.5));
  json model = {{"type", "Unigram"}, {"unk_id", 0}, {"vocab", vocab}};
  const Tokenizer dup = Tokenizer::from_json(unigram_json(model), "t.json");
  EXPECT_EQ(dup.encode("ab").ids, (std::vector<int32_t>{6}));
  // A 4 KB piece loads and matches (the Viterbi walks every prefix from every position: a run of n characters
  // matching a long piece costs O(n^2), as in tokenizers).
  vocab = small_vocab();
  vocab.push_back(e(std::string(1 << 12, 'q'), -1.0));
  model = {{"type", "Unigram"}, {"unk_id", 0}, {"vocab", vocab}};
  const Tokenizer huge = Tokenizer::from_json(unigram_json(model), "t.json");
  EXPECT_EQ(huge.encode(std::string(1 << 12, 'q')).ids, (std::vector<int32_t>{6}));
  EXPECT_EQ(huge.encode(std::string((1 << 12) - 1, 'q')).ids, (std::vector<int32_t>{0}));
  // Without unk_id an uncoverable character is an input error, as in tokenizers.
  model = {{"type", "Unigram"}, {"unk_id", nullptr}, {"vocab", small_vocab()}};
  const Tokenizer no_unk = Tokenizer::from_json(unigram_json(model), "t.json");
  EXPECT_EQ(no_unk.encode("ab").ids, (std::vector<int32_t>{4}));
  EXPECT_THROW(no_unk.encode("z"), rerank::InputError);
}

TEST(UnigramTokenizer, Speed) {
  const Tokenizer t = Tokenizer::from_directory(kTok / "xlmr-unigram");
  std::string text;
  while (text.size() < 2000)
    text += "Cross-encoders re-rank candidate documents; Zürich, Москва, 東京 and नमस्ते are multilingual. ";
  const int iters = 300;
  size_t sink = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) sink += t.encode_pair("what do cross-encoders do?", text, 512).ids.size();
  const double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / iters;
  std::printf("xlmr-unigram encode_pair(query, %zu-byte text, 512): %.1f us (%zu tokens)\n", text.size(), us,
              sink / iters);
  EXPECT_GT(sink, 0u);
}

// ---------------------------------------------------------------------------------------------------------------
// Malformed files

TEST(UnigramErrors, ModelSection) {
  auto load = [](const json& model) { Tokenizer::from_json(unigram_json(model), "t.json"); };
  expect_model_error([&] { load({{"type", "Unigram"}}); }, {"t.json", "model.vocab"});
  expect_model_error([&] { load({{"type", "Unigram"}, {"vocab", json::array()}}); }, {"model.vocab", "empty"});
  expect_model_error([&] { load({{"type", "Unigram"}, {"vocab", json::array({json::array({"a"})})}}); }, {"model.vocab[0]", "[piece, score]"});
  expect_model_error([&] { load({{"type", "Unigram"}, {"vocab", json::array({json::array({"a", "x"})})}}); }, {"model.vocab[0]"});
  expect_model_error([&] { load({{"type", "Unigram"}, {"vocab", json::array({e("a", -1.0), e("", -1.0)})}}); },
                     {"model.vocab[1]", "empty"});
  expect_model_error([&] { load({{"type", "Unigram"}, {"vocab", json::array({e("a", -1.0)})}, {"unk_id", 1}}); },
                     {"model.unk_id"});
  expect_model_error([&] { load({{"type", "Unigram"}, {"vocab", json::array({e("a", -1.0)})}, {"unk_id", -1}}); },
                     {"model.unk_id"});
  // Non-finite scores cannot come from JSON literals; an overflowing number is refused if the parser yields inf.
  try {
    Tokenizer::from_json(R"({"model": {"type": "Unigram", "vocab": [["a", -1e999]]}})", "t.json");
    ADD_FAILURE() << "an infinite score loaded";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("t.json"), std::string::npos) << e.what();
  }
  // Invalid UTF-8 in a piece: refused (by the JSON parser already).
  expect_model_error(
      [] {
        Tokenizer::from_json(std::string(R"({"model": {"type": "Unigram", "vocab": [[")") + "\xff" + R"(", -1.0]]}})",
                             "t.json");
      },
      {"t.json"});
  expect_model_error([&] { load({{"type", "Sentencepiece"}, {"vocab", json::array({e("a", -1.0)})}}); },
                     {"model.type", "Sentencepiece", "WordPiece", "Unigram"});
}

TEST(UnigramErrors, PrecompiledCharsmap) {
  const json model = {{"type", "Unigram"}, {"unk_id", 0}, {"vocab", small_vocab()}};
  auto load = [&](const json& norm) { Tokenizer::from_json(unigram_json(model, norm), "t.json"); };
  auto pc = [](const std::string& b64) { return json{{"type", "Precompiled"}, {"precompiled_charsmap", b64}}; };
  const std::string field = "normalizer.precompiled_charsmap";
  expect_model_error([&] { load({{"type", "Precompiled"}}); }, {"t.json", field, "missing"});
  expect_model_error([&] { load(pc("not base64!")); }, {field, "base64"});
  expect_model_error([&] { load(pc("AAA=")); }, {field, "too short"});
  // trie_size 0x100 bytes but nothing follows.
  expect_model_error([&] { load(pc("AAEAAA==")); }, {field, "does not fit"});
  // The real charsmap with its trie cut short: trie_size still claims the full trie.
  const std::string real = xlmr_json()["normalizer"]["normalizers"][0]["precompiled_charsmap"];
  expect_model_error([&] { load(pc(real.substr(0, 4000))); }, {field});
  // A one-unit trie whose root offset points past the array.
  expect_model_error([&] { load(pc("BAAAAAAEAAA=")); }, {field, "truncated"});
  // In a Sequence, the path names the position.
  expect_model_error([&] { load({{"type", "Sequence"}, {"normalizers", {{{"type", "NFKC"}}, pc("@@@@")}}}); },
                     {"normalizer.normalizers[1].precompiled_charsmap", "base64"});
}

TEST(UnigramErrors, PrecompiledOffsetPastTable) {
  // A hand-built double array: root at 0 (offset 1 -> children at 1 ^ byte); the child for 'a' (0x61) at 0x60
  // has a leaf whose value unit (0x60 ^ its offset 0) points at table offset 100 of a 2-byte table.
  std::vector<uint32_t> units(256, 0);
  units[0] = 1u << 10;                      // offset 1
  units[1 ^ 0x61] = 0x61u | (1u << 8);      // label 'a', has_leaf, offset 0
  // The value is read from the unit at the child's position after applying its offset (0): the label unit
  // itself, whose value bits are 0x161: past the 2-byte table.
  std::string blob;
  const uint32_t size = static_cast<uint32_t>(units.size() * 4);
  for (int k = 0; k < 4; ++k) blob.push_back(static_cast<char>((size >> (8 * k)) & 0xFF));
  for (uint32_t u : units)
    for (int k = 0; k < 4; ++k) blob.push_back(static_cast<char>((u >> (8 * k)) & 0xFF));
  blob += std::string("x\0", 2);
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (size_t i = 0; i < blob.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(blob[i]) << 16;
    if (i + 1 < blob.size()) v |= static_cast<uint8_t>(blob[i + 1]) << 8;
    if (i + 2 < blob.size()) v |= static_cast<uint8_t>(blob[i + 2]);
    b64 += kAlphabet[(v >> 18) & 63];
    b64 += kAlphabet[(v >> 12) & 63];
    b64 += i + 1 < blob.size() ? kAlphabet[(v >> 6) & 63] : '=';
    b64 += i + 2 < blob.size() ? kAlphabet[v & 63] : '=';
  }
  const json model = {{"type", "Unigram"}, {"unk_id", 0}, {"vocab", small_vocab()}};
  expect_model_error(
      [&] {
        Tokenizer::from_json(unigram_json(model, {{"type", "Precompiled"}, {"precompiled_charsmap", b64}}), "t.json");
      },
      {"normalizer.precompiled_charsmap", "past the replacement table"});
}

TEST(UnigramErrors, NormalizersAndPreTokenizers) {
  const json model = {{"type", "Unigram"}, {"unk_id", 0}, {"vocab", small_vocab()}};
  auto norm = [&](const json& n) { Tokenizer::from_json(unigram_json(model, n), "t.json"); };
  auto pre = [&](const json& p) { Tokenizer::from_json(unigram_json(model, nullptr, p), "t.json"); };
  expect_model_error([&] { norm({{"type", "Nmt"}}); }, {"normalizer.type", "Nmt", "Precompiled", "Replace"});
  expect_model_error([&] { norm({{"type", "Sequence"}, {"normalizers", {{{"type", "NFKC"}}, {{"type", "X"}}}}}); },
                     {"normalizer.normalizers[1].type", "'X'"});
  expect_model_error([&] { norm({{"type", "Replace"}, {"pattern", {{"Regex", "(["}}}, {"content", ""}}); },
                     {"normalizer.pattern.Regex", "invalid regular expression"});
  expect_model_error([&] { norm({{"type", "Replace"}, {"pattern", "x"}, {"content", ""}}); }, {"normalizer.pattern"});
  expect_model_error([&] { norm({{"type", "Replace"}, {"pattern", {{"String", "x"}}}}); }, {"normalizer.content"});
  expect_model_error([&] { norm({{"type", "Prepend"}}); }, {"normalizer.prepend"});
  expect_model_error([&] { norm({{"type", "Strip"}, {"strip_left", "yes"}}); }, {"normalizer.strip_left"});
  expect_model_error([&] { pre({{"type", "UnicodeScripts"}}); },
                     {"pre_tokenizer.type", "UnicodeScripts", "Metaspace", "WhitespaceSplit"});
  expect_model_error([&] { pre({{"type", "Metaspace"}}); }, {"pre_tokenizer.replacement"});
  expect_model_error([&] { pre({{"type", "Metaspace"}, {"replacement", "ab"}}); },
                     {"pre_tokenizer.replacement", "one character"});
  expect_model_error([&] { pre({{"type", "Metaspace"}, {"replacement", "_"}, {"prepend_scheme", "sometimes"}}); },
                     {"pre_tokenizer.prepend_scheme", "sometimes", "first"});
  expect_model_error([&] { pre({{"type", "Metaspace"}, {"replacement", "_"}, {"add_prefix_space", false}}); },
                     {"pre_tokenizer.add_prefix_space"});
  expect_model_error(
      [&] {
        pre({{"type", "Sequence"},
             {"pretokenizers", {{{"type", "WhitespaceSplit"}}, {{"type", "Metaspace"}, {"replacement", 5}}}}});
      },
      {"pre_tokenizer.pretokenizers[1].replacement"});
}

// test_tokenizer.cpp — rerank::Tokenizer against Hugging Face tokenizers' output.
//
// Golden data: tests/data/encoders/golden.jsonl (encoder fixtures) and tests/data/tokenizers/extra_golden.jsonl
// (written by scripts/reference/tokenizer_golden.py with the PyPI `tokenizers` package).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "rerank/error.hpp"
#include "rerank/tokenizer.hpp"
#include "tokenizer/template.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using rerank::Encoding;
using rerank::ModelError;
using rerank::Tokenizer;

namespace {

const fs::path kData = RERANK_TEST_DATA;

std::vector<json> read_jsonl(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::vector<int32_t> ints(const json& j) { return j.get<std::vector<int32_t>>(); }

std::string ids_str(const std::vector<int32_t>& v) {
  std::ostringstream ss;
  for (size_t i = 0; i < v.size(); ++i) ss << (i ? " " : "") << v[i];
  return ss.str();
}

// A scratch directory removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("rerank_tok_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
};

// A directory with only vocab.txt (written from the tokenizer's vocabulary) and the model's tokenizer_config.json,
// so that from_directory takes the fallback path.
void make_fallback_dir(const fs::path& model_dir, const TempDir& dir) {
  Tokenizer full = Tokenizer::from_directory(model_dir);
  std::string vocab;
  for (size_t id = 0; id < full.vocab_size(); ++id) vocab += full.id_to_token(static_cast<int32_t>(id)) + "\n";
  dir.write("vocab.txt", vocab);
  if (fs::exists(model_dir / "tokenizer_config.json"))
    fs::copy_file(model_dir / "tokenizer_config.json", dir.path / "tokenizer_config.json");
}

int check_case(const Tokenizer& tok, const json& c, const char* a_key, const char* b_key, const std::string& what) {
  const size_t max_length = c["max_length"].get<size_t>();
  const std::string a = c[a_key].get<std::string>();
  Encoding e = (b_key && c.contains(b_key)) ? tok.encode_pair(a, c[b_key].get<std::string>(), max_length)
                                           : tok.encode(a, max_length);
  const auto want_ids = ints(c["input_ids"]);
  const auto want_types = ints(c["token_type_ids"]);
  EXPECT_EQ(e.ids.size(), e.type_ids.size());
  EXPECT_EQ(e.ids.size(), e.tokens.size());
  if (e.ids == want_ids && e.type_ids == want_types) return 1;
  ADD_FAILURE() << what << " mismatch for " << c.dump() << "\n  got ids:   " << ids_str(e.ids)
                << "\n  got types: " << ids_str(e.type_ids);
  return 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Golden data

TEST(TokenizerGolden, EncoderFixtures) {
  const auto cases = read_jsonl(kData / "encoders" / "golden.jsonl");
  ASSERT_EQ(cases.size(), 188u);
  std::map<std::string, std::unique_ptr<Tokenizer>> toks;
  int ok = 0;
  for (const json& c : cases) {
    const std::string model = c["model"];
    auto& t = toks[model];
    if (!t) t = std::make_unique<Tokenizer>(Tokenizer::from_directory(kData / "encoders" / "models" / model));
    ok += check_case(*t, c, c.contains("query") ? "query" : "text", "document", model);
  }
  EXPECT_EQ(ok, 188);
  std::printf("encoder golden: %d / %zu matched\n", ok, cases.size());
}

TEST(TokenizerGolden, ExtraGoldenTokenizerJson) {
  const auto cases = read_jsonl(kData / "tokenizers" / "extra_golden.jsonl");
  ASSERT_GT(cases.size(), 900u);
  std::map<std::string, std::unique_ptr<Tokenizer>> toks;
  int ok = 0;
  for (const json& c : cases) {
    const std::string name = c["tokenizer"];
    auto& t = toks[name];
    if (!t) t = std::make_unique<Tokenizer>(Tokenizer::from_directory(kData / "tokenizers" / name));
    ok += check_case(*t, c, "text", "text_pair", name);
  }
  EXPECT_EQ(ok, static_cast<int>(cases.size()));
  std::printf("extra golden (tokenizer.json): %d / %zu matched\n", ok, cases.size());
}

TEST(TokenizerGolden, ExtraGoldenVocabTxtFallback) {
  const auto cases = read_jsonl(kData / "tokenizers" / "extra_golden.jsonl");
  std::map<std::string, std::unique_ptr<Tokenizer>> toks;
  std::vector<std::unique_ptr<TempDir>> dirs;
  int ok = 0;
  for (const json& c : cases) {
    const std::string name = c["tokenizer"];
    auto& t = toks[name];
    if (!t) {
      dirs.push_back(std::make_unique<TempDir>());
      make_fallback_dir(kData / "tokenizers" / name, *dirs.back());
      t = std::make_unique<Tokenizer>(Tokenizer::from_directory(dirs.back()->path));
    }
    ok += check_case(*t, c, "text", "text_pair", name + " (vocab.txt)");
  }
  EXPECT_EQ(ok, static_cast<int>(cases.size()));
  std::printf("extra golden (vocab.txt fallback): %d / %zu matched\n", ok, cases.size());
}

TEST(TokenizerGolden, ModelVocabTxtMatchesTokenizerJson) {
  // ce-tiny ships both files: its real vocab.txt must give the same encodings as its tokenizer.json.
  TempDir dir;
  const fs::path model = kData / "encoders" / "models" / "ce-tiny";
  fs::copy_file(model / "vocab.txt", dir.path / "vocab.txt");
  fs::copy_file(model / "tokenizer_config.json", dir.path / "tokenizer_config.json");
  fs::copy_file(model / "special_tokens_map.json", dir.path / "special_tokens_map.json");
  Tokenizer a = Tokenizer::from_directory(model);
  Tokenizer b = Tokenizer::from_directory(dir.path);
  EXPECT_EQ(a.vocab_size(), b.vocab_size());
  EXPECT_EQ(a.pad_id(), b.pad_id());
  for (const char* t : {"Hello, World! Café [SEP] 北京 🍕", "", "x[MASK]y", "ÅSTRÖM"}) {
    EXPECT_EQ(a.encode_pair(t, t, 0).ids, b.encode_pair(t, t, 0).ids) << t;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Behaviour

class TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tok_ = std::make_unique<Tokenizer>(Tokenizer::from_directory(kData / "tokenizers" / "ms-marco-MiniLM-L-6-v2"));
  }
  static void TearDownTestSuite() { tok_.reset(); }
  static std::unique_ptr<Tokenizer> tok_;
};
std::unique_ptr<Tokenizer> TokenizerTest::tok_;

TEST_F(TokenizerTest, Basics) {
  const Tokenizer& t = *tok_;
  EXPECT_EQ(t.vocab_size(), 30522u);
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.num_special_tokens(false), 2u);
  EXPECT_EQ(t.num_special_tokens(true), 3u);
  EXPECT_EQ(t.id_to_token(101), "[CLS]");
  EXPECT_EQ(t.id_to_token(-1), "");
  EXPECT_EQ(t.id_to_token(1 << 30), "");
  EXPECT_EQ(t.tokenize("Unaffable running!"), (std::vector<std::string>{"una", "##ffa", "##ble", "running", "!"}));
  Encoding e = t.encode_pair("hello", "world");
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"[CLS]", "hello", "[SEP]", "world", "[SEP]"}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 1, 1}));
}

TEST_F(TokenizerTest, InvalidUtf8BecomesReplacementAndIsDropped) {
  const Tokenizer& t = *tok_;
  EXPECT_EQ(t.tokenize("ab\xff" "cd"), t.tokenize("abcd"));
  EXPECT_EQ(t.tokenize("a\xc3"), t.tokenize("a"));                 // truncated sequence at the end
  EXPECT_EQ(t.tokenize("a\xe2\x82 b"), t.tokenize("a b"));         // truncated 3-byte sequence
  EXPECT_EQ(t.tokenize("\xed\xa0\x80x"), t.tokenize("x"));         // encoded surrogate
  EXPECT_EQ(t.tokenize("\xc0\xaf\xf8\x88\x80\x80\x80"), std::vector<std::string>{});  // overlong / 5-byte
  EXPECT_EQ(t.tokenize("\xf4\x90\x80\x80"), std::vector<std::string>{});              // > U+10FFFF
  EXPECT_EQ(t.tokenize(std::string("a\0b", 3)), t.tokenize("ab"));
}

TEST_F(TokenizerTest, NeverCrashes) {
  const Tokenizer& t = *tok_;
  std::vector<std::string> inputs = {"", " ", std::string(100000, 'a'), std::string(100000, '!'),
                                     std::string(50000, ' '), "\xcc\x81\xcc\x81\xcc\x81", "🍕🍕🍕"};
  std::string many_words;
  for (int i = 0; i < 20000; ++i) many_words += "word ";
  inputs.push_back(many_words);
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  inputs.push_back(all_bytes);
  std::string combining = "a";
  for (int i = 0; i < 5000; ++i) combining += "\xcc\x81";
  inputs.push_back(combining);
  for (const auto& s : inputs) {
    for (size_t ml : {0u, 1u, 2u, 3u, 5u, 512u}) {
      Encoding e = t.encode(s, ml);
      EXPECT_EQ(e.ids.size(), e.type_ids.size());
      if (ml >= 2) {
        EXPECT_LE(e.ids.size(), ml);
      }
      Encoding p = t.encode_pair(s, s, ml);
      if (ml >= 3) {
        EXPECT_LE(p.ids.size(), ml);
      }
    }
  }
  EXPECT_EQ(t.tokenize(std::string(101, 'a')), std::vector<std::string>{"[UNK]"});
  EXPECT_EQ(t.encode("").ids, (std::vector<int32_t>{101, 102}));
}

TEST_F(TokenizerTest, MaxLengthBelowSpecialTokensKeepsOnlySpecials) {
  const Tokenizer& t = *tok_;
  EXPECT_EQ(t.encode("hello world", 1).ids, (std::vector<int32_t>{101, 102}));
  EXPECT_EQ(t.encode_pair("hello world", "foo bar", 2).ids, (std::vector<int32_t>{101, 102, 102}));
  EXPECT_EQ(t.encode_pair("hello world", "foo bar", 3).ids, (std::vector<int32_t>{101, 102, 102}));
  EXPECT_EQ(t.encode_pair("hello world", "foo bar", 3).type_ids, (std::vector<int32_t>{0, 0, 1}));
}

TEST_F(TokenizerTest, LongestFirstRule) {
  const Tokenizer& t = *tok_;
  // "a b c d e" = 5 tokens, "f g h" = 3 tokens; budget = max_length - 3.
  auto lens = [&](const char* a, const char* b, size_t ml) {
    Encoding e = t.encode_pair(a, b, ml);
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < e.ids.size(); ++i)
      if (e.ids[i] != 101 && e.ids[i] != 102) (e.type_ids[i] == 0 ? na : nb)++;
    return std::pair<size_t, size_t>(na, nb);
  };
  EXPECT_EQ(lens("a b c d e", "f g h", 11), std::make_pair(5ul, 3ul));  // fits
  EXPECT_EQ(lens("a b c d e", "f g h", 10), std::make_pair(4ul, 3ul));  // shorter kept whole
  EXPECT_EQ(lens("a b c d e", "f g h", 8), std::make_pair(3ul, 2ul));   // budget 5: halves, odd one to longer
  EXPECT_EQ(lens("a b c d e", "f g h", 7), std::make_pair(2ul, 2ul));   // budget 4: halves
  EXPECT_EQ(lens("a b c d e", "f g h", 6), std::make_pair(2ul, 1ul));   // budget 3: odd token to the longer
  EXPECT_EQ(lens("f g h", "a b c d e", 6), std::make_pair(1ul, 2ul));
  EXPECT_EQ(lens("a b c", "d e f", 6), std::make_pair(1ul, 2ul));       // tie: odd token to B
}

TEST_F(TokenizerTest, EarlyStopMatchesFullTruncation) {
  // encode/encode_pair stop tokenizing once the result is decided; compare with truncating full encodings.
  const Tokenizer& t = *tok_;
  std::vector<std::string> texts = {"", "one", "two words", "a b c d e f g h i j k l m n o p q r s t u v w x y z"};
  std::string longer;
  for (int i = 0; i < 40; ++i) longer += "tokenization of longer words w" + std::to_string(i) + ", ";
  texts.push_back(longer);
  texts.push_back(longer.substr(0, longer.size() / 2));
  for (const auto& a : texts) {
    for (const auto& b : texts) {
      for (size_t ml = 3; ml < 140; ml += 1) {
        auto ia = t.encode(a, 0).ids, ib = t.encode(b, 0).ids;
        std::vector<int32_t> ca(ia.begin() + 1, ia.end() - 1), cb(ib.begin() + 1, ib.end() - 1);
        rerank::tok::truncate_longest_first(ca, &cb, ml - 3);
        std::vector<int32_t> want = {101};
        want.insert(want.end(), ca.begin(), ca.end());
        want.push_back(102);
        want.insert(want.end(), cb.begin(), cb.end());
        want.push_back(102);
        ASSERT_EQ(t.encode_pair(a, b, ml).ids, want) << a << " | " << b << " | " << ml;
        std::vector<int32_t> single(ia.begin(), ia.end());
        if (single.size() > ml) {
          single.resize(ml - 1);
          single.push_back(102);
        }
        ASSERT_EQ(t.encode(a, ml).ids, single) << a << " | " << ml;
      }
    }
  }
}

TEST_F(TokenizerTest, ConcurrentUse) {
  const Tokenizer& t = *tok_;
  const std::string doc = "The quick brown fox jumps over the lazy dog. Café naïve 北京 🍕 [SEP] end.";
  const Encoding want = t.encode_pair("query text", doc, 24);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      for (int k = 0; k < 500; ++k)
        if (t.encode_pair("query text", doc, 24).ids != want.ids) ++bad;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(TokenizerJson, ComponentsAndOptions) {
  // A hand-written tokenizer.json exercising BertProcessing, Sequence pre-tokenizer, StripAccents/NFD,
  // normalized and lstrip/rstrip/single_word added tokens.
  const std::string j = R"({
    "added_tokens": [
      {"id": 7, "content": "<x>", "single_word": false, "lstrip": true, "rstrip": true, "normalized": false, "special": true},
      {"id": 8, "content": "foo", "single_word": true, "lstrip": false, "rstrip": false, "normalized": true, "special": false}
    ],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Isolated"}]},
    "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 6,
              "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4, "##b": 5, "!": 6, "e": 9, "foobar": 10}}
  })";
  Tokenizer t = Tokenizer::from_json(j, "inline.json");
  EXPECT_EQ(t.vocab_size(), 11u);
  EXPECT_EQ(t.tokenize("AB É!"), (std::vector<std::string>{"a", "##b", "e", "!"}));
  EXPECT_EQ(t.tokenize("a <x> a"), (std::vector<std::string>{"a", "<x>", "a"}));
  EXPECT_EQ(t.tokenize("FOO foobar"), (std::vector<std::string>{"foo", "foobar"}));
  EXPECT_EQ(t.tokenize("abbbbbb"), (std::vector<std::string>{"[UNK]"}));  // 7 chars > 6
  EXPECT_EQ(t.tokenize("abbbbb"), (std::vector<std::string>{"a", "##b", "##b", "##b", "##b", "##b"}));
  EXPECT_EQ(t.tokenize("ac"), (std::vector<std::string>{"[UNK]"}));
  Encoding e = t.encode_pair("a", "e", 0);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 4, 3, 9, 3}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 1, 1}));
}

TEST(TokenizerJson, NoPostProcessor) {
  const std::string j = R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1}},
                            "normalizer": null, "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": null})";
  Tokenizer t = Tokenizer::from_json(j);
  EXPECT_EQ(t.num_special_tokens(true), 0u);
  Encoding e = t.encode_pair("a a", "a");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{1, 1, 1}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 1}));
}

// ---------------------------------------------------------------------------------------------------------------
// Malformed files

namespace {
void expect_model_error(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "expected ModelError";
  } catch (const ModelError& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(TokenizerErrors, MissingDirectoryOrFiles) {
  expect_model_error([] { Tokenizer::from_directory("/nonexistent/rerank/dir"); }, {"/nonexistent/rerank/dir"});
  TempDir dir;
  expect_model_error([&] { Tokenizer::from_directory(dir.path); }, {dir.path.string(), "tokenizer.json"});
}

TEST(TokenizerErrors, BrokenJson) {
  TempDir dir;
  dir.write("tokenizer.json", "{\"model\": {");
  expect_model_error([&] { Tokenizer::from_directory(dir.path); }, {(dir.path / "tokenizer.json").string(), "JSON"});
  expect_model_error([] { Tokenizer::from_json("[1, 2]", "x/tokenizer.json"); }, {"x/tokenizer.json"});
}

TEST(TokenizerErrors, UnknownModelType) {
  expect_model_error([] { Tokenizer::from_json(R"({"model": {"type": "WordLevel", "vocab": {}}})", "t.json"); },
                     {"t.json", "model.type", "WordLevel", "BPE"});
  expect_model_error(
      [] {
        Tokenizer::from_json(R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}},
                                 "normalizer": {"type": "Nmt"}})",
                             "t.json");
      },
      {"t.json", "normalizer.type", "Nmt", "supported"});
}

TEST(TokenizerErrors, MissingVocab) {
  expect_model_error([] { Tokenizer::from_json(R"({"model": {"type": "WordPiece"}})", "t.json"); },
                     {"t.json", "model.vocab"});
  expect_model_error([] { Tokenizer::from_json(R"({"normalizer": null})", "t.json"); }, {"t.json", "model"});
  expect_model_error([] { Tokenizer::from_json(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})", "t.json"); },
                     {"t.json", "unk_token", "[UNK]"});
  expect_model_error(
      [] { Tokenizer::from_json(R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": "zero"}}})", "t.json"); },
      {"t.json", "model.vocab"});
}

TEST(TokenizerErrors, VocabTxtFallbackProblems) {
  TempDir dir;
  dir.write("vocab.txt", "a\nb\n");  // no [UNK]
  expect_model_error([&] { Tokenizer::from_directory(dir.path); }, {"vocab.txt", "[UNK]"});
  dir.write("vocab.txt", "[UNK]\n[CLS]\n[SEP]\nhello\n");
  dir.write("tokenizer_config.json", "{broken");
  expect_model_error([&] { Tokenizer::from_directory(dir.path); }, {"tokenizer_config.json"});
  dir.write("tokenizer_config.json", R"({"do_lower_case": false, "pad_token": "[UNK]"})");
  Tokenizer t = Tokenizer::from_directory(dir.path);
  EXPECT_EQ(t.encode("hello Hello").ids, (std::vector<int32_t>{1, 3, 0, 2}));
  dir.write("vocab.txt", "[UNK]\r\n[SEP]\r\nhello\r\n");
  expect_model_error([&] { Tokenizer::from_directory(dir.path); }, {"cls_token", "[CLS]"});
}

// ---------------------------------------------------------------------------------------------------------------
// Speed (reported, not asserted: timing depends on the machine and the build type)

TEST_F(TokenizerTest, Speed) {
  const std::string abstract_words =
      "Background: Cross-encoders re-rank candidate documents retrieved by a first-stage model. "
      "We study the effect of sequence length (n=512) on latency and accuracy, measuring p95 latency in ms. "
      "Results show that MiniLM-based rerankers achieve 98.7% of the quality of BERT-base at 1/10 the cost; ";
  std::string text;
  while (std::count(text.begin(), text.end(), ' ') < 300) text += abstract_words;
  const Tokenizer& t = *tok_;
  const int iters = 2000;
  size_t sink = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) sink += t.encode_pair("what is the latency of cross-encoders?", text, 512).ids.size();
  auto t1 = std::chrono::steady_clock::now();
  const double us = std::chrono::duration<double, std::micro>(t1 - t0).count() / iters;
  std::printf("encode_pair(query, %zu-byte ~300-word abstract, 512): %.1f us (%zu tokens)\n", text.size(), us,
              sink / iters);
  EXPECT_GT(sink, 0u);
  sink = 0;
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) sink += t.encode(text, 0).ids.size();
  t1 = std::chrono::steady_clock::now();
  const double us_full = std::chrono::duration<double, std::micro>(t1 - t0).count() / iters;
  std::printf("encode(same abstract, no truncation): %.1f us (%zu tokens)\n", us_full, sink / iters);
}

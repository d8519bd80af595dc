// Malformed model directories and inputs: a clear message naming the file or line and an exit code in 1..125,
// never a crash, signal or hang.
#include <gtest/gtest.h>

#include <fstream>

#include "rerank/rerank.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using rerank::test::data;
using rerank::test::run_cli;

namespace {

// A scratch copy of a fixture model that a test may damage.
struct ModelCopy {
  fs::path dir;
  explicit ModelCopy(const std::string& name = "ce-tiny") {
    static int n = 0;
    dir = fs::temp_directory_path() / ("rerank-bad-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(dir);
    fs::copy(data("encoders/models/" + name), dir, fs::copy_options::recursive);
  }
  ~ModelCopy() { fs::remove_all(dir); }
  void write(const std::string& file, const std::string& bytes) const {
    std::ofstream(dir / file, std::ios::binary | std::ios::trunc) << bytes;
  }
  std::string read(const std::string& file) const {
    std::ifstream in(dir / file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

const char* kPair = "{\"query\": \"q\", \"document\": \"d\"}\n";

// Loading fails with a ModelError mentioning `needle`, and the CLI exits 1 with it on stderr.
void expect_model_error(const ModelCopy& m, const std::string& needle) {
  try {
    rerank::Model::load(m.dir);
    ADD_FAILURE() << "loading succeeded; expected an error mentioning " << needle;
  } catch (const rerank::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
  auto r = run_cli("predict --model " + m.dir.string(), kPair);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

}  // namespace

TEST(Malformed, TruncatedSafetensors) {
  ModelCopy m;
  std::string w = m.read("model.safetensors");
  m.write("model.safetensors", w.substr(0, w.size() / 2));
  expect_model_error(m, "model.safetensors");
}

TEST(Malformed, GarbageSafetensors) {
  ModelCopy m;
  std::string junk(4096, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 2654435761u) >> 13);
  m.write("model.safetensors", junk);
  expect_model_error(m, "model.safetensors");
}

TEST(Malformed, HeaderLengthBeyondFile) {
  ModelCopy m;
  const char bytes[] = "\x00\x10\x00\x00\x00\x00\x00\x00{}";  // claims 4096 header bytes, has 2
  m.write("model.safetensors", std::string(bytes, 10));
  expect_model_error(m, "runs past the end of the file");
}

TEST(Malformed, TinyFile) {
  ModelCopy m;
  m.write("model.safetensors", "abc");
  expect_model_error(m, "not a safetensors file");
}

TEST(Malformed, HeaderNotJson) {
  ModelCopy m;
  std::string h = "{not json}";
  std::string len(8, '\0');
  len[0] = static_cast<char>(h.size());
  m.write("model.safetensors", len + h);
  expect_model_error(m, "not valid JSON");
}

TEST(Malformed, OffsetsOutsideBuffer) {
  ModelCopy m;
  std::string h = R"({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})";
  std::string len(8, '\0');
  len[0] = static_cast<char>(h.size());
  m.write("model.safetensors", len + h + std::string(8, '\0'));
  expect_model_error(m, "outside the data buffer");
}

TEST(Malformed, ShapeDisagreesWithConfig) {
  ModelCopy m;
  std::string c = m.read("config.json");
  auto pos = c.find("\"intermediate_size\": 64");
  ASSERT_NE(pos, std::string::npos);
  c.replace(pos, 23, "\"intermediate_size\": 48");
  m.write("config.json", c);
  expect_model_error(m, "config.json implies");
}

TEST(Malformed, BrokenConfigJson) {
  ModelCopy m;
  m.write("config.json", "{\"hidden_size\": 32,");
  expect_model_error(m, "config.json: invalid JSON");
}

TEST(Malformed, ConfigMissingField) {
  ModelCopy m;
  m.write("config.json", R"({"model_type": "bert", "hidden_size": 32})");
  expect_model_error(m, "num_hidden_layers");
}

TEST(Malformed, MissingTokenizerFiles) {
  ModelCopy m;
  fs::remove(m.dir / "tokenizer.json");
  fs::remove(m.dir / "vocab.txt");
  expect_model_error(m, "tokenizer");
}

TEST(Malformed, MissingWeights) {
  ModelCopy m;
  fs::remove(m.dir / "model.safetensors");
  expect_model_error(m, "no model.safetensors");
}

TEST(Malformed, MissingModelDirectory) {
  auto r = run_cli("predict --model /nonexistent/model/dir", kPair);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/nonexistent/model/dir"), std::string::npos) << r.err;
}

TEST(Malformed, BiEncoderAsCrossEncoder) {
  auto r = run_cli("predict --model " + data("encoders/models/bi-tiny-mean").string(), kPair);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("classification head"), std::string::npos) << r.err;
}

TEST(MalformedInput, InvalidJsonLine) {
  auto r = run_cli("predict --model " + data("encoders/models/ce-tiny").string(), std::string(kPair) + "{oops\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("stdin line 2: invalid JSON"), std::string::npos) << r.err;
}

TEST(MalformedInput, MissingFields) {
  const std::string model = data("encoders/models/ce-tiny").string();
  auto r = run_cli("predict --model " + model, "{\"query\": \"q\"}\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("line 1: missing field \"document\""), std::string::npos) << r.err;
  r = run_cli("predict --model " + model, "{\"document\": \"d\"}\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("missing field \"query\""), std::string::npos) << r.err;
  r = run_cli("predict --model " + model, "{\"query\": 3, \"document\": \"d\"}\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("must be a string"), std::string::npos) << r.err;
  r = run_cli("predict --model " + model, "[1, 2]\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("expected a JSON object"), std::string::npos) << r.err;
}

// JSON input must be valid UTF-8: an invalid byte is rejected with the line number (documented in the README).
TEST(MalformedInput, InvalidUtf8InJsonIsRejected) {
  auto r = run_cli("predict --model " + data("encoders/models/ce-tiny").string(),
                   std::string("{\"query\": \"caf\xC3\", \"document\": \"d\"}\n"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("line 1"), std::string::npos) << r.err;
}

// Plain-text documents (rank) with invalid UTF-8 are scored with the bad bytes replaced by U+FFFD.
TEST(MalformedInput, InvalidUtf8InPlainTextIsReplaced) {
  auto r = run_cli("rank --json --model " + data("encoders/models/ce-tiny").string() + " --query q -",
                   std::string("good text\nbad \xFF\xFE text\n"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"corpus_id\":1"), std::string::npos) << r.out;
}

TEST(MalformedInput, MaxLengthBeyondPositions) {
  auto r = run_cli("predict --max-length 100000 --model " + data("encoders/models/ce-tiny").string(), kPair);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("max_position_embeddings"), std::string::npos) << r.err;
}

TEST(MalformedInput, UnknownFlagIsAUsageError) {
  auto r = run_cli("predict --bogus", "");
  EXPECT_GE(r.status, 1);
  EXPECT_LE(r.status, 125);
}

// CLI11 2.1 parses "-1" for an unsigned option by wrapping it to 2^64 - 1 (`--top-k -1` printed everything,
// `--max-length -1` reported max_length 18446744073709551615): every unsigned option refuses a negative value.
TEST(MalformedInput, NegativeCountsAreUsageErrors) {
  const std::string model = data("encoders/models/ce-tiny").string();
  const std::string docs = "first document\nsecond document\nthird document\n";
  for (const std::string& args : {"rank --model " + model + " --query q --top-k -1 -", "rank --model " + model + " --query q --top-k ' -2' -",
                                  "predict --max-length -1 --model " + model, "tokenize --max-length -5 --model " + model}) {
    auto r = run_cli(args, args.rfind("rank", 0) == 0 ? docs : std::string(kPair));
    EXPECT_GE(r.status, 100) << args;
    EXPECT_LE(r.status, 125) << args;
    EXPECT_NE(r.err.find("is negative"), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(r.out, "") << args;
  }
  auto ok = run_cli("rank --model " + model + " --query q --top-k 2 -", docs);
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_NE(ok.out.find("  2. "), std::string::npos) << ok.out;
  EXPECT_EQ(ok.out.find("  3. "), std::string::npos) << ok.out;
}

// Hostile inputs (issue 16): JSON nested 100,000 deep everywhere JSON is read, safetensors headers that lie
// (gigabytes, offsets past the end, overlapping tensors, sizes that overflow), tokenizer.json with a huge or
// cyclic merges list, a 2 GB single-line corpus and a gzip bomb (memory stays bounded), symlinks in a model
// directory (read through, never written through). Each gives a typed error naming the file, never a crash.
// The HTTP ones (1 MB of headers, a client that never finishes its body) are in test_server_hostile.cpp.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "clients/http_client.hpp"
#include "model/config.hpp"
#include "model/safetensors.hpp"
#include "rerank/rerank.hpp"
#include "server/errors.hpp"
#include "test_util.hpp"
#include "util/files.hpp"

namespace fs = std::filesystem;
using rerank::test::data;
using rerank::test::error_of;

namespace {

struct Scratch {
  fs::path dir;
  explicit Scratch(const std::string& name) : dir(rerank::test::temp_path("rerank-hostile", name)) { fs::create_directories(dir); }
  ~Scratch() { fs::remove_all(dir); }
  fs::path write(const std::string& file, const std::string& bytes) const {
    fs::create_directories((dir / file).parent_path());
    std::ofstream(dir / file, std::ios::binary | std::ios::trunc) << bytes;
    return dir / file;
  }
};

std::string deep_array(size_t n) { return std::string(n, '[') + std::string(n, ']'); }
std::string deep_object(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += "{\"a\":";
  s += "1";
  return s + std::string(n, '}');
}

long peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

}  // namespace

// ---- JSON nested 100,000 deep ------------------------------------------------------------------------------

TEST(HostileJson, DepthIsCheckedBeforeParsing) {
  EXPECT_EQ(rerank::util::json_too_deep(deep_array(128)), std::string_view::npos);
  EXPECT_EQ(rerank::util::json_too_deep(deep_array(129)), 128u);
  EXPECT_EQ(rerank::util::json_too_deep("[\"[[[[\\\"[[[[\", {\"k\": \"{{{{\"}]", 2), std::string_view::npos);  // strings
  EXPECT_NO_THROW(rerank::util::parse_json(deep_array(128)));
  for (const std::string& deep : {deep_array(100000), deep_object(100000)}) {
    try {
      rerank::util::parse_json(deep);
      ADD_FAILURE() << "parsed";
    } catch (const nlohmann::json::parse_error& e) {
      EXPECT_NE(std::string(e.what()).find("nested deeper than 128 levels"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(rerank::util::parse_json_or_discard(deep).is_discarded());
  }
}

TEST(HostileJson, EveryReaderRejectsDeepNesting) {
  Scratch s("deep");
  const std::string deep = deep_object(100000);
  // a corpus line whose metadata is 100,000 objects deep (metadata is dumped back to text: recursion per level)
  auto corpus = s.write("corpus.jsonl", "{\"_id\": \"1\", \"text\": \"t\", \"metadata\": " + deep + "}\n");
  std::string m = error_of<rerank::InputError>([&] {
    rerank::read_documents(corpus, rerank::DocumentFormat::Auto, 10, [](auto&, const auto&) {});
  });
  EXPECT_NE(m.find("corpus.jsonl line 1"), std::string::npos) << m;
  EXPECT_NE(m.find("nested deeper"), std::string::npos) << m;
  auto queries = s.write("queries.jsonl", "{\"_id\": \"1\", \"text\": " + deep + "}\n");
  m = error_of<rerank::InputError>([&] { rerank::eval::read_queries(queries); });
  EXPECT_NE(m.find("nested deeper"), std::string::npos) << m;
  m = error_of<rerank::ModelError>([&] { rerank::Tokenizer::from_json("{\"normalizer\": " + deep + "}"); });
  EXPECT_NE(m.find("nested deeper"), std::string::npos) << m;
  s.write("model/config.json", "{\"model_type\": \"bert\", \"x\": " + deep + "}");
  m = error_of<rerank::ModelError>([&] { rerank::model::read_model_info(s.dir / "model"); });
  EXPECT_NE(m.find("config.json"), std::string::npos) << m;
  EXPECT_NE(m.find("nested deeper"), std::string::npos) << m;
  try {
    rerank::server::parse_body("{\"query\": \"q\", \"documents\": " + deep + "}");
    ADD_FAILURE() << "parsed";
  } catch (const rerank::server::ApiError& e) {
    EXPECT_EQ(e.status, 400);
    EXPECT_NE(std::string(e.what()).find("nested deeper"), std::string::npos) << e.what();
  }
  // the CLI: `rerank index` of that corpus exits 1 with the message, no signal
  auto r = rerank::test::run_cli("index --collection " + (s.dir / "coll").string() + " " + corpus.string(), "");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("nested deeper"), std::string::npos) << r.err;
}

TEST(HostileJson, NumbersBeyondDoubleAreParseErrors) {
  // nlohmann throws out_of_range (406), not parse_error, for 1e999: callers catching parse_error let it escape
  // (terminate in the CLI, HTTP 500 in the server). Found by fuzz_model_config and fuzz_queries.
  Scratch s("bignum");
  EXPECT_THROW(rerank::util::parse_json("{\"x\": 1e999}"), nlohmann::json::parse_error);
  EXPECT_TRUE(rerank::util::parse_json_or_discard("[1e999]").is_discarded());
  auto q = s.write("queries.jsonl", "{\"_id\": 33333333333E33333333333333, \"text\": \"q\"}\n");
  std::string m = error_of<rerank::InputError>([&] { rerank::eval::read_queries(q); });
  EXPECT_NE(m.find("queries.jsonl line 1"), std::string::npos) << m;
  auto c = s.write("c.jsonl", "{\"_id\": \"1\", \"text\": \"t\", \"metadata\": {\"x\": -1e400}}\n");
  m = error_of<rerank::InputError>([&] { rerank::read_documents(c, rerank::DocumentFormat::Auto, 1, [](auto&, const auto&) {}); });
  EXPECT_NE(m.find("number overflow"), std::string::npos) << m;
  s.write("model/config.json", "{\"model_type\": \"bert\", \"layer_norm_eps\": 1e512}");
  m = error_of<rerank::ModelError>([&] { rerank::model::read_model_info(s.dir / "model"); });
  EXPECT_NE(m.find("config.json"), std::string::npos) << m;
  try {
    rerank::server::parse_body("{\"query\": \"q\", \"top_n\": 1e999}");
    ADD_FAILURE() << "parsed";
  } catch (const rerank::server::ApiError& e) {
    EXPECT_EQ(e.status, 400) << e.what();
  }
  // a relevance of 4e127 in qrels: casting it to an integer was undefined (UBSan; found by fuzz_qrels_run)
  auto qr = s.write("qrels.txt", "1 0 d1 1\n1 0 d2 4e127\n");
  m = error_of<rerank::InputError>([&] { rerank::eval::read_qrels(qr); });
  EXPECT_NE(m.find("line 2"), std::string::npos) << m;
}

// ---- safetensors headers that lie ---------------------------------------------------------------------------

namespace {

std::string safetensors(uint64_t header_len, const std::string& header, const std::string& data) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((header_len >> (8 * i)) & 0xff);
  return s + header + data;
}
std::string safetensors(const std::string& header, const std::string& data) {
  return safetensors(header.size(), header, data);
}

std::string open_error(const fs::path& file) {
  return error_of<rerank::ModelError>([&] {
    rerank::model::TensorStore ts;
    ts.add_file(file);
  });
}

}  // namespace

TEST(HostileSafetensors, HeaderClaimingGigabytes) {
  Scratch s("st-giga");
  std::string m = open_error(s.write("a.safetensors", safetensors(uint64_t{3} << 30, "{}", "")));
  EXPECT_NE(m.find("implausible"), std::string::npos) << m;
  m = open_error(s.write("b.safetensors", safetensors(uint64_t{50} << 20, "{}", std::string(1024, ' '))));
  EXPECT_NE(m.find("runs past the end of the file"), std::string::npos) << m;
  m = open_error(s.write("c.safetensors", safetensors(~uint64_t{0}, "{}", "")));
  EXPECT_NE(m.find("implausible"), std::string::npos) << m;
}

TEST(HostileSafetensors, OffsetsPastTheEndOverlappingOrOverflowing) {
  Scratch s("st-offsets");
  std::string m = open_error(s.write("past.safetensors", safetensors(
      R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", std::string(8, '\0'))));
  EXPECT_NE(m.find("lie outside the data buffer of 8 bytes"), std::string::npos) << m;
  m = open_error(s.write("overlap.safetensors", safetensors(
      R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
          "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})", std::string(24, '\0'))));
  EXPECT_NE(m.find("overlap tensor"), std::string::npos) << m;
  m = open_error(s.write("same.safetensors", safetensors(
      R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
          "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", std::string(8, '\0'))));
  EXPECT_NE(m.find("overlap tensor"), std::string::npos) << m;
  // 2^61 F64 values are 2^64 bytes: wrapped to 0, they would have matched empty offsets and allocated 2^61 floats
  m = open_error(s.write("wrap.safetensors", safetensors(
      R"({"a": {"dtype": "F64", "shape": [2305843009213693952], "data_offsets": [0, 0]}})", "")));
  EXPECT_TRUE(m.find("shape overflows") != std::string::npos || m.find("implausible dimension") != std::string::npos) << m;
  m = open_error(s.write("wrap2.safetensors", safetensors(
      R"({"a": {"dtype": "F64", "shape": [65536, 65536, 65536, 8192], "data_offsets": [0, 0]}})", "")));
  EXPECT_NE(m.find("shape overflows"), std::string::npos) << m;
  // contiguous, empty and gapped tensors stay valid
  rerank::model::TensorStore ts;
  ts.add_file(s.write("ok.safetensors", safetensors(
      R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "e": {"dtype": "F32", "shape": [0], "data_offsets": [8, 8]},
          "b": {"dtype": "F16", "shape": [2], "data_offsets": [8, 12]}, "c": {"dtype": "F32", "shape": [1], "data_offsets": [16, 20]}})",
      std::string(20, '\0'))));
  EXPECT_EQ(ts.all().size(), 4u);
  // an empty F32 tensor has no data pointer: converting it copied from null (UBSan; found by fuzz_safetensors)
  EXPECT_TRUE(rerank::model::TensorStore::to_f32(ts.get("e")).empty());
}

// ---- tokenizer.json merges ----------------------------------------------------------------------------------

namespace {

/// A byte-free BPE over the letters a, b: every string of a/b up to length `n` is in the vocabulary.
nlohmann::json ab_tokenizer(size_t n, nlohmann::json merges) {
  nlohmann::json vocab = nlohmann::json::object();
  std::vector<std::string> all = {"a", "b"};
  for (size_t len = 2; len <= n; ++len) {
    std::vector<std::string> next;
    for (const auto& s : all)
      if (s.size() == len - 1) {
        next.push_back(s + "a");
        next.push_back(s + "b");
      }
    all.insert(all.end(), next.begin(), next.end());
  }
  for (size_t i = 0; i < all.size(); ++i) vocab[all[i]] = i;
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
          {"pre_tokenizer", {{"type", "WhitespaceSplit"}}}};
}

}  // namespace

TEST(HostileTokenizer, CyclicAndHugeMerges) {
  // "cyclic": every pair merges in both orders and the results merge back into each other
  nlohmann::json merges = nlohmann::json::array();
  for (const char* m : {"a b", "b a", "ab a", "a ba", "ba b", "b ab", "ab ab", "ba ba", "ab ba", "ba ab"}) merges.push_back(m);
  auto tok = rerank::Tokenizer::from_json(ab_tokenizer(4, merges).dump());
  const std::string text(20000, 'a');
  std::string abab;
  for (int i = 0; i < 10000; ++i) abab += i % 3 ? "ab" : "ba";
  for (const std::string& t : {text, abab}) {
    auto ids = tok.encode_ids(t);
    std::string back;
    for (int32_t id : ids) back += tok.id_to_token(id);
    EXPECT_EQ(back, t);  // terminates, and the pieces spell the text
  }
  // a merge whose result is not in the vocabulary, or naming unknown tokens: an error naming the entry
  std::string m = error_of<rerank::ModelError>([&] { rerank::Tokenizer::from_json(ab_tokenizer(1, {"a b"}).dump()); });
  EXPECT_NE(m.find("model.merges[0]"), std::string::npos) << m;
  m = error_of<rerank::ModelError>([&] { rerank::Tokenizer::from_json(ab_tokenizer(2, {"a b", "x y"}).dump()); });
  EXPECT_NE(m.find("model.merges[1]"), std::string::npos) << m;
  // 300,000 merges (repeats of valid pairs): loads in proportion, the last rank of a pair wins
  nlohmann::json huge = nlohmann::json::array();
  for (int i = 0; i < 300000; ++i) huge.push_back(i % 2 ? "a b" : "b a");
  auto t2 = rerank::Tokenizer::from_json(ab_tokenizer(2, huge).dump());
  EXPECT_EQ(t2.tokenize("abab"), (std::vector<std::string>{"a", "ba", "b"}));
}

// ---- a 2 GB single-line corpus and a gzip bomb --------------------------------------------------------------

TEST(HostileCorpus, TwoGigabyteSingleLineIsRefusedWithBoundedMemory) {
  Scratch s("bigline");
  for (const char* name : {"huge.jsonl", "huge.md", "huge.csv"}) {
    const fs::path p = s.dir / name;
    { std::ofstream(p) << (std::string(name) == "huge.csv" ? "id,text\n1,\"" : "{\"_id\": \"1\", \"text\": \""); }
    fs::resize_file(p, uint64_t{2} << 30);  // sparse: 2 GiB of NUL bytes without a newline
    const long before = peak_rss_mb();
    std::string m = error_of<rerank::InputError>([&] {
      rerank::read_documents(p, rerank::DocumentFormat::Auto, 10, [](auto&, const auto&) { FAIL() << "a document"; });
    });
    EXPECT_NE(m.find(name), std::string::npos) << m;
    EXPECT_TRUE(m.find("longer than 64 MiB") != std::string::npos || m.find("larger than 64 MiB") != std::string::npos) << m;
    EXPECT_LT(peak_rss_mb() - before, 600) << name;  // 64 MiB lines, not 2 GiB
    fs::remove(p);
  }
}

namespace {

/// `n` bytes of `byte` gzip-compressed into `path` (streamed: little memory).
void gzip_bomb(const fs::path& path, char byte, uint64_t n) {
  gzFile gz = gzopen(path.c_str(), "wb9");
  const std::string block(1 << 20, byte);
  for (uint64_t done = 0; done < n; done += block.size()) gzwrite(gz, block.data(), static_cast<unsigned>(block.size()));
  gzclose(gz);
}

}  // namespace

TEST(HostileCorpus, GzipBombIsRefusedWithBoundedMemory) {
  Scratch s("bomb");
  gzip_bomb(s.dir / "newlines.jsonl.gz", '\n', uint64_t{256} << 20);  // ~250 KB that expand to 256 MiB of blank lines
  gzip_bomb(s.dir / "zeros.jsonl.gz", '\0', uint64_t{256} << 20);
  EXPECT_LT(fs::file_size(s.dir / "newlines.jsonl.gz"), 1u << 20);
  for (const char* name : {"newlines.jsonl.gz", "zeros.jsonl.gz"}) {
    const long before = peak_rss_mb();
    std::string m = error_of<rerank::InputError>([&] {
      rerank::read_documents(s.dir / name, rerank::DocumentFormat::Auto, 10, [](auto&, const auto&) {});
    });
    EXPECT_NE(m.find(name), std::string::npos) << m;
    EXPECT_TRUE(m.find("decompression bomb") != std::string::npos || m.find("longer than 64 MiB") != std::string::npos) << m;
    EXPECT_LT(peak_rss_mb() - before, 600) << name;
  }
  // an honest compressed corpus still reads
  {
    gzFile gz = gzopen((s.dir / "ok.jsonl.gz").c_str(), "wb");
    for (int i = 0; i < 1000; ++i) {
      std::string line = "{\"_id\": \"d" + std::to_string(i) + "\", \"text\": \"document number " + std::to_string(i * 7919) + "\"}\n";
      gzwrite(gz, line.data(), static_cast<unsigned>(line.size()));
    }
    gzclose(gz);
  }
  size_t docs = 0;
  rerank::read_documents(s.dir / "ok.jsonl.gz", rerank::DocumentFormat::Auto, 100,
                         [&](std::vector<rerank::Document>& b, const rerank::ReadProgress&) { docs += b.size(); });
  EXPECT_EQ(docs, 1000u);
}

// ---- symlinks in a model directory --------------------------------------------------------------------------

TEST(HostileModelDir, SymlinksAreReadThroughLikeHuggingFace) {
  Scratch s("symlinks");
  const fs::path outside = s.dir / "elsewhere";
  fs::create_directories(outside);
  const fs::path model = s.dir / "model";
  fs::create_directories(model);
  for (const auto& e : fs::directory_iterator(data("encoders/models/ce-tiny"))) {
    // the weights and tokenizer live outside the directory (as in the Hub cache: snapshots -> ../../blobs)
    fs::copy_file(e.path(), outside / e.path().filename());
    fs::create_symlink(outside / e.path().filename(), model / e.path().filename());
  }
  auto m = rerank::Model::load(model);
  EXPECT_GT(m->info().hidden_size, 0);
  auto ref = rerank::Model::load(data("encoders/models/ce-tiny"));
  EXPECT_EQ(m->info().num_labels, ref->info().num_labels);
}

// ---- the Hub cache: names from the Hub's answers, symlinks planted in the cache ------------------------------

namespace {

const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

/// Answers in order, then 404 EntryNotFound; installed as the HTTP transport for the test's lifetime.
struct FakeHub {
  std::vector<rerank::http::Response> answers;
  size_t next = 0;
  FakeHub() {
    rerank::http::set_fake_transport([this](const rerank::http::Request&) {
      if (next < answers.size()) return answers[next++];
      rerank::http::Response r;
      r.status = 404;
      r.headers["x-error-code"] = "EntryNotFound";
      return r;
    });
  }
  ~FakeHub() { rerank::http::set_fake_transport(nullptr); }
  void add(long status, std::map<std::string, std::string> headers, std::string body = "") {
    rerank::http::Response r;
    r.status = status;
    r.headers = std::move(headers);
    r.body = std::move(body);
    answers.push_back(std::move(r));
  }
};

rerank::PullOptions hub_options(const fs::path& cache) {
  rerank::PullOptions o;
  o.endpoint = "https://hub.test";
  o.token = "hf_test";
  o.cache_dir = cache;
  o.max_attempts = 1;
  o.backoff_seconds = 0;
  o.progress = rerank::PullOptions::ProgressBar::Never;
  return o;
}

}  // namespace

TEST(HostileHub, EtagNamingAPathOutsideTheCacheIsRefused) {
  Scratch s("hub-etag");
  for (const char* etag : {"\"../../../../evil\"", "W/\"a/b\"", "\"..\"", "\".hidden\""}) {
    FakeHub hub;
    hub.add(200, {{"x-repo-commit", kCommit}, {"etag", etag}, {"content-length", "2"}});
    std::string m = error_of<rerank::HubError>([&] { rerank::pull_model("org/model", hub_options(s.dir / "cache")); });
    EXPECT_NE(m.find("no usable ETag"), std::string::npos) << etag << ": " << m;
  }
  EXPECT_FALSE(fs::exists(s.dir / "evil"));
}

TEST(HostileHub, NeverWritesThroughASymlinkPlantedInTheCache) {
  Scratch s("hub-symlink");
  const fs::path victim = s.write("victim.txt", "keep");
  const std::string etag = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";
  const fs::path blobs = s.dir / "cache" / "models--org--model" / "blobs";
  fs::create_directories(blobs);
  fs::create_symlink(victim, blobs / (etag + ".incomplete"));  // a partial download that points elsewhere
  FakeHub hub;
  hub.add(200, {{"x-repo-commit", kCommit}, {"etag", "\"" + etag + "\""}, {"content-length", "2"}});
  hub.add(200, {}, "{}");
  // config.json arrives; the pull then fails for want of a tokenizer (every other answer is 404)
  std::string m = error_of<rerank::HubError>([&] { rerank::pull_model("org/model", hub_options(s.dir / "cache")); });
  EXPECT_NE(m.find("neither tokenizer.json nor vocab.txt"), std::string::npos) << m;
  std::ifstream in(victim);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "keep");
  std::ifstream blob(blobs / etag);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(blob), {}), "{}");
  EXPECT_FALSE(fs::is_symlink(blobs / etag));
}

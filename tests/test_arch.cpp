// The architectures beyond BERT (XLM-RoBERTa, RoBERTa, ELECTRA, ModernBERT) against tests/data/arch/golden.jsonl,
// made by scripts/reference/make_arch_models.py with transformers 5 and sentence-transformers 6. The golden
// input_ids go straight into the model layer (no tokenizer involved): logits, scores and embeddings within 1e-4
// (the fixtures' fp32 tolerance), the same in one batch as one by one, bf16 / int8 close to fp32, and the
// config side (registry, activations of both sentence-transformers generations, default max_length).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "model/architecture.hpp"
#include "model/config.hpp"
#include "model/heads.hpp"
#include "rerank/error.hpp"
#include "rerank/rerank.hpp"
#include "test_util.hpp"

using rerank::test::data;
using rerank::test::read_jsonl;

namespace {

constexpr double kTol = 1e-4;

struct Loaded {
  rerank::ModelInfo info;
  rerank::model::TensorStore store;
  std::unique_ptr<rerank::model::Architecture> arch;
};

const Loaded& load(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Loaded>> cache;
  auto& m = cache[name];
  if (!m) {
    const auto dir = data(name.find('/') == std::string::npos ? "arch/models/" + name : name);
    auto info = rerank::model::read_model_info(dir);
    auto store = rerank::model::TensorStore::open_directory(dir);
    m = std::make_unique<Loaded>(Loaded{std::move(info), std::move(store), nullptr});
    m->arch = rerank::model::load_architecture(m->info, m->store);
  }
  return *m;
}

struct Input {
  std::vector<int32_t> ids, type_ids;
};

Input input_of(const nlohmann::json& c) {
  Input in;
  in.ids = c["input_ids"].get<std::vector<int32_t>>();
  in.type_ids = c.contains("token_type_ids") ? c["token_type_ids"].get<std::vector<int32_t>>()
                                             : std::vector<int32_t>(in.ids.size(), 0);
  return in;
}

// logits (cross-encoders) or pooled embeddings (bi-encoders) of each input, all in one packed batch
std::vector<std::vector<float>> run(const Loaded& m, const std::vector<Input>& inputs, rerank::Precision p,
                                    rerank::ThreadPool& pool, rerank::model::Scratch* keep = nullptr) {
  std::vector<rerank::model::Sequence> seqs;
  for (const Input& in : inputs) seqs.push_back({in.ids.data(), in.type_ids.data(), in.ids.size()});
  rerank::model::Scratch local;
  rerank::model::Scratch& s = keep ? *keep : local;
  m.arch->encode(seqs, p, s, pool);
  const size_t width = m.info.has_classifier ? static_cast<size_t>(m.info.num_labels)
                                             : static_cast<size_t>(m.info.embedding_dim());
  std::vector<float> flat(seqs.size() * width);
  if (m.info.has_classifier) m.arch->classify(seqs, s, flat.data());
  else rerank::model::pool(m.info, seqs, s, flat.data());
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < seqs.size(); ++i) out.emplace_back(flat.begin() + i * width, flat.begin() + (i + 1) * width);
  return out;
}

std::vector<float> activate(rerank::Activation a, const std::vector<float>& x) {
  std::vector<float> y(x);
  double sum = 0.0;
  for (float& v : y) {
    if (a == rerank::Activation::Sigmoid) v = 1.0f / (1.0f + std::exp(-v));
    else if (a == rerank::Activation::Tanh) v = std::tanh(v);
    else if (a == rerank::Activation::Softmax) sum += std::exp(static_cast<double>(v));
  }
  if (a == rerank::Activation::Softmax)
    for (float& v : y) v = static_cast<float>(std::exp(static_cast<double>(v)) / sum);
  return y;
}

void expect_close(const nlohmann::json& want, const std::vector<float>& got, double tol, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(want[i].get<double>(), got[i], tol) << what << " component " << i;
}

std::map<std::string, std::vector<nlohmann::json>> cases_by_model() {
  std::map<std::string, std::vector<nlohmann::json>> by;
  for (const auto& c : read_jsonl(data("arch/golden.jsonl"))) by[c["model"].get<std::string>()].push_back(c);
  return by;
}

std::string label(const nlohmann::json& c, size_t i) {
  return c["model"].get<std::string>() + " case " + std::to_string(i) +
         (c.contains("length") ? " (" + std::to_string(c["length"].get<int>()) + " random ids)" : "");
}

}  // namespace

// Every case one at a time, fp32: logits, scores (the model's activation) and embeddings within 1e-4.
TEST(ArchGolden, EachCaseAlone) {
  auto by = cases_by_model();
  ASSERT_GE(by.size(), 8u) << "tests/data/arch/golden.jsonl: expected the eight fixture models";
  rerank::ThreadPool pool(2);
  size_t checked = 0;
  for (const auto& [name, cases] : by) {
    const Loaded& m = load(name);
    double worst = 0.0;
    for (size_t i = 0; i < cases.size(); ++i) {
      const auto& c = cases[i];
      if (c.contains("length") && c["length"].get<int>() > 4096) continue;  // LongInputBoundedScratch's case
      auto out = run(m, {input_of(c)}, rerank::Precision::FP32, pool);
      const nlohmann::json& want = c["kind"] == "cross-encoder" ? c["logits"] : c["embedding"];
      expect_close(want, out[0], kTol, label(c, i) + (c["kind"] == "cross-encoder" ? " logits" : " embedding"));
      if (c["kind"] == "cross-encoder") {
        expect_close(c["scores"], activate(m.info.activation, out[0]), kTol, label(c, i) + " scores");
      }
      for (size_t k = 0; k < out[0].size() && k < want.size(); ++k) {
        worst = std::max(worst, std::fabs(want[k].get<double>() - out[0][k]));
      }
      ++checked;
    }
    std::printf("[ measured ] %-20s max |fp32 - golden| = %.2e\n", name.c_str(), worst);
  }
  EXPECT_GE(checked, 80u);
}

// All cases of a model packed into one batch give what each gives alone (no padding, positions per sequence).
TEST(ArchGolden, OneBatchEqualsOneByOne) {
  rerank::ThreadPool pool(2);
  for (const auto& [name, cases] : cases_by_model()) {
    const Loaded& m = load(name);
    std::vector<Input> inputs;
    for (const auto& c : cases) {
      if (!c.contains("length") || c["length"].get<int>() <= 1000) inputs.push_back(input_of(c));
    }
    auto batch = run(m, inputs, rerank::Precision::FP32, pool);
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto alone = run(m, {inputs[i]}, rerank::Precision::FP32, pool);
      for (size_t k = 0; k < alone[0].size(); ++k) EXPECT_NEAR(alone[0][k], batch[i][k], 1e-5) << name << " input " << i;
    }
  }
}

// The reduced-precision modes run on every architecture and stay near fp32: bf16 (8-bit mantissa) within 0.15 and
// int8 within 0.4 of the largest fp32 logit / embedding component (at least 1). These random-weight models (weights
// ~N(0, 0.3), wide activations) are a harsh case (measured worst: bf16 0.096 on ModernBERT, int8 0.26 on ELECTRA);
// a wrong layer or a transposed matrix is off by the logit's size.
TEST(ArchGolden, ReducedPrecisionCloseToFp32) {
  rerank::ThreadPool pool(2);
  for (const auto& [name, cases] : cases_by_model()) {
    const Loaded& m = load(name);
    std::vector<Input> inputs;  // texts, and random ids up to 2000 (ModernBERT's global layers: bf16 heads in 3 + 1)
    for (const auto& c : cases) {
      if (!c.contains("length") || c["length"].get<int>() <= 2000) inputs.push_back(input_of(c));
    }
    auto ref = run(m, inputs, rerank::Precision::FP32, pool);
    for (auto [p, tol] : {std::pair{rerank::Precision::BF16, 0.15}, std::pair{rerank::Precision::INT8, 0.4}}) {
      auto got = run(m, inputs, p, pool);
      double worst = 0.0;
      for (size_t i = 0; i < inputs.size(); ++i) {
        double scale = 0.0;
        for (float v : ref[i]) scale = std::max(scale, std::fabs(static_cast<double>(v)));
        for (size_t k = 0; k < ref[i].size(); ++k) {
          worst = std::max(worst, std::fabs(ref[i][k] - got[i][k]) / std::max(1.0, scale));
        }
      }
      std::printf("[ measured ] %-20s %s: worst |diff| / scale = %.4f\n", name.c_str(), rerank::precision_name(p), worst);
      EXPECT_LT(worst, tol) << name << " " << rerank::precision_name(p);
      EXPECT_GT(worst, 0.0) << name << " " << rerank::precision_name(p) << " gave exactly fp32's results";
    }
  }
}

// 8192 tokens (the bge-m3 limit) through the fp32 attention, whose scores exist one block of query rows at a time:
// the golden embedding within 1e-4 and no worker's score buffer beyond [256 rows, 8192 keys].
TEST(ArchGolden, LongInputBoundedScratch) {
  const Loaded& m = load("xlmr-embed");
  EXPECT_EQ(m.info.max_sequence_length, 8192u);
  EXPECT_EQ(m.info.max_length, 8192u);
  rerank::ThreadPool pool(2);
  size_t checked = 0;
  auto by = cases_by_model();
  for (const auto& c : by["xlmr-embed"]) {
    if (!c.contains("length") || c["length"].get<int>() != 8192) continue;
    rerank::model::Scratch s;
    auto out = run(m, {input_of(c)}, rerank::Precision::FP32, pool, &s);
    expect_close(c["embedding"], out[0], kTol, "8192 tokens");
    for (const auto& buf : s.scores) EXPECT_LE(buf.size(), 256u * 8192u);
    // bf16 falls back to the blocked path for a sequence this long
    auto low = run(m, {input_of(c)}, rerank::Precision::BF16, pool, &s);
    for (const auto& buf : s.attn32) EXPECT_LE(buf.size(), 256u * 8192u);
    double dot = 0.0;
    for (size_t k = 0; k < out[0].size(); ++k) dot += static_cast<double>(out[0][k]) * low[0][k];
    EXPECT_GT(dot, 0.99);  // unit vectors
    ++checked;
  }
  EXPECT_EQ(checked, 1u);
  // one token more than the positions hold is an input error naming the limit
  Input too_long{std::vector<int32_t>(8193, 5), std::vector<int32_t>(8193, 0)};
  too_long.ids.front() = 0;
  rerank::model::Scratch s;
  std::vector<rerank::model::Sequence> seqs{{too_long.ids.data(), too_long.type_ids.data(), too_long.ids.size()}};
  std::string err = rerank::test::error_of<rerank::InputError>([&] { m.arch->encode(seqs, rerank::Precision::FP32, s, pool); });
  EXPECT_NE(err.find("8192"), std::string::npos) << err;
}

// With Scratch::first_token_only (what CrossEncoder::predict sets), a model whose head reads the first token runs
// its last layer's queries, attention and FFN for those tokens alone: the logits equal the full last layer's up to
// the order of sums, per precision (fp32 within 1e-5, measured ~1e-7; bf16 / int8 within 2e-3 of the largest logit,
// at least 1: a bf16 probability or context value may round the other way). Batches of different lengths, with a
// 1-token sequence, and a 1-token batch; BERT, RoBERTa, XLM-R, ELECTRA and ModernBERT with cls pooling. Heads on
// the mean (ModernBERT's mean pooling) and bi-encoders ignore the flag. INT8 differs on purpose for the BERT family:
// the shortcut's Q and FFN up are bf16 (one row per sequence, free): there its logits must differ from the full int8
// layer's somewhere and stay within ReducedPrecisionCloseToFp32's int8 bound (0.4 of the largest fp32 logit) of fp32.
// On these harsh random-weight models the worst logit error moves either way (measured: xlmr-ce 5.7e-2 -> 5.2e-2,
// xlmr-ce-old 2.3e-2 -> 4.8e-2); on the real all-MiniLM-L6-v2 body the ranking error fell (docs/PERFORMANCE.md).
TEST(ArchGolden, FirstTokenLastLayerEqualsFullLayer) {
  rerank::ThreadPool pool(2);
  std::map<std::string, std::vector<Input>> models;
  for (const auto& [name, cases] : cases_by_model()) {
    for (const auto& c : cases) {
      if (!c.contains("length") || c["length"].get<int>() <= 2000) models[name].push_back(input_of(c));
    }
  }
  for (const auto& c : read_jsonl(data("encoders/golden.jsonl"))) {
    const std::string name = c["model"].get<std::string>();
    if (name.rfind("ce-", 0) == 0) models["encoders/models/" + name].push_back(input_of(c));
  }
  const std::set<std::string> shortcut = {"electra-ce",        "roberta-ce", "xlmr-ce", "xlmr-ce-old", "modernbert-ce-cls",
                                          "encoders/models/ce-tiny", "encoders/models/ce-tiny-bf16"};
  ASSERT_GE(models.size(), 10u);
  for (auto& [name, inputs] : models) {
    const Loaded& m = load(name);
    const Input one{{inputs[0].ids[0]}, {inputs[0].type_ids[0]}};
    inputs.insert(inputs.begin() + 1, one);
    for (auto [p, tol] : {std::pair{rerank::Precision::FP32, 1e-5}, std::pair{rerank::Precision::BF16, 2e-3},
                          std::pair{rerank::Precision::INT8, 2e-3}}) {
      double worst = 0.0, full_err = 0.0, first_err = 0.0;
      // the BERT family's int8 shortcut runs its first-token products in bf16 (see above): judged against fp32
      const bool bf16_rows = p == rerank::Precision::INT8 && shortcut.count(name) && m.info.model_type != "modernbert";
      for (const std::vector<Input>& batch : {inputs, std::vector<Input>{one}}) {
        rerank::model::Scratch full, first;
        first.first_token_only = true;
        auto want = run(m, batch, p, pool, &full);
        auto got = run(m, batch, p, pool, &first);
        const auto exact = bf16_rows ? run(m, batch, rerank::Precision::FP32, pool) : want;
        for (size_t i = 0; i < batch.size(); ++i) {
          double scale = 1.0;
          for (float v : want[i]) scale = std::max(scale, std::fabs(static_cast<double>(v)));
          for (size_t k = 0; k < want[i].size(); ++k) {
            worst = std::max(worst, std::fabs(want[i][k] - got[i][k]) / scale);
            full_err = std::max(full_err, std::fabs(exact[i][k] - want[i][k]) / scale);
            first_err = std::max(first_err, std::fabs(exact[i][k] - got[i][k]) / scale);
          }
        }
        // the shortcut ran where it applies (the second token's row is not the last layer's), nowhere else
        const size_t H = static_cast<size_t>(m.info.hidden_size);
        if (batch[0].ids.size() < 2) continue;
        const bool same = std::equal(full.x.begin() + H, full.x.begin() + 2 * H, first.x.begin() + H);
        EXPECT_EQ(same, !shortcut.count(name)) << name << " " << rerank::precision_name(p);
        if (!shortcut.count(name)) {
          EXPECT_EQ(want, got) << name;
        }
      }
      std::printf("[ measured ] %-28s %s: worst |first-token - full| / scale = %.2e\n", name.c_str(), rerank::precision_name(p),
                  worst);
      if (bf16_rows) {
        std::printf("[ measured ] %-28s int8 vs fp32: full layer %.2e, first-token shortcut %.2e\n", name.c_str(), full_err,
                    first_err);
        EXPECT_LT(first_err, 0.4) << name;
        EXPECT_GT(worst, 0.0) << name << ": the int8 shortcut's bf16 rows did not run";
        continue;
      }
      EXPECT_LT(worst, tol) << name << " " << rerank::precision_name(p);
    }
  }
}

// Both generations of sentence-transformers files, and sentence-transformers' default max_length rule.
TEST(ArchConfig, ActivationsAndDefaults) {
  auto info = [](const std::string& n) { return rerank::model::read_model_info(data("arch/models/" + n)); };
  // ST 6 save: activation_fn in config_sentence_transformers.json (Tanh here, not the 1-label default Sigmoid)
  auto ce = info("xlmr-ce");
  EXPECT_EQ(ce.model_type, "xlm-roberta");
  EXPECT_EQ(ce.activation, rerank::Activation::Tanh);
  EXPECT_EQ(ce.max_sequence_length, 8192u);  // 8194 positions - padding_idx 1 - 1
  EXPECT_EQ(ce.max_length, 8192u);           // tokenizer model_max_length 8192, capped by the positions
  // old save: config.json's sentence_transformers.activation_fn, no modules.json
  EXPECT_EQ(info("xlmr-ce-old").activation, rerank::Activation::Identity);
  EXPECT_EQ(info("roberta-ce").activation, rerank::Activation::Identity);  // three labels
  EXPECT_EQ(info("roberta-ce").max_length, 512u);
  EXPECT_EQ(info("electra-ce").activation, rerank::Activation::Sigmoid);
  EXPECT_EQ(info("modernbert-ce-cls").max_length, 8192u);
  auto emb = info("modernbert-embed");
  EXPECT_FALSE(emb.has_classifier);
  EXPECT_EQ(emb.pooling, std::vector<std::string>{"mean"});
  EXPECT_TRUE(emb.normalize);
}

TEST(ArchConfig, UnknownModelTypeNamesItAndTheSupportedOnes) {
  const auto dir = rerank::test::temp_path("arch", "gpt2");
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir / "config.json");
    f << R"({"model_type": "gpt2", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
             "intermediate_size": 64, "vocab_size": 100})";
  }
  std::string err = rerank::test::error_of<rerank::ModelError>([&] { rerank::model::read_model_info(dir); });
  for (const char* want : {"gpt2", "config.json", "bert", "xlm-roberta", "roberta", "electra", "modernbert"}) {
    EXPECT_NE(err.find(want), std::string::npos) << want << " in: " << err;
  }
  std::filesystem::remove_all(dir);
}

// ModernBERT config fields are validated with errors naming them.
TEST(ArchConfig, ModernBertConfigErrors) {
  const auto src = data("arch/models/modernbert-ce-mean");
  auto with_config = [&](const std::function<void(nlohmann::json&)>& edit) {
    const auto dir = rerank::test::temp_path("arch", "mb");
    std::filesystem::create_directories(dir);
    for (const auto& e : std::filesystem::directory_iterator(src)) {
      if (e.is_regular_file()) std::filesystem::copy_file(e.path(), dir / e.path().filename());
    }
    nlohmann::json c = nlohmann::json::parse(std::ifstream(dir / "config.json"));
    edit(c);
    std::ofstream(dir / "config.json") << c.dump();
    std::string err = rerank::test::error_of<rerank::ModelError>([&] {
      auto info = rerank::model::read_model_info(dir);
      auto store = rerank::model::TensorStore::open_directory(dir);
      rerank::model::load_architecture(info, store);
    });
    std::filesystem::remove_all(dir);
    return err;
  };
  EXPECT_NE(with_config([](auto& c) { c["rope_parameters"]["full_attention"]["rope_type"] = "yarn"; }).find("rope_type"),
            std::string::npos);
  EXPECT_NE(with_config([](auto& c) { c["classifier_pooling"] = "max"; }).find("classifier_pooling"), std::string::npos);
  EXPECT_NE(with_config([](auto& c) { c["layer_types"] = {"full_attention"}; }).find("layer_types"), std::string::npos);
  EXPECT_NE(with_config([](auto& c) {
              c["num_hidden_layers"] = 3;
              c.erase("layer_types");
            }).find("more layers"), std::string::npos);
}

// End to end through the public API where the tokenizer is already supported (ELECTRA ships WordPiece): text in,
// the golden ids and sentence-transformers' scores out, through CrossEncoder exactly as for BERT.
TEST(ArchEndToEnd, ElectraCrossEncoderFromText) {
  auto model = rerank::Model::load(data("arch/models/electra-ce"));
  EXPECT_EQ(model->info().model_type, "electra");
  rerank::CrossEncoder ce(model, {.threads = 2});
  size_t checked = 0;
  auto by = cases_by_model();
  for (const auto& c : by["electra-ce"]) {
    if (!c.contains("query")) continue;
    auto p = ce.predict({{c["query"].get<std::string>(), c["document"].get<std::string>()}});
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].encoding.ids, c["input_ids"].get<std::vector<int32_t>>()) << c["query"];
    expect_close(c["logits"], p[0].logits, kTol, "electra logits");
    expect_close(c["scores"], p[0].scores, kTol, "electra scores");
    ++checked;
  }
  EXPECT_EQ(checked, 8u);
}

// sentence-transformers 5/6 prompts: default_prompt_name's prompt goes before the query (the pair's first text).
TEST(ArchConfig, DefaultPromptIsPrependedToTheQuery) {
  const auto src = data("arch/models/electra-ce");
  const auto dir = rerank::test::temp_path("arch", "prompt");
  std::filesystem::create_directories(dir);
  for (const auto& e : std::filesystem::directory_iterator(src)) std::filesystem::copy(e.path(), dir / e.path().filename());
  const auto cst = dir / "config_sentence_transformers.json";
  nlohmann::json c = nlohmann::json::parse(std::ifstream(cst));
  c["prompts"] = {{"query", "query: "}};
  c["default_prompt_name"] = "query";
  std::ofstream(cst) << c.dump();
  rerank::CrossEncoder prompted(rerank::Model::load(dir), {.threads = 1});
  rerank::CrossEncoder plain(rerank::Model::load(src), {.threads = 1});
  auto a = prompted.predict({{"what is a cat", "A cat is a small animal."}});
  auto b = plain.predict({{"query: what is a cat", "A cat is a small animal."}});
  EXPECT_EQ(a[0].encoding.ids, b[0].encoding.ids);
  EXPECT_EQ(a[0].logits, b[0].logits);
  c["default_prompt_name"] = "passage";  // not in prompts
  std::ofstream(cst) << c.dump();
  std::string err = rerank::test::error_of<rerank::ModelError>([&] { rerank::model::read_model_info(dir); });
  EXPECT_NE(err.find("default_prompt_name 'passage'"), std::string::npos) << err;
  std::filesystem::remove_all(dir);
}

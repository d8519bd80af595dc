// The parity fixtures: every case of tests/data/encoders/golden.jsonl (made with Hugging Face semantics by an
// independent reference) reproduced by the library and by the CLI. Token ids must match exactly; logits and
// embedding components within 1e-4 (the fixtures' stated fp32 tolerance).
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "rerank/rerank.hpp"
#include "test_util.hpp"

using rerank::test::data;
using rerank::test::read_jsonl;

namespace {

constexpr double kTol = 1e-4;

std::shared_ptr<const rerank::Model> model(const std::string& dir) {
  static std::map<std::string, std::shared_ptr<const rerank::Model>> cache;
  auto& m = cache[dir];
  if (!m) m = rerank::Model::load(dir);
  return m;
}

void expect_close(const nlohmann::json& want, const std::vector<float>& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(want[i].get<double>(), got[i], kTol) << what << " component " << i;
}

void check_golden(const std::filesystem::path& root, const std::filesystem::path& golden_file) {
  auto cases = read_jsonl(golden_file);
  ASSERT_GT(cases.size(), 0u);
  size_t checked = 0;
  for (const auto& c : cases) {
    const std::string name = c["model"].get<std::string>();
    auto m = model((root / name).string());
    // cases made without an explicit length check the model's own default (max_seq_length / model_max_length rule)
    const size_t max_length = c.value("max_length_default", false) ? 0 : c["max_length"].get<size_t>();
    const std::string label = name + " case " + std::to_string(checked);
    if (c.contains("logits")) {
      rerank::CrossEncoder ce(m, {.threads = 2});
      auto p = ce.predict({{c["query"].get<std::string>(), c["document"].get<std::string>()}}, {max_length});
      ASSERT_EQ(p.size(), 1u);
      EXPECT_EQ(p[0].encoding.ids, c["input_ids"].get<std::vector<int32_t>>()) << label;
      EXPECT_EQ(p[0].encoding.type_ids, c["token_type_ids"].get<std::vector<int32_t>>()) << label;
      expect_close(c["logits"], p[0].logits, label + " logits");
      if (c.contains("score")) {
        if (c["score"].is_array()) expect_close(c["score"], p[0].scores, label + " score");
        else EXPECT_NEAR(c["score"].get<double>(), p[0].scores[0], kTol) << label;
      }
    } else {
      rerank::BiEncoder be(m, {.threads = 2});
      std::vector<rerank::Encoding> enc;
      auto e = be.encode({c["text"].get<std::string>()}, {max_length}, &enc);
      ASSERT_EQ(e.size(), 1u);
      EXPECT_EQ(enc[0].ids, c["input_ids"].get<std::vector<int32_t>>()) << label;
      expect_close(c["embedding"], e[0], label + " embedding");
    }
    ++checked;
  }
  EXPECT_EQ(checked, cases.size());
}

}  // namespace

TEST(Golden, FixturesThroughLibrary) {
  check_golden(data("encoders/models"), data("encoders/golden.jsonl"));
}

TEST(Golden, ExtraModelsThroughLibrary) {
  if (!std::filesystem::exists(data("extra/golden.jsonl"))) GTEST_FAIL() << "tests/data/extra/golden.jsonl missing";
  check_golden(data("extra/models"), data("extra/golden.jsonl"));
}

// The same cases through `rerank predict --tokens` / `rerank embed --tokens`, one process per model.
TEST(Golden, FixturesThroughCli) {
  auto cases = read_jsonl(data("encoders/golden.jsonl"));
  std::map<std::pair<std::string, size_t>, std::vector<nlohmann::json>> groups;
  for (const auto& c : cases) groups[{c["model"].get<std::string>(), c["max_length"].get<size_t>()}].push_back(c);
  size_t checked = 0;
  for (const auto& [key, group] : groups) {
    const bool ce = group[0].contains("logits");
    std::string input;
    for (const auto& c : group) {
      nlohmann::json in = ce ? nlohmann::json{{"query", c["query"]}, {"document", c["document"]}} : nlohmann::json{{"text", c["text"]}};
      input += in.dump() + "\n";
    }
    std::string args = std::string(ce ? "predict" : "embed") + " --tokens --batch-size 5 --model " +
                       data("encoders/models/" + key.first).string() + " --max-length " + std::to_string(key.second);
    auto r = rerank::test::run_cli(args, input);
    ASSERT_EQ(r.status, 0) << args << "\n" << r.err;
    std::istringstream lines(r.out);
    std::string line;
    for (const auto& c : group) {
      ASSERT_TRUE(static_cast<bool>(std::getline(lines, line))) << "missing output line for " << key.first;
      auto o = nlohmann::json::parse(line);
      EXPECT_EQ(o["input_ids"], c["input_ids"]);
      if (ce) {
        EXPECT_EQ(o["token_type_ids"], c["token_type_ids"]);
        expect_close(c["logits"], o["logits"].get<std::vector<float>>(), key.first + " CLI logits");
        EXPECT_NEAR(o["score"].get<double>(), c["logits"][0].get<double>(), kTol);  // Identity activation
      } else {
        expect_close(c["embedding"], o["embedding"].get<std::vector<float>>(), key.first + " CLI embedding");
      }
      ++checked;
    }
    EXPECT_FALSE(static_cast<bool>(std::getline(lines, line))) << "extra output for " << key.first;
  }
  EXPECT_EQ(checked, 188u);
}

// rerank bench --scores-out: one raw logit per pair, in workload order, equal to what `rerank predict` gives.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "test_util.hpp"

namespace rerank::test {
namespace {

std::vector<double> read_numbers(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<double> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(std::stod(line));
  return out;
}

TEST(BenchCli, ScoresOutHasOneLogitPerPairInWorkloadOrder) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("rerank-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string model = data("encoders/models/ce-tiny").string();
  std::ostringstream wl, pairs;
  const std::vector<std::string> queries = {kPasswordQuery, "When is lunch served?"};
  for (const std::string& q : queries) {
    nlohmann::json line = {{"query", q}, {"documents", kPasswordDocs}};
    wl << line.dump() << "\n";
    for (const std::string& d : kPasswordDocs) pairs << nlohmann::json{{"query", q}, {"document", d}}.dump() << "\n";
  }
  { std::ofstream(dir / "wl.jsonl") << wl.str(); }
  const fs::path scores = dir / "scores.txt";
  RunResult r = run_cli("bench -m " + model + " --workload " + (dir / "wl.jsonl").string() +
                            " --repeat 1 --threads 2 --batch-size 3 --scores-out " + scores.string(),
                        "");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir / "scores.txt.partial"));
  const std::vector<double> got = read_numbers(scores);
  RunResult p = run_cli("predict -m " + model + " --threads 1 --batch-size 5", pairs.str());
  ASSERT_EQ(p.status, 0) << p.err;
  std::istringstream lines(p.out);
  std::string line;
  std::vector<double> want;
  while (std::getline(lines, line)) want.push_back(nlohmann::json::parse(line)["logits"][0].get<double>());
  ASSERT_EQ(got.size(), queries.size() * kPasswordDocs.size());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << "pair " << i;  // batch-independent
  // Scores differ between documents: the file is not one repeated value.
  EXPECT_NE(got[0], got[1]);

  // An unwritable destination is an error naming the file, with a non-zero exit.
  RunResult bad = run_cli("bench -m " + model + " --workload " + (dir / "wl.jsonl").string() +
                              " --repeat 1 --scores-out " + (dir / "missing-dir" / "s.txt").string(),
                          "");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("missing-dir/s.txt"), std::string::npos) << bad.err;
  fs::remove_all(dir);
}

// rerank bench --latency: the output's shape (not its timing): percentiles in order, the counts asked for, and the
// flags it cannot be combined with refused.
TEST(BenchCli, LatencyModeReportsPercentilesOfSingleRequests) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("rerank-bench-lat-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string model = data("encoders/models/ce-tiny").string();
  {  // 3 documents on the first line, 2 more on the second: --candidates 4 takes from both
    std::ofstream wl(dir / "wl.jsonl");
    wl << nlohmann::json{{"query", kPasswordQuery}, {"documents", {kPasswordDocs[0], kPasswordDocs[1], kPasswordDocs[2]}}}.dump()
       << "\n"
       << nlohmann::json{{"query", "other"}, {"documents", {kPasswordDocs[0], kPasswordDocs[1]}}}.dump() << "\n";
  }
  const std::string base = "bench -m " + model + " --workload " + (dir / "wl.jsonl").string() + " --threads 2 --latency";
  RunResult r = run_cli(base + " --repeat 7 --candidates 4", "");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string last = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
  const auto j = nlohmann::json::parse(last);
  EXPECT_EQ(j.at("mode"), "latency");
  EXPECT_EQ(j.at("candidates").get<size_t>(), 4u);
  EXPECT_EQ(j.at("repetitions").get<size_t>(), 7u);
  EXPECT_EQ(j.at("max_length").get<size_t>(), 128u);  // the seed's case unless --max-length is given
  EXPECT_GT(j.at("mean_tokens_per_pair").get<double>(), 5.0);
  EXPECT_LE(j.at("mean_tokens_per_pair").get<double>(), 128.0);
  const double mn = j.at("min_ms"), p50 = j.at("p50_ms"), p99 = j.at("p99_ms"), mx = j.at("max_ms");
  EXPECT_GT(mn, 0.0);
  EXPECT_LE(mn, p50);
  EXPECT_LE(p50, p99);
  EXPECT_LE(p99, mx);
  EXPECT_GT(j.at("warm_p50_ms").get<double>(), 0.0);
  EXPECT_LE(j.at("warm_p50_ms").get<double>(), j.at("warm_p99_ms").get<double>());
  EXPECT_FALSE(j.contains("pairs_per_second"));

  // --max-length is honoured; more candidates than the workload has: all of them
  RunResult r2 = run_cli(base + " --repeat 2 --candidates 50 --max-length 16", "");
  ASSERT_EQ(r2.status, 0) << r2.err;
  const auto j2 = nlohmann::json::parse(r2.out.substr(r2.out.rfind('\n', r2.out.size() - 2) + 1));
  EXPECT_EQ(j2.at("candidates").get<size_t>(), 5u);
  EXPECT_EQ(j2.at("max_length").get<size_t>(), 16u);
  EXPECT_LE(j2.at("mean_tokens_per_pair").get<double>(), 16.0);

  // per-pair outputs belong to the throughput mode
  RunResult bad = run_cli(base + " --scores-out " + (dir / "s.txt").string(), "");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("--scores-out"), std::string::npos) << bad.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rerank::test

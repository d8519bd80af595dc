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

}  // namespace
}  // namespace rerank::test

// Runs: TREC run files in and out, trec_eval's ranking order.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <unordered_map>

#include "eval/text.hpp"
#include "rerank/eval.hpp"

namespace rerank::eval {

using detail::fail;
using detail::quote;

size_t Run::num_lines() const {
  size_t n = 0;
  for (const auto& [q, docs] : queries) n += docs.size();
  return n;
}

std::vector<ScoredDoc> ranked(std::vector<ScoredDoc> docs) {
  // trec_eval (form_res_rels.c, comp_sim_docno): sim descending, then strcmp(docno) descending. std::string's
  // compare orders bytes as unsigned char, like strcmp.
  std::sort(docs.begin(), docs.end(), [](const ScoredDoc& a, const ScoredDoc& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.doc_id > b.doc_id;
  });
  return docs;
}

Run read_run(const std::filesystem::path& path) {
  const auto lines = detail::read_lines(path);
  Run run(path.filename().string());
  std::unordered_map<std::string, size_t> seen;  // "qid\tdocid" -> line
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t ln = i + 1;
    if (detail::is_blank(lines[i])) continue;
    auto f = detail::split_ws(lines[i]);
    if (f.size() != 6)
      fail(path, ln, "expected 6 columns `qid Q0 docid rank score tag` (TREC run), got " + std::to_string(f.size()));
    if (!detail::parse_int(f[3])) fail(path, ln, "rank " + quote(f[3]) + " is not an integer");
    auto score = detail::parse_double(f[4]);
    if (!score) fail(path, ln, "score " + quote(f[4]) + " is not a finite number");
    std::string key = std::string(query_id_key(f[0])) + '\t' + std::string(f[2]);
    auto [it, inserted] = seen.emplace(std::move(key), ln);
    if (!inserted)
      fail(path, ln, "query " + quote(f[0]) + ": document " + quote(f[2]) + " already appears on line " +
                         std::to_string(it->second) + " (trec_eval rejects duplicate documents too)");
    run.add(std::string(f[0]), std::string(f[2]), *score);
  }
  return run;
}

void write_run(const Run& run, const std::filesystem::path& path, const std::string& tag) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw InputError(path.string() + ": cannot open for writing");
  const std::string t = tag.empty() ? (run.name.empty() ? std::string("rerank") : run.name) : tag;
  char buf[64];
  for (const auto& [qid, docs] : run.queries) {
    auto r = ranked(docs);
    for (size_t i = 0; i < r.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%.17g", r[i].score);
      out << qid << " Q0 " << r[i].doc_id << ' ' << (i + 1) << ' ' << buf << ' ' << t << '\n';
    }
  }
  if (!out) throw InputError(path.string() + ": write error");
}

}  // namespace rerank::eval

// rerank search: first stage (bm25/dense/hybrid) top-k, optional cross-encoder rerank, top-n; one query or a
// BEIR queries.jsonl written as a TREC run.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include "cli.hpp"
#include "rerank/eval.hpp"
#include "rerank/pipeline.hpp"

namespace rerank::cli {
namespace {

struct SearchFlags : PipelineFlags {
  std::string query, queries, run_out, qrels, qrels_format = "auto", tag = "rerank";
  bool json = false, warmup = false;
};

std::string snippet(const std::string& s, size_t n) {
  std::string out;
  for (char c : s) out.push_back(c == '\n' || c == '\t' || c == '\r' ? ' ' : c);
  if (out.size() <= n) return out;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return out.substr(0, cut) + "...";
}

nlohmann::ordered_json to_json(const std::vector<RankedItem>& items) {
  auto a = nlohmann::ordered_json::array();
  for (const auto& x : items)
    a.push_back({{"rank", x.rank}, {"id", x.doc_id}, {"passage", x.passage_index}, {"score", x.score},
                 {"first_stage_rank", x.first_rank}, {"first_stage_score", x.first_score}});
  return a;
}

void run(const SearchFlags& f) {
  bool batch = !f.queries.empty();
  if (batch == !f.query.empty()) throw InputError("give either a QUERY or --queries FILE.jsonl");
  if (batch && f.run_out.empty() && !f.json) throw InputError("--queries needs --run-out RUN.trec (or --json)");
  // Inputs first (any error before a file is written): BEIR JSONL, TREC topics or SMART .QRY, as `rerank eval`.
  std::vector<eval::Query> queries;
  if (batch) queries = eval::read_queries(f.queries);
  if (batch && !f.qrels.empty()) {  // only the judged queries, as `rerank eval` runs them
    eval::PipelineEvalOptions names;
    names.queries_name = f.queries;
    names.qrels_name = f.qrels;
    queries = eval::judged_queries(queries, eval::read_qrels(f.qrels, eval::parse_qrels_format(f.qrels_format)), names);
  }
  std::optional<Collection> holder;
  auto engine = f.open_first_stage(holder);
  PipelineOptions po = f.options(batch ? 0 : 5);
  auto reranker = f.make_reranker();
  Pipeline p(engine, po, reranker);

  if (!batch) {
    SearchResult r = p.search(f.query);
    if (f.json) {
      nlohmann::ordered_json o{{"query", f.query}, {"first_stage", to_json(r.first_stage)}};
      if (r.has_reranker) o["reranked"] = to_json(r.reranked);
      emit(o);
      return;
    }
    std::printf("First stage (%s, top %zu):\n", f.retriever.c_str(), r.first_stage.size());
    for (const auto& x : r.first_stage)
      std::printf("  %2zu. [%.3f] %s%s  %s\n", x.rank, x.score, x.doc_id.c_str(),
                  f.per_passage ? ("#" + std::to_string(x.passage_index)).c_str() : "", snippet(engine->passage_text(x.passage), 70).c_str());
    if (r.has_reranker) {
      std::printf("\nAfter reranking (%s, top %zu):\n", reranker->name().c_str(), r.reranked.size());
      for (const auto& x : r.reranked)
        std::printf("  %2zu. [%.3f] %s%s (was %zu)  %s\n", x.rank, x.score, x.doc_id.c_str(),
                    f.per_passage ? ("#" + std::to_string(x.passage_index)).c_str() : "", x.first_rank,
                    snippet(engine->passage_text(x.passage), 70).c_str());
    }
    if (r.first_stage.empty()) std::printf("  (no matches)\n");
    return;
  }

  // The run is written to RUN.partial and renamed when complete: an interrupted search leaves no truncated run.
  const std::string partial = f.run_out + ".partial";
  std::ofstream out;
  if (!f.run_out.empty()) {
    out.open(partial);
    if (!out) throw InputError(f.run_out + ": cannot write");
  }
  if (f.warmup)  // one untimed pass: postings and embeddings in memory, as in a long-running server
    for (const auto& q : queries) p.search(q.text);
  std::vector<double> ms;
  Progress progress("search");
  for (const auto& [qid, text] : queries) {
    auto t0 = std::chrono::steady_clock::now();
    SearchResult r = p.search(text);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    auto fin = r.final_ranking(po.top_n);
    if (out.is_open()) {
      std::set<std::string> written;  // a TREC run lists a document once
      size_t rank = 0;
      for (const auto& x : fin) {
        if (!written.insert(x.doc_id).second) continue;
        out << qid << " Q0 " << x.doc_id << " " << ++rank << " " << x.score << " " << f.tag << "\n";
      }
    }
    if (f.json) {
      nlohmann::ordered_json o{{"query_id", qid}, {"first_stage", to_json(r.first_stage)}};
      if (r.has_reranker) o["reranked"] = to_json(r.reranked);
      emit(o);
    }
    progress.add(1);
  }
  progress.finish();
  if (out.is_open()) {
    out.close();
    if (!out) throw InputError(f.run_out + ": write failed");
    std::filesystem::rename(partial, f.run_out);
  }
  const double mean = ms.empty() ? 0.0 : std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  std::sort(ms.begin(), ms.end());
  std::fprintf(stderr, "searched %zu queries%s: latency p50 %.3f ms, p99 %.3f ms, mean %.3f ms%s%s\n", ms.size(), f.warmup ? " (warm)" : "",
               eval::nearest_rank(ms, 0.5), eval::nearest_rank(ms, 0.99), mean,
               f.run_out.empty() ? "" : "; run written to ", f.run_out.c_str());
}

}  // namespace

void register_search(CLI::App& app) {
  auto f = std::make_shared<SearchFlags>();
  CLI::App* cmd = app.add_subcommand("search", "Two-stage search of a collection: BM25/dense/hybrid top-k, then optional cross-encoder reranking");
  cmd->footer(
      "One query: prints the first-stage ranking and, with --reranker, the reranked top n with their scores and\n"
      "first-stage ranks (--json for a JSON object). Batch: --queries reads BEIR queries.jsonl ({\"_id\", \"text\"}),\n"
      "TREC topics or SMART .QRY files (Cranfield, CISI, MED)\n"
      "and writes a TREC run (qid Q0 docid rank score tag) of the final stage: the reranked list with a reranker,\n"
      "else the first stage (in batch mode --top-n defaults to all k). Latency p50/p99 goes to stderr.\n"
      "--qrels keeps the judged queries; query ids compare as numbers when both are numeric (\"01\" = \"1\").\n"
      "dense/hybrid need a collection indexed with --bi-encoder (its model is found again from the collection).\n"
      "--opensearch URL --index NAME searches an OpenSearch index made by `rerank index --to opensearch` instead\n"
      "(BM25 by OpenSearch, dense by its k-NN plugin or an exact script; hybrid fused and reranked here).\n"
      "hybrid fuses BM25 and dense (depth max(k, 100) each) by reciprocal-rank fusion (k=60) or --fusion weighted.\n\n"
      "Examples:\n"
      "  rerank search -c scifact-idx --k 50 --reranker ms-marco-MiniLM-L-6-v2 --top-n 5 \"vitamin D and bone density\"\n"
      "  rerank search -c scifact-idx --k 100 --queries queries.jsonl --qrels qrels/test.tsv --run-out bm25.trec\n"
      "  rerank search --opensearch http://127.0.0.1:9200 --index scifact --retriever hybrid --reranker M \"query\"");
  f->add(cmd, "Results kept after reranking (default 5; all k in batch mode)");
  cmd->add_option("query", f->query, "The query (or use --queries)");
  cmd->add_option("--queries", f->queries, "Queries to run in batch: BEIR queries.jsonl, TREC topics or SMART .QRY (auto-detected)");
  cmd->add_option("--qrels", f->qrels, "Only run the queries judged in this qrels file (BEIR TSV, TREC, cranqrel, CISI/MED .REL, qid docid 0 0)");
  cmd->add_option("--qrels-format", f->qrels_format, "auto, trec, beir, cranfield, cisi or qid-docid")->capture_default_str();
  cmd->add_option("--run-out", f->run_out, "TREC run file to write (batch mode)");
  cmd->add_option("--tag", f->tag, "Run tag (last column of the run)")->capture_default_str();
  cmd->add_flag("--json", f->json, "JSON output (one object per query)");
  cmd->add_flag("--warmup", f->warmup, "Batch mode: run the queries once untimed before the timed pass (warm latency)");
  cmd->callback([f] { run(*f); });
}

}  // namespace rerank::cli

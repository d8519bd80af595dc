// rerank._rerank: collections, two-stage search and evaluation (include/rerank/collection.hpp, pipeline.hpp,
// reranker.hpp, eval.hpp). A Collection is not thread-safe: calls on one object are serialized by a mutex, taken
// after the GIL is released.
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <tuple>

#include "bindings.hpp"
#include "engine.hpp"
#include "search.hpp"
#include "rerank/collection.hpp"
#include "rerank/eval.hpp"
#include "rerank/pipeline.hpp"
#include "rerank/reranker.hpp"

namespace nb = nanobind;

namespace rerank::python {
namespace {

using DocTuple = std::tuple<std::string, std::string, std::string, std::string>;  // id, title, text, metadata JSON

class PyCollection {
 public:
  PyCollection(const std::string& dir, const std::string& bi_encoder, size_t threads, const std::string& precision) {
    nb::gil_scoped_release unlocked;
    collection_ = std::make_unique<Collection>(Collection::open_or_create(dir));
    backend_.engine = engine_options(threads, precision);
    if (!bi_encoder.empty()) collection_->set_embedder(make_embedder(bi_encoder, backend_));
  }

  nb::dict add(std::vector<DocTuple> docs, bool replace) {
    std::vector<Document> batch;
    batch.reserve(docs.size());
    for (auto& [id, title, text, metadata] : docs) batch.push_back({std::move(id), std::move(title), std::move(text), std::move(metadata)});
    AddResult r;
    {
      nb::gil_scoped_release unlocked;
      std::lock_guard<std::mutex> lock(mu_);
      r = collection_->add(batch, replace ? AddMode::Replace : AddMode::SkipExisting);
    }
    return result_dict(r);
  }

  static nb::dict result_dict(const AddResult& r) {
    nb::dict d;
    d["added"] = r.added;
    d["replaced"] = r.replaced;
    d["skipped"] = r.skipped;
    d["passages"] = r.passages;
    return d;
  }

  /// Files (read_documents' formats) in batches of `batch`, one transaction each, pipelined as `rerank index`
  /// (Collection::add_batches). Ctrl-C is checked after each commit: the collection keeps the whole batches.
  nb::dict add_files(const std::vector<std::string>& files, const std::string& format, size_t batch, bool replace) {
    const DocumentFormat fmt = parse_format(format);
    if (batch == 0) throw InputError("batch_size must be at least 1");
    for (const auto& f : files)
      if (!std::filesystem::is_regular_file(f)) throw InputError(f + ": no such file");
    AddResult r;
    {
      nb::gil_scoped_release unlocked;
      std::lock_guard<std::mutex> lock(mu_);
      r = collection_->add_batches(
          [&](const Collection::BatchSink& sink) {
            for (const auto& f : files) read_documents(f, fmt, batch, sink);
          },
          replace ? AddMode::Replace : AddMode::SkipExisting,
          [](const AddResult&, const ReadProgress&) {
            nb::gil_scoped_acquire gil;
            if (PyErr_CheckSignals() != 0) throw nb::python_error();
          });
    }
    return result_dict(r);
  }

  /// The final ranking as the CLI's --json items (rank, id, passage, score, first_stage_rank, first_stage_score)
  /// plus the passage's text. `reranker`: None, a model spec (directory, Hub id, cohere:MODEL) or a CrossEncoder
  /// engine (with its max_length).
  nb::list search(const std::string& query, size_t k, const std::string& retriever, nb::object reranker,
                  size_t max_length, size_t top_n, bool per_passage) {
    PipelineOptions po;
    po.retriever = parse_retriever(retriever);
    po.k = k;
    po.top_n = top_n;
    po.per_passage = per_passage;
    SecondStage second(reranker, max_length);
    Ranking r;
    {
      nb::gil_scoped_release unlocked;
      std::lock_guard<std::mutex> lock(mu_);
      if (po.retriever != Retriever::Bm25 && !collection_->embedder()) attach_recorded_embedder();
      r = run_search(collection_first_stage(*collection_), po, rerankers_.get(second, backend_), query);
    }
    return ranking_list(r);
  }

  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return collection_->size();
  }
  std::vector<std::string> ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return collection_->ids();
  }
  std::string directory() const { return collection_->directory().string(); }

 private:
  void attach_recorded_embedder() {
    const std::string id = collection_->stats().embedder;
    if (id.empty())
      throw InputError("collection " + collection_->directory().string() +
                       " has no embeddings: create it with bi_encoder=... for dense/hybrid search");
    collection_->set_embedder(embedder_from_identity(id, backend_));
  }

  std::unique_ptr<Collection> collection_;
  BackendOptions backend_;
  RerankerCache rerankers_;
  std::mutex mu_;
};

eval::Qrels to_qrels(const std::map<std::string, std::map<std::string, int>>& q) {
  eval::Qrels out;
  for (const auto& [qid, docs] : q)
    for (const auto& [doc, rel] : docs) out.add(qid, doc, rel);
  return out;
}

eval::Run to_run(const std::map<std::string, std::map<std::string, double>>& r) {
  eval::Run out("run");
  for (const auto& [qid, docs] : r)
    for (const auto& [doc, score] : docs) out.add(qid, doc, score);
  return out;
}

/// {metric: mean}, {metric: {qid: value}} (trec_eval's averaging: queries in both the run and the qrels).
nb::tuple evaluate_(const eval::Qrels& qrels, const eval::Run& run, const std::string& metrics, int relevance_level) {
  eval::Options o;
  o.relevance_level = relevance_level;
  auto ev = eval::evaluate(qrels, run, eval::parse_metrics(metrics), o);
  nb::dict means, per_query;
  for (size_t m = 0; m < ev.metrics.size(); ++m) {
    means[ev.metrics[m].name.c_str()] = ev.mean(m);
    nb::dict q;
    for (size_t i = 0; i < ev.query_ids.size(); ++i) q[ev.query_ids[i].c_str()] = ev.values[m][i];
    per_query[ev.metrics[m].name.c_str()] = q;
  }
  return nb::make_tuple(means, per_query);
}

}  // namespace

void bind_collection(nb::module_& m) {
  nb::class_<PyCollection>(m, "Collection", "A persistent document collection (BM25 + vectors); calls are serialized.")
      .def(nb::init<const std::string&, const std::string&, size_t, const std::string&>(), nb::arg("directory"),
           nb::arg("bi_encoder") = "", nb::arg("threads") = 0, nb::arg("precision") = "fp32")
      .def("add", &PyCollection::add, nb::arg("documents"), nb::arg("replace") = false,
           "documents: (id, title, text, metadata JSON) tuples, one transaction")
      .def("add_files", &PyCollection::add_files, nb::arg("files"), nb::arg("format") = "auto", nb::arg("batch_size") = 256,
           nb::arg("replace") = false, "documents read from files, one transaction per batch, pipelined")
      .def("search", &PyCollection::search, nb::arg("query"), nb::arg("k") = 50, nb::arg("retriever") = "bm25",
           nb::arg("reranker").none() = nb::none(), nb::arg("max_length") = 0, nb::arg("top_n") = 5,
           nb::arg("per_passage") = false)
      .def("size", &PyCollection::size)
      .def("ids", &PyCollection::ids)
      .def_prop_ro("directory", &PyCollection::directory);
  m.def(
      "evaluate_files",
      [](const std::string& qrels, const std::string& run, const std::string& metrics, int level) {
        return evaluate_(eval::read_qrels(qrels), eval::read_run(run), metrics, level);
      },
      nb::arg("qrels"), nb::arg("run"), nb::arg("metrics"), nb::arg("relevance_level") = 1);
  m.def(
      "evaluate",
      [](const std::map<std::string, std::map<std::string, int>>& qrels,
         const std::map<std::string, std::map<std::string, double>>& run, const std::string& metrics, int level) {
        return evaluate_(to_qrels(qrels), to_run(run), metrics, level);
      },
      nb::arg("qrels"), nb::arg("run"), nb::arg("metrics"), nb::arg("relevance_level") = 1);
}

}  // namespace rerank::python

// rerank._rerank: an OpenSearch index as the first stage and bulk loading into it (include/rerank/opensearch.hpp),
// the Python side of `rerank search/index --opensearch URL --index NAME`. Calls on one object are serialized by a
// mutex (the first stage holds one HTTP connection), taken after the GIL is released.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <tuple>

#include "bindings.hpp"
#include "engine.hpp"
#include "rerank/opensearch.hpp"
#include "search.hpp"

namespace nb = nanobind;

namespace rerank::python {
namespace {

using DocTuple = std::tuple<std::string, std::string, std::string, std::string>;  // id, title, text, metadata JSON

class PyOpenSearch {
 public:
  /// `create`: make the index when missing (OpenSearchLoader: the mapping of rerank/opensearch.hpp, with a vector
  /// field when there is a bi-encoder); else it must exist. Empty strings: $RERANK_OPENSEARCH_*.
  PyOpenSearch(const OpenSearchOptions& options, const std::string& bi_encoder, size_t threads, const std::string& precision,
               bool create) {
    options_ = options.with_environment();  // InputError for a bad URL, index name, timeout ...
    backend_.engine = engine_options(threads, precision);
    nb::gil_scoped_release unlocked;
    if (!bi_encoder.empty()) embedder_ = make_embedder(bi_encoder, backend_);
    if (create) loader_ = std::make_unique<OpenSearchLoader>(options_, embedder_);
    stage_ = open_opensearch(options_, embedder_, backend_.engine);  // reads the mapping: the index must exist
  }

  nb::dict add(std::vector<DocTuple> docs, bool replace) {
    std::vector<Document> batch;
    batch.reserve(docs.size());
    for (auto& [id, title, text, metadata] : docs) batch.push_back({std::move(id), std::move(title), std::move(text), std::move(metadata)});
    OpenSearchLoadResult sum;
    {
      nb::gil_scoped_release unlocked;
      std::lock_guard<std::mutex> lock(mu_);
      add_batch(batch, replace, sum);
      loader().refresh();
    }
    return result_dict(sum);
  }

  /// Files (read_documents' formats) in batches of `batch`, one _mget + _bulk each, as `rerank index --to
  /// opensearch`; Ctrl-C is checked after each batch (the batches sent stay; calling again skips them).
  nb::dict add_files(const std::vector<std::string>& files, const std::string& format, size_t batch, bool replace) {
    const DocumentFormat fmt = parse_format(format);
    if (batch == 0) throw InputError("batch_size must be at least 1");
    for (const auto& f : files)
      if (!std::filesystem::is_regular_file(f)) throw InputError(f + ": no such file");
    OpenSearchLoadResult sum;
    {
      nb::gil_scoped_release unlocked;
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& f : files)
        read_documents(f, fmt, batch, [&](std::vector<Document>& docs, const ReadProgress&) {
          add_batch(docs, replace, sum);
          nb::gil_scoped_acquire gil;
          if (PyErr_CheckSignals() != 0) throw nb::python_error();
        });
      loader().refresh();
    }
    return result_dict(sum);
  }

  nb::list search(const std::string& query, size_t k, const std::string& retriever, nb::object reranker,
                  size_t max_length, size_t top_n) {
    PipelineOptions po;
    po.retriever = parse_retriever(retriever == "opensearch" ? "bm25" : retriever);
    po.k = k;
    po.top_n = top_n;
    SecondStage second(reranker, max_length);
    Ranking r;
    {
      nb::gil_scoped_release unlocked;
      std::lock_guard<std::mutex> lock(mu_);
      r = run_search(stage_, po, rerankers_.get(second, backend_), query);
    }
    return ranking_list(r);
  }

  size_t size() {
    nb::gil_scoped_release unlocked;
    std::lock_guard<std::mutex> lock(mu_);
    return stage_->size();
  }
  std::string url() const { return options_.url; }
  std::string index() const { return options_.index; }

 private:
  OpenSearchLoader& loader() {  // with mu_ held
    if (!loader_) loader_ = std::make_unique<OpenSearchLoader>(options_, embedder_);
    return *loader_;
  }
  void add_batch(std::vector<Document>& docs, bool replace, OpenSearchLoadResult& sum) {
    OpenSearchLoadResult r = loader().add(docs, replace ? AddMode::Replace : AddMode::SkipExisting);
    sum.added += r.added, sum.replaced += r.replaced, sum.skipped += r.skipped, sum.retried += r.retried;
  }
  static nb::dict result_dict(const OpenSearchLoadResult& r) {
    nb::dict d;
    d["added"] = r.added;
    d["replaced"] = r.replaced;
    d["skipped"] = r.skipped;
    d["retried"] = r.retried;
    return d;
  }

  OpenSearchOptions options_;
  BackendOptions backend_;
  std::shared_ptr<Embedder> embedder_;
  std::unique_ptr<OpenSearchLoader> loader_;
  std::shared_ptr<FirstStage> stage_;
  RerankerCache rerankers_;
  std::mutex mu_;
};

}  // namespace

void bind_opensearch(nb::module_& m) {
  nb::class_<PyOpenSearch>(m, "OpenSearch", "An OpenSearch index as the first stage; calls are serialized.")
      .def(
          "__init__",
          [](PyOpenSearch* self, const std::string& url, const std::string& index, const std::string& user,
             const std::string& password, const std::string& api_key, const std::string& ca_cert, bool insecure,
             double timeout, int max_attempts, size_t shards, size_t replicas, const std::string& bi_encoder, size_t threads,
             const std::string& precision, bool create) {
            OpenSearchOptions o;
            o.url = url, o.index = index, o.user = user, o.password = password, o.api_key = api_key, o.ca_cert = ca_cert;
            o.insecure = insecure, o.timeout_seconds = timeout, o.max_attempts = max_attempts;
            o.shards = shards, o.replicas = replicas;
            new (self) PyOpenSearch(o, bi_encoder, threads, precision, create);
          },
          nb::arg("url"), nb::arg("index"), nb::arg("user") = "", nb::arg("password") = "", nb::arg("api_key") = "",
          nb::arg("ca_cert") = "", nb::arg("insecure") = false, nb::arg("timeout") = 0.0, nb::arg("max_attempts") = 5,
          nb::arg("shards") = 1, nb::arg("replicas") = 0, nb::arg("bi_encoder") = "", nb::arg("threads") = 0,
          nb::arg("precision") = "fp32", nb::arg("create") = false)
      .def("add", &PyOpenSearch::add, nb::arg("documents"), nb::arg("replace") = false,
           "documents: (id, title, text, metadata JSON) tuples, one _bulk request, then a refresh")
      .def("add_files", &PyOpenSearch::add_files, nb::arg("files"), nb::arg("format") = "auto", nb::arg("batch_size") = 500,
           nb::arg("replace") = false)
      .def("search", &PyOpenSearch::search, nb::arg("query"), nb::arg("k") = 50, nb::arg("retriever") = "bm25",
           nb::arg("reranker").none() = nb::none(), nb::arg("max_length") = 0, nb::arg("top_n") = 5)
      .def("size", &PyOpenSearch::size)
      .def_prop_ro("url", &PyOpenSearch::url)
      .def_prop_ro("index", &PyOpenSearch::index);
}

}  // namespace rerank::python

// rerank._rerank: Model, CrossEncoder and BiEncoder (include/rerank/model.hpp, cross_encoder.hpp, bi_encoder.hpp).
//
// Behaviour the Python API promises (python/rerank/*.py document it for users):
//  - the GIL is released while texts are tokenized and run through the model, so threads with their own encoder
//    run in parallel;
//  - one encoder object may be used from several Python threads: the C++ encoder is not thread-safe (per-thread
//    scratch), so calls on one object are serialized by a mutex (taken after the GIL is released: no deadlock);
//  - inputs are processed in chunks of batch_size; between chunks the GIL is taken back and pending signals are
//    handled (PyErr_CheckSignals), so Ctrl-C stops a long predict/encode within one batch with KeyboardInterrupt.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include "bindings.hpp"
#include "engine.hpp"
#include "rerank/bi_encoder.hpp"
#include "rerank/cross_encoder.hpp"
#include "rerank/error.hpp"
#include "rerank/model.hpp"

namespace nb = nanobind;

namespace rerank::python {
namespace {

using PyBiEncoder = Engine<BiEncoder>;

using Matrix = nb::ndarray<nb::numpy, float, nb::ndim<2>>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

/// A float32 numpy array of shape (rows, cols) that owns `data`.
Matrix to_numpy(std::vector<float>&& data, size_t rows, size_t cols) {
  auto* owned = new std::vector<float>(std::move(data));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<float>*>(p); });
  return Matrix(owned->data(), {rows, cols}, owner);
}

/// (logits, scores), each (n, num_labels) float32; scores use the model's activation.
nb::tuple predict(PyCrossEncoder& self, Pairs pairs, size_t max_length, long long batch_size, const std::string& template_name,
                  const std::string& instruction) {
  const size_t bs = check_batch_size(batch_size);
  PredictOptions options;
  options.max_length = max_length;
  options.template_name = template_name;
  options.instruction = instruction;
  const size_t n = pairs.size(), nl = static_cast<size_t>(self.info().num_labels);
  std::vector<float> logits(n * nl), scores(n * nl);
  chunked(n, bs, self.mu(), [&](size_t begin, size_t end) {
    Pairs chunk(std::make_move_iterator(pairs.begin() + begin), std::make_move_iterator(pairs.begin() + end));
    auto preds = self.at_batch_size(bs).predict(chunk, options);
    for (size_t i = 0; i < preds.size(); ++i) {
      std::copy(preds[i].logits.begin(), preds[i].logits.end(), logits.begin() + (begin + i) * nl);
      std::copy(preds[i].scores.begin(), preds[i].scores.end(), scores.begin() + (begin + i) * nl);
    }
  });
  return nb::make_tuple(to_numpy(std::move(logits), n, nl), to_numpy(std::move(scores), n, nl));
}

Matrix encode(PyBiEncoder& self, std::vector<std::string> texts, size_t max_length, long long batch_size) {
  const size_t bs = check_batch_size(batch_size);
  const size_t n = texts.size(), dim = static_cast<size_t>(self.info().embedding_dim());
  std::vector<float> out(n * dim);
  chunked(n, bs, self.mu(), [&](size_t begin, size_t end) {
    std::vector<std::string> chunk(std::make_move_iterator(texts.begin() + begin), std::make_move_iterator(texts.begin() + end));
    auto e = self.at_batch_size(bs).encode(chunk, {max_length});
    for (size_t i = 0; i < e.size(); ++i) {
      if (e[i].size() != dim) throw Error("embedding of size " + std::to_string(e[i].size()) + ", expected " + std::to_string(dim));
      std::copy(e[i].begin(), e[i].end(), out.begin() + (begin + i) * dim);
    }
  });
  return to_numpy(std::move(out), n, dim);
}

void bind_model(nb::module_& m) {
  nb::class_<ModelHandle>(m, "Model", "An immutable model loaded from a directory; share it between encoders.")
      .def_static(
          "load",
          [](const std::string& dir) {
            nb::gil_scoped_release unlocked;
            return ModelHandle{Model::load(dir)};
          },
          nb::arg("directory"))
      .def_prop_ro("directory", [](const ModelHandle& h) { return h.model->info().directory.string(); })
      .def_prop_ro("architecture", [](const ModelHandle& h) { return h.model->info().architecture; })
      .def_prop_ro("has_classifier", [](const ModelHandle& h) { return h.model->info().has_classifier; })
      .def_prop_ro("num_labels", [](const ModelHandle& h) { return h.model->info().num_labels; })
      .def_prop_ro("activation", [](const ModelHandle& h) { return std::string(activation_name(h.model->info().activation)); })
      .def_prop_ro("max_length", [](const ModelHandle& h) { return h.model->info().max_length; })
      .def_prop_ro("max_position_embeddings", [](const ModelHandle& h) { return h.model->info().max_position_embeddings; })
      .def_prop_ro("hidden_size", [](const ModelHandle& h) { return h.model->info().hidden_size; })
      .def_prop_ro("embedding_dim", [](const ModelHandle& h) { return h.model->info().embedding_dim(); })
      .def_prop_ro("pooling", [](const ModelHandle& h) { return h.model->info().pooling; })
      .def_prop_ro("normalize", [](const ModelHandle& h) { return h.model->info().normalize; })
      .def(
          "encode",
          [](const ModelHandle& h, const std::string& text, size_t max_length) {
            Encoding e = h.model->tokenizer().encode(text, max_length);
            return nb::make_tuple(e.ids, e.type_ids);
          },
          nb::arg("text"), nb::arg("max_length") = 0, "(input_ids, token_type_ids) of one text; max_length 0: no truncation")
      .def(
          "encode_pair",
          [](const ModelHandle& h, const std::string& a, const std::string& b, size_t max_length) {
            Encoding e = h.model->tokenizer().encode_pair(a, b, max_length);
            return nb::make_tuple(e.ids, e.type_ids);
          },
          nb::arg("a"), nb::arg("b"), nb::arg("max_length") = 0, "(input_ids, token_type_ids) of a pair");
}

}  // namespace

void bind_encoders(nb::module_& m) {
  bind_model(m);
  m.def("precision_names", [] { return std::vector<std::string>{"fp32", "bf16", "int8"}; });
  nb::class_<PyCrossEncoder>(m, "CrossEncoder", "Scores (query, document) pairs; calls on one object are serialized.")
      .def(nb::init<const ModelHandle&, size_t, const std::string&>(), nb::arg("model"), nb::arg("threads") = 0,
           nb::arg("precision") = "fp32")
      .def("predict", &predict, nb::arg("pairs"), nb::arg("max_length") = 0, nb::arg("batch_size") = 32,
           nb::arg("template_name") = "auto", nb::arg("instruction") = "",
           "(logits, scores): float32 arrays (n, num_labels); max_length 0 = the model's default; template_name "
           "auto | qwen3-reranker | none and instruction as PredictOptions")
      .def_prop_ro("threads", &PyCrossEncoder::threads);
  nb::class_<PyBiEncoder>(m, "BiEncoder", "Embeds texts; calls on one object are serialized.")
      .def(nb::init<const ModelHandle&, size_t, const std::string&>(), nb::arg("model"), nb::arg("threads") = 0,
           nb::arg("precision") = "fp32")
      .def("encode", &encode, nb::arg("texts"), nb::arg("max_length") = 0, nb::arg("batch_size") = 32,
           "float32 array (n, dim); max_length 0 = the model's max_seq_length")
      .def_prop_ro("threads", &PyBiEncoder::threads);
}

}  // namespace rerank::python

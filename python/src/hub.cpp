// rerank._rerank: models from a directory or the Hugging Face Hub (include/rerank/hub.hpp).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "bindings.hpp"
#include "rerank/hub.hpp"

namespace nb = nanobind;

namespace rerank::python {

void bind_hub(nb::module_& m) {
  m.def(
      "resolve_model",
      [](const std::string& id_or_path, const std::string& revision, bool offline, const std::string& cache_dir,
         const std::string& token) {
        PullOptions o;
        o.revision = revision;
        o.offline = offline;
        o.cache_dir = cache_dir;
        o.token = token;
        o.progress = PullOptions::ProgressBar::Never;
        nb::gil_scoped_release unlocked;  // may download
        return resolve_model(id_or_path, o).string();
      },
      nb::arg("id_or_path"), nb::arg("revision") = "main", nb::arg("offline") = false, nb::arg("cache_dir") = "",
      nb::arg("token") = "", "A model directory as is, or the snapshot directory of a Hub id ORG/NAME[@REVISION].");
  m.def("is_hub_repo_id", &is_hub_repo_id, nb::arg("id"), "Whether `id` is a valid Hub repo id ORG/NAME.");
}

}  // namespace rerank::python

// The parts of rerank._rerank, one file each; module.cpp calls them in order.
#pragma once
#include <nanobind/nanobind.h>

namespace rerank::python {

void bind_hub(nanobind::module_& m);         // hub.cpp: resolve_model, is_hub_repo_id
void bind_encoders(nanobind::module_& m);    // encoders.cpp: Model, CrossEncoder, BiEncoder
void bind_collection(nanobind::module_& m);  // collection.cpp: Collection, evaluate
void bind_opensearch(nanobind::module_& m);  // opensearch.cpp: OpenSearch

}  // namespace rerank::python

// routes_ready.cpp — readiness (GET /ready, alias /readyz), distinct from liveness (GET /health).
//
// /health answers 200 whenever the process serves HTTP: a liveness probe that fails only when the process hangs.
// /ready answers 200 only when requests get full speed: every model's scheduler ran its warm-up pass, and the
// server is not draining (SIGTERM in `rerank serve`, Server::drain()); else 503 with
// {"status": "starting" | "draining" | "failed", "message": ...} and Retry-After: 1. Load balancers and Kubernetes
// readiness probes use it to send traffic only to replicas that are warm and staying.
#include "server/state.hpp"

namespace rerank::server {

Readiness readiness(const State& st) {
  if (st.draining.load()) return {"draining", "the server is shutting down; in-flight requests finish"};
  for (const auto& m : st.models) {
    if (!m->scheduler->warmed()) return {"starting", "model '" + m->name + "' is warming up"};
    const std::string err = m->scheduler->warmup_error();
    if (!err.empty()) return {"failed", "the warm-up pass of model '" + m->name + "' failed: " + err};
  }
  return {"ready", ""};
}

void register_ready_routes(Routes& http, State& st) {
  auto handler = [&st](const httplib::Request&, httplib::Response& res) {
    const Readiness r = readiness(st);
    OJson j;
    j["status"] = r.status;
    if (!r.ready()) {
      j["message"] = r.message;
      res.set_header("Retry-After", "1");
    }
    reply(res, j, r.ready() ? 200 : 503);
  };
  http.Get("/ready", handler);
  http.Get("/readyz", handler);
}

}  // namespace rerank::server

// access_log.cpp — after every response: one JSON line (method, path, status, ms, model, batch info) on stderr
// or to ServerOptions::log, and the request metrics.
#include <cstdio>
#include <ctime>
#include <set>

#include "server/http_setup.hpp"

namespace rerank::server {

namespace {

const std::set<std::string>& known_routes() {
  static const std::set<std::string> r = {"/v2/rerank", "/v1/rerank", "/rerank",         "/embed",      "/predict",
                                          "/tokenize",  "/info",      "/health",         "/metrics",    "/v1/embeddings",
                                          "/embeddings", "/v1/models", "/search", "/ready", "/readyz"};
  return r;
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

void install_access_log(httplib::Server& http, State& st) {
  http.set_logger([&st](const httplib::Request& req, const httplib::Response& res) {
    RequestContext& ctx = request_context();
    const double secs = ctx.active ? std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.start).count() : 0.0;
    const std::string route = known_routes().count(req.path) ? req.path : "other";
    st.metrics.observe_request(route, res.status, secs);
    if (st.options.access_log) {
      OJson j;
      j["time"] = utc_now();
      j["remote"] = req.remote_addr;
      j["method"] = req.method;
      j["path"] = req.path;
      j["status"] = res.status;
      j["ms"] = std::round(secs * 1e5) / 100.0;
      j["bytes_in"] = req.body.size();
      if (!ctx.model.empty()) j["model"] = ctx.model;
      if (ctx.batched) {
        j["tokens"] = ctx.batch.tokens;
        j["batches"] = ctx.batch.batches;
        j["batch_requests"] = ctx.batch.max_batch_requests;
        j["batch_size"] = ctx.batch.max_batch_pairs;
        j["queue_ms"] = std::round(ctx.batch.queue_ms * 100) / 100.0;
      }
      std::string line = dump(j);
      if (st.options.log) {
        st.options.log(line);
      } else {
        line.push_back('\n');
        std::fwrite(line.data(), 1, line.size(), stderr);
      }
    }
    ctx = RequestContext{};
  });
}

}  // namespace rerank::server

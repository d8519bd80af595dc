// Fuzz target: every HTTP route's request body, the route handlers called directly (no socket) on the state
// `rerank serve` builds (server::init_state + server::register_routes): a cross-encoder and a bi-encoder from
// tests/data/encoders and a BM25 collection of tests/data/retrieval/corpus.jsonl for /search.
// Byte 0 picks the route; the rest is the body. A malformed body must give a 4xx with a JSON message: a 500
// (an exception no validation caught) or a 507 (bad_alloc) is a finding.
#include <map>

#include <nlohmann/json.hpp>

#include "fuzz_common.hpp"
#include "rerank/collection.hpp"
#include "server/state.hpp"

namespace {

struct Table : rerank::server::Routes {
  std::map<std::string, httplib::Server::Handler> handlers;  // "METHOD path"
  void Get(const std::string& path, httplib::Server::Handler h) override { handlers["GET " + path] = std::move(h); }
  void Post(const std::string& path, httplib::Server::Handler h) override { handlers["POST " + path] = std::move(h); }
};

struct Served {
  rerank::server::State st;
  Table table;
  Served() {
    const std::filesystem::path data(RERANK_TEST_DATA);
    const auto coll = std::filesystem::temp_directory_path() / ("rerank-fuzz-server-" + std::to_string(::getpid()));
    std::filesystem::remove_all(coll);
    {
      auto c = rerank::Collection::open_or_create(coll);
      rerank::read_documents(data / "retrieval" / "corpus.jsonl", rerank::DocumentFormat::Auto, 100,
                             [&](std::vector<rerank::Document>& b, const rerank::ReadProgress&) { c.add(b); });
    }
    rerank::ServerOptions o;
    o.models = {(data / "encoders/models/ce-tiny").string(), (data / "encoders/models/bi-tiny-mean").string()};
    o.collection = coll.string();
    o.collection_workers = 1;
    o.threads = 1;
    o.access_log = false;
    o.max_documents = 32;
    o.max_request_tokens = 8192;
    rerank::server::init_state(st, o);
    rerank::server::register_routes(table, st);
  }
};

const char* const kRoutes[] = {"POST /v2/rerank", "POST /v1/rerank",      "POST /rerank", "POST /embed",
                               "POST /predict",   "POST /tokenize",       "POST /v1/embeddings",
                               "POST /embeddings", "POST /search",        "GET /info",    "GET /v1/models",
                               "GET /metrics"};

Served* served = nullptr;  // never destroyed: its scheduler threads run until exit

}  // namespace

// Loading the models and indexing the collection: before the first input, not counted in its time limit.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  served = new Served();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string route = kRoutes[data[0] % (sizeof kRoutes / sizeof kRoutes[0])];
  auto it = served->table.handlers.find(route);
  if (it == served->table.handlers.end()) __builtin_trap();
  httplib::Request req;
  req.method = route.substr(0, route.find(' '));
  req.path = route.substr(route.find(' ') + 1);
  req.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  req.headers.emplace("Content-Type", "application/json");
  httplib::Response res;
  it->second(req, res);
  if (res.status >= 500) {
    fprintf(stderr, "%s -> HTTP %d: %s\n", route.c_str(), res.status, res.body.c_str());
    __builtin_trap();
  }
  if (res.get_header_value("Content-Type") == "application/json" &&
      nlohmann::json::parse(res.body, nullptr, false).is_discarded())
    __builtin_trap();
  return 0;
}

// Readiness (GET /ready, /readyz) against liveness (GET /health), and draining (Server::drain): the server in-process
// on an ephemeral loopback port with the fixture models, the warm-up pass and a batch held by the test hooks.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>

#include "rerank/server.hpp"
#include "test_util.hpp"

using nlohmann::json;

namespace {

const std::string kCe = rerank::test::data("encoders/models/ce-tiny").string();
const std::string kBi = rerank::test::data("encoders/models/bi-tiny-mean").string();
const char* kRerankBody = R"({"query": "reset password", "documents": ["Click Forgot Password.", "Office hours"]})";

rerank::ServerOptions options() { return rerank::test::server_options({kCe, kBi}); }

httplib::Client client(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(20, 0);
  c.set_connection_timeout(5, 0);
  return c;
}

// GET path: status and the "status" field of the JSON body ("" when the body is not JSON).
std::pair<int, std::string> probe(int port, const std::string& path, const httplib::Headers& h = {}) {
  auto c = client(port);
  auto r = c.Get(path.c_str(), h);
  if (!r) return {-1, httplib::to_string(r.error())};
  const json j = json::parse(r->body, nullptr, false);
  return {r->status, j.is_object() && j.contains("status") ? j["status"].get<std::string>() : ""};
}

// Polls /ready until it answers `status` (up to 10 s).
bool wait_ready(int port, int status) {
  for (int i = 0; i < 1000; ++i) {
    if (probe(port, "/ready").first == status) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// A gate the scheduler-thread hooks wait at until the test opens it.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> arrived{0};
  void wait() {
    ++arrived;
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return open; });
  }
  void release() {
    {
      std::lock_guard<std::mutex> g(mu);
      open = true;
    }
    cv.notify_all();
  }
};

TEST(ServerReady, AnswersStartingUntilEveryModelRanItsWarmupPass) {
  Gate gate;
  auto o = options();
  o.before_warmup = [&] { gate.wait(); };
  rerank::Server server(o);
  const int port = server.start();
  // Both schedulers (cross-encoder, bi-encoder) are held before their warm-up pass.
  while (gate.arrived < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto c = client(port);
  auto r = c.Get("/ready");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  const json j = json::parse(r->body);
  EXPECT_EQ(j["status"], "starting");
  EXPECT_NE(j["message"].get<std::string>().find("warming up"), std::string::npos) << r->body;
  EXPECT_EQ(probe(port, "/readyz"), std::make_pair(503, std::string("starting")));
  EXPECT_FALSE(server.ready());
  // Liveness is independent of readiness.
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  gate.release();
  ASSERT_TRUE(wait_ready(port, 200));
  EXPECT_EQ(probe(port, "/ready"), std::make_pair(200, std::string("ready")));
  EXPECT_EQ(probe(port, "/readyz"), std::make_pair(200, std::string("ready")));
  EXPECT_TRUE(server.ready());
  EXPECT_EQ(gate.arrived.load(), 2);  // one warm-up pass per model
  // The warm-up pass is not a request: no batch counted.
  EXPECT_EQ(server.stats().batches, 0u);
  auto p = c.Post("/v2/rerank", kRerankBody, "application/json");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 200) << p->body;
}

TEST(ServerReady, WithoutWarmupReadyAtOnce) {
  std::atomic<int> calls{0};
  auto o = options();
  o.warmup = false;
  o.before_warmup = [&] { ++calls; };
  rerank::Server server(o);
  const int port = server.start();
  EXPECT_EQ(probe(port, "/ready"), std::make_pair(200, std::string("ready")));
  EXPECT_EQ(calls.load(), 0);
}

TEST(ServerReady, FailedWarmupKeepsReadinessDown) {
  auto o = options();
  o.models = {kCe};
  o.before_warmup = [] { throw std::runtime_error("no memory for the scratch buffers"); };
  rerank::Server server(o);
  const int port = server.start();
  ASSERT_TRUE(wait_ready(port, 503));
  for (int i = 0; i < 500 && probe(port, "/ready").second != "failed"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto c = client(port);
  auto r = c.Get("/ready");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  const json j = json::parse(r->body);
  EXPECT_EQ(j["status"], "failed");
  const std::string msg = j["message"];
  EXPECT_NE(msg.find("ce-tiny"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no memory for the scratch buffers"), std::string::npos) << msg;
  // Liveness stays up and requests are still tried.
  EXPECT_EQ(c.Get("/health")->status, 200);
  auto p = c.Post("/v2/rerank", kRerankBody, "application/json");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 200) << p->body;
}

TEST(ServerReady, ProbesNeedNoApiKey) {
  auto o = options();
  o.api_key = "sekret";
  rerank::Server server(o);
  const int port = server.start();
  ASSERT_TRUE(wait_ready(port, 200));
  EXPECT_EQ(probe(port, "/readyz").first, 200);
  EXPECT_EQ(probe(port, "/health").first, 200);
  EXPECT_EQ(probe(port, "/info").first, 401);  // the other routes still do
}

TEST(ServerDrain, ReadinessDropsWhileRequestsAreStillServedThenInFlightOnesFinish) {
  Gate gate;
  std::atomic<bool> hold{false};
  auto o = options();
  o.before_batch = [&] {
    if (hold) gate.wait();
  };
  rerank::Server server(o);
  const int port = server.start();
  ASSERT_TRUE(wait_ready(port, 200));

  // Draining: /ready turns 503 at once, /health stays 200, and a request on a new connection is still answered,
  // asking the client to close the connection.
  server.drain();
  EXPECT_FALSE(server.ready());
  EXPECT_EQ(probe(port, "/ready"), std::make_pair(503, std::string("draining")));
  EXPECT_EQ(probe(port, "/health").first, 200);
  {
    auto c = client(port);
    auto r = c.Post("/v2/rerank", kRerankBody, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Connection"), "close");
    EXPECT_EQ(json::parse(r->body)["results"].size(), 2u);
  }

  // A request in flight (held in its batch) when stop() is called still gets its answer; stop() waits for it.
  hold = true;
  int status = 0;
  std::thread in_flight([&] {
    auto c = client(port);
    auto r = c.Post("/v2/rerank", kRerankBody, "application/json");
    status = r ? r->status : -1;
  });
  while (gate.arrived == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server.stop();
    stopped = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(stopped.load());  // still waiting for the request in flight
  gate.release();
  in_flight.join();
  stopper.join();
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(stopped.load());
  auto c = client(port);
  c.set_connection_timeout(1, 0);
  EXPECT_FALSE(c.Get("/health"));  // no longer listening
}

}  // namespace

// The shared HTTP client (src/clients/http_client.hpp) against local servers: 429 + Retry-After then 200, 5xx
// retried then given up with the body's message, a server slower than the timeout, 4xx not retried, refused
// connections, streaming, and the helpers (Retry-After parsing, error-body messages, backoff, base URLs).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <thread>

#include "clients/http_client.hpp"
#include "local_server.hpp"
#include "test_util.hpp"

using rerank::RemoteError;
using rerank::test::LocalServer;
using rerank::test::error_of;
using rerank::test::seconds_since;
namespace http = rerank::http;

namespace {

http::Policy fast(int attempts, double timeout = 5) {
  http::Policy p;
  p.timeout_seconds = timeout;
  p.max_attempts = attempts;
  p.backoff_seconds = 0.01;
  return p;
}

}  // namespace

TEST(HttpClient, RetriesA429HonouringRetryAfter) {
  std::atomic<int> calls{0};
  LocalServer srv([&](httplib::Server& s) {
    s.Post("/v1/thing", [&](const httplib::Request& req, httplib::Response& res) {
      if (++calls == 1) {
        res.status = 429;
        res.set_header("Retry-After", "1");
        res.set_content(R"({"message": "too many requests"})", "application/json");
        return;
      }
      EXPECT_EQ(req.get_header_value("Content-Type"), "application/json");
      EXPECT_EQ(req.get_header_value("Authorization"), "Bearer k");
      res.set_content(R"({"ok": true, "echo": )" + req.body + "}", "application/json");
    });
  });
  http::Client c(fast(3), "test service");
  const auto t0 = std::chrono::steady_clock::now();
  http::Response r = c.post_json(srv.url() + "/v1/thing", R"({"x": 1})", http::bearer("k"));
  const double took = seconds_since(t0);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(calls.load(), 2);
  EXPECT_GE(took, 0.9) << "Retry-After: 1 was not honoured (backoff alone is 0.01 s)";
  auto j = http::parse_json(r, c.what(), "u");
  EXPECT_EQ(j["echo"]["x"], 1);
}

TEST(HttpClient, GivesUpOn5xxAfterMaxAttemptsWithTheBodysMessage) {
  std::atomic<int> calls{0};
  LocalServer srv([&](httplib::Server& s) {
    s.Post("/x", [&](const httplib::Request&, httplib::Response& res) {
      ++calls;
      res.status = 503;
      res.set_content(R"({"error": {"message": "model overloaded"}})", "application/json");
    });
  });
  http::Client c(fast(3), "test service");
  const std::string url = srv.url() + "/x";
  try {
    c.post_json(url, "{}");
    FAIL() << "expected RemoteError";
  } catch (const RemoteError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("test service at " + url), std::string::npos) << m;
    EXPECT_NE(m.find("HTTP 503: model overloaded"), std::string::npos) << m;
    EXPECT_NE(m.find("gave up after 3 attempts"), std::string::npos) << m;
    EXPECT_EQ(e.status(), 503);
  }
  EXPECT_EQ(calls.load(), 3);
}

TEST(HttpClient, TimesOutAfterMaxAttempts) {
  std::atomic<int> calls{0};
  LocalServer srv([&](httplib::Server& s) {
    s.Post("/slow", [&](const httplib::Request&, httplib::Response& res) {
      ++calls;
      std::this_thread::sleep_for(std::chrono::milliseconds(1200));
      res.set_content("{}", "application/json");
    });
  });
  http::Client c(fast(2, 0.25), "slow service");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string m = error_of<RemoteError>([&] { c.post_json(srv.url() + "/slow", "{}"); });
  EXPECT_LT(seconds_since(t0), 1.1);
  EXPECT_NE(m.find("slow service at " + srv.url() + "/slow"), std::string::npos) << m;
  EXPECT_NE(m.find("timed out after 0.25 s"), std::string::npos) << m;
  EXPECT_NE(m.find("gave up after 2 attempts"), std::string::npos) << m;
  EXPECT_EQ(calls.load(), 2);
}

TEST(HttpClient, ClientErrorsAreNotRetried) {
  std::atomic<int> calls{0};
  LocalServer srv([&](httplib::Server& s) {
    s.Post("/auth", [&](const httplib::Request&, httplib::Response& res) {
      ++calls;
      res.status = 401;
      res.set_content(R"({"message": "invalid api token"})", "application/json");
    });
    s.Post("/bad", [&](const httplib::Request&, httplib::Response& res) {
      ++calls;
      res.status = 400;
      res.set_content("plain text\nproblem", "text/plain");
    });
  });
  http::Client c(fast(4), "svc");
  std::string m = error_of<RemoteError>([&] { c.post_json(srv.url() + "/auth", "{}"); });
  EXPECT_NE(m.find("HTTP 401: invalid api token (check the API key)"), std::string::npos) << m;
  EXPECT_EQ(calls.load(), 1);
  m = error_of<RemoteError>([&] { c.post_json(srv.url() + "/bad", "{}"); });
  EXPECT_NE(m.find("HTTP 400: plain text problem"), std::string::npos) << m;
  EXPECT_EQ(calls.load(), 2);
  m = error_of<RemoteError>([&] { c.get(srv.url() + "/nothing-here"); });
  EXPECT_NE(m.find("HTTP 404"), std::string::npos) << m;
}

TEST(HttpClient, RefusedConnectionsAreRetriedThenReported) {
  http::Client c(fast(2, 2), "svc");
  const std::string url = "http://127.0.0.1:" + std::to_string(rerank::test::unused_port()) + "/x";
  const std::string m = error_of<RemoteError>([&] { c.get(url); });
  EXPECT_NE(m.find("svc at " + url), std::string::npos) << m;
  EXPECT_NE(m.find("gave up after 2 attempts"), std::string::npos) << m;
  EXPECT_EQ(c.requests(), 2u);
  // perform(): one attempt, no exception
  http::Request q;
  q.url = url;
  http::Response r = c.perform(q);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.unreachable);
  EXPECT_FALSE(r.error.empty());
}

TEST(HttpClient, StreamsA2xxBodyToTheSink) {
  LocalServer srv([&](httplib::Server& s) {
    s.Get("/stream", [&](const httplib::Request&, httplib::Response& res) { res.set_content(std::string(100000, 'a'), "text/plain"); });
  });
  http::Client c(fast(1), "svc");
  http::Request q;
  q.url = srv.url() + "/stream";
  size_t got = 0;
  q.on_data = [&](const http::Response& head, std::string_view data) {
    EXPECT_EQ(head.status, 200);
    got += data.size();
    return std::string();
  };
  http::Response r = c.send(q);
  EXPECT_EQ(got, 100000u);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.delivered, 100000u);
  // a sink that aborts: not retried, its message reported
  http::Client c2(fast(3), "svc");
  q.on_data = [](const http::Response&, std::string_view) { return std::string("disk full"); };
  const std::string m = error_of<RemoteError>([&] { c2.send(q); });
  EXPECT_NE(m.find("disk full"), std::string::npos) << m;
  EXPECT_EQ(c2.requests(), 1u);
  // a collected body over the limit aborts
  q.on_data = nullptr;
  q.max_body_bytes = 1000;
  EXPECT_NE(error_of<RemoteError>([&] { c2.send(q); }).find("larger than"), std::string::npos);
}

TEST(HttpClient, Helpers) {
  EXPECT_DOUBLE_EQ(http::parse_retry_after("2"), 2.0);
  EXPECT_DOUBLE_EQ(http::parse_retry_after(" 0.5 "), 0.5);
  EXPECT_EQ(http::parse_retry_after(""), -1);
  EXPECT_EQ(http::parse_retry_after("soon"), -1);
  EXPECT_EQ(http::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), 0);  // in the past
  char future[64];
  const std::time_t t = std::time(nullptr) + 30;
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(future, sizeof future, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  const double s = http::parse_retry_after(future);
  EXPECT_GT(s, 25);
  EXPECT_LE(s, 31);

  EXPECT_EQ(http::body_message(R"({"message": "m1"})"), "m1");
  EXPECT_EQ(http::body_message(R"({"error": {"message": "m2", "type": "x"}})"), "m2");
  EXPECT_EQ(http::body_message(R"({"error": "m3"})"), "m3");
  EXPECT_EQ(http::body_message(R"({"detail": [{"loc": 1}]})"), R"([{"loc":1}])");
  EXPECT_EQ(http::body_message(""), "(empty body)");
  EXPECT_EQ(http::body_message(std::string(500, 'x')).size(), 303u);

  http::Policy p;
  p.backoff_seconds = 0.5;
  p.max_wait_seconds = 3;
  EXPECT_DOUBLE_EQ(http::backoff_wait(p, 1, -1), 0.5);
  EXPECT_DOUBLE_EQ(http::backoff_wait(p, 3, -1), 2.0);
  EXPECT_DOUBLE_EQ(http::backoff_wait(p, 1, 1.5), 1.5);
  EXPECT_DOUBLE_EQ(http::backoff_wait(p, 1, 100), 3.0);  // capped
  EXPECT_TRUE(http::retryable_status(429));
  EXPECT_TRUE(http::retryable_status(502));
  EXPECT_FALSE(http::retryable_status(404));

  EXPECT_EQ(http::normalize_base_url("http://h:1/v1//", "x"), "http://h:1/v1");
  EXPECT_THROW(http::normalize_base_url("ftp://h", "x"), rerank::InputError);
  EXPECT_THROW(http::normalize_base_url("localhost:8080", "x"), rerank::InputError);
  EXPECT_TRUE(http::bearer("").empty());
}

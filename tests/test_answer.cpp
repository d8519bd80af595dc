// The answer step's chat client against a local server speaking OpenAI's /v1/chat/completions: plain and
// streamed answers, 429-then-200 and 500-then-200 retries, a timeout, a 401 message, citations, the prompt.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "rerank/answer.hpp"
#include "rerank/collection.hpp"
#include "local_server.hpp"
#include "test_util.hpp"

using nlohmann::json;

namespace {

class FakeChat {
 public:
  FakeChat()
      : srv_([this](httplib::Server& s) {
          s.Post("/v1/chat/completions", [this](const httplib::Request& q, httplib::Response& r) { handle(q, r); });
        }),
        port_(srv_.port()) {}
  rerank::ChatOptions options() const {
    rerank::ChatOptions o;
    o.base_url = "http://127.0.0.1:" + std::to_string(port_) + "/v1/";
    o.api_key = "sk-test";
    o.model = "tiny-chat";
    o.backoff_seconds = 0.01;
    o.timeout_seconds = 5;
    return o;
  }
  std::atomic<int> calls{0};
  int fail_first = 0, fail_status = 429, status = 200, delay_ms = 0;
  std::string last_body, last_auth;

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    const int n = ++calls;
    last_body = req.body;
    last_auth = req.get_header_value("Authorization");
    if (n <= fail_first) {
      res.status = fail_status;
      res.set_header("Retry-After", "0");
      res.set_content(R"({"error": {"message": "slow down"}})", "application/json");
      return;
    }
    if (delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (status != 200) {
      res.status = status;
      res.set_content(R"({"error": {"message": "Incorrect API key provided"}})", "application/json");
      return;
    }
    json body = json::parse(req.body);
    if (body["stream"].get<bool>()) {
      std::string sse;
      for (const char* piece : {"Click ", "'Forgot Password' ", "[2]."}) {
        json ev = {{"choices", {{{"index", 0}, {"delta", {{"content", piece}}}, {"finish_reason", nullptr}}}}};
        sse += "data: " + ev.dump() + "\n\n";
      }
      sse += "data: " + json({{"choices", {{{"index", 0}, {"delta", json::object()}, {"finish_reason", "stop"}}}}}).dump() + "\n\n";
      sse += "data: [DONE]\n\n";
      res.set_content(sse, "text/event-stream");
    } else {
      json out = {{"id", "x"}, {"object", "chat.completion"},
                  {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", "Use Settings [3] or the link [1, 2]."}}}, {"finish_reason", "stop"}}}}};
      res.set_content(out.dump(), "application/json");
    }
  }
  rerank::test::LocalServer srv_;  // after the fields the handler uses

 public:
  const int port_;
};

const std::vector<rerank::ContextPassage> kCtx = {
    {"d1", "Password resets expire after 24 hours."},
    {"d2", "Click 'Forgot Password' on the login page."},
    {"d3", "Settings > Security > Change Password."},
};

TEST(Answer, PromptNumbersPassagesAndSaysOnlyFromContext) {
  auto m = rerank::answer_messages("How do I reset my password?", kCtx);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].role, "system");
  EXPECT_NE(m[0].content.find("only"), std::string::npos);
  EXPECT_NE(m[1].content.find("[2] Click 'Forgot Password'"), std::string::npos);
  EXPECT_NE(m[1].content.find("Question: How do I reset my password?"), std::string::npos);
}

TEST(Answer, PlainCompletion) {
  FakeChat chat;
  auto r = rerank::chat_complete(rerank::answer_messages("q", kCtx), chat.options());
  EXPECT_EQ(r.content, "Use Settings [3] or the link [1, 2].");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(chat.last_auth, "Bearer sk-test");
  json sent = json::parse(chat.last_body);
  EXPECT_EQ(sent["model"], "tiny-chat");
  EXPECT_EQ(sent["messages"].size(), 2u);
  EXPECT_EQ(rerank::cited_passages(r.content, kCtx.size()), (std::vector<size_t>{3, 1, 2}));
}

TEST(Answer, StreamedCompletion) {
  FakeChat chat;
  std::string seen;
  auto r = rerank::chat_complete(rerank::answer_messages("q", kCtx), chat.options(), [&](std::string_view d) { seen += d; });
  EXPECT_EQ(r.content, "Click 'Forgot Password' [2].");
  EXPECT_EQ(seen, r.content);
  EXPECT_EQ(r.finish_reason, "stop");
}

TEST(Answer, RetriesOn429And5xx) {
  FakeChat chat;
  chat.fail_first = 2;
  auto r = rerank::chat_complete(rerank::answer_messages("q", kCtx), chat.options());
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(chat.calls.load(), 3);
  FakeChat chat5;
  chat5.fail_first = 1;
  chat5.fail_status = 503;
  EXPECT_EQ(rerank::chat_complete(rerank::answer_messages("q", kCtx), chat5.options()).attempts, 2);
  FakeChat always;
  always.fail_first = 100;
  auto o = always.options();
  o.max_attempts = 3;
  try {
    rerank::chat_complete(rerank::answer_messages("q", kCtx), o);
    FAIL() << "expected RemoteError";
  } catch (const rerank::RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("429"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("slow down"), std::string::npos) << e.what();
  }
  EXPECT_EQ(always.calls.load(), 3);
}

TEST(Answer, TimeoutAndClientErrorsAreClear) {
  FakeChat slow;
  slow.delay_ms = 1500;
  auto o = slow.options();
  o.timeout_seconds = 0.2;
  o.max_attempts = 2;
  try {
    rerank::chat_complete(rerank::answer_messages("q", kCtx), o);
    FAIL() << "expected RemoteError";
  } catch (const rerank::RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  }
  FakeChat denied;
  denied.status = 401;
  try {
    rerank::chat_complete(rerank::answer_messages("q", kCtx), denied.options());
    FAIL() << "expected RemoteError";
  } catch (const rerank::RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 401"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Incorrect API key"), std::string::npos) << e.what();
  }
  EXPECT_EQ(denied.calls.load(), 1);  // no retry on 4xx
}

TEST(Answer, CitationsParsing) {
  EXPECT_EQ(rerank::cited_passages("See [2][3] and [2], not [9] or [x] or [1", 3), (std::vector<size_t>{2, 3}));
  EXPECT_TRUE(rerank::cited_passages("no citations", 3).empty());
}

TEST(Answer, CliRetrievesAndCitesPassages) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("rerank-answer-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    auto c = rerank::Collection::open_or_create(dir);
    std::vector<rerank::Document> docs;
    for (const auto& j : rerank::test::read_jsonl(rerank::test::data("retrieval/corpus.jsonl")))
      docs.push_back({j["_id"], j["title"], j["text"], ""});
    c.add(docs);
  }
  FakeChat chat;
  const std::string args = "answer --collection " + dir.string() + " --base-url http://127.0.0.1:" + std::to_string(chat.port_) +
                           "/v1 --api-key sk-test --chat-model tiny-chat --top-n 3 --reranker " +
                           rerank::test::data("encoders/models/ce-tiny").string() + " --threads 1 'How do I reset my password?'";
  auto r = rerank::test::run_cli(args, "");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Use Settings [3] or the link [1, 2]."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Sources:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  [3] "), std::string::npos) << r.out;
  json sent = json::parse(chat.last_body);
  const std::string user = sent["messages"][1]["content"];
  EXPECT_NE(user.find("[1] "), std::string::npos);
  EXPECT_NE(user.find("[3] "), std::string::npos);
  EXPECT_EQ(user.find("[4] "), std::string::npos);  // --top-n 3
  EXPECT_NE(user.find("Question: How do I reset my password?"), std::string::npos);
  // A chat endpoint that refuses: exit 1 with the server's message.
  chat.status = 401;
  r = rerank::test::run_cli(args, "");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("Incorrect API key"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

}  // namespace

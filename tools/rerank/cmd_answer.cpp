// rerank answer: retrieve (+ rerank) passages from a collection, send them with the question to an
// OpenAI-compatible /v1/chat/completions endpoint, print the answer and the passages it cites.
#include <unistd.h>

#include "cli.hpp"
#include "rerank/answer.hpp"
#include "rerank/index.hpp"
#include "rerank/pipeline.hpp"

namespace rerank::cli {

namespace {

struct AnswerFlags : PipelineFlags {
  std::string question;
  bool no_stream = false, json = false;
  ChatOptions chat;
};

}  // namespace

void register_answer(CLI::App& app) {
  auto f = std::make_shared<AnswerFlags>();
  CLI::App* cmd = app.add_subcommand("answer", "Answer a question from a collection's reranked passages with an OpenAI-compatible chat model");
  cmd->footer(
      "The top-n passages (first stage, then --reranker when given) are numbered [1]..[n] and sent to\n"
      "{base-url}/chat/completions with the instruction to answer only from them and cite them as [k]. The answer\n"
      "streams on a terminal; then the cited passages are listed. 429/5xx/timeouts are retried with backoff.\n"
      "Base URL / key / model: --base-url ($OPENAI_BASE_URL), --api-key ($OPENAI_API_KEY), --chat-model\n"
      "($RERANK_CHAT_MODEL). Works with OpenAI, vLLM, Ollama (http://127.0.0.1:11434/v1), llama.cpp server.\n\n"
      "Example:\n"
      "  rerank answer --collection my-coll --reranker cross-encoder/ms-marco-MiniLM-L-6-v2 \\\n"
      "    --base-url http://127.0.0.1:11434/v1 --chat-model llama3.1 \"How do I reset my password?\"");
  cmd->add_option("question", f->question, "The question")->required();
  f->add(cmd, "Passages sent to the chat model (default 5)");
  cmd->add_option("--base-url", f->chat.base_url, "OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")->envname("OPENAI_BASE_URL");
  cmd->add_option("--api-key", f->chat.api_key, "Bearer key for the chat endpoint")->envname("OPENAI_API_KEY");
  cmd->add_option("--chat-model", f->chat.model, "Chat model name")->envname("RERANK_CHAT_MODEL")->capture_default_str();
  cmd->add_option("--timeout", f->chat.timeout_seconds, "Seconds before a chat request times out")->capture_default_str();
  cmd->add_option("--max-attempts", f->chat.max_attempts, "Attempts on 429/5xx/timeouts")->capture_default_str()->check(CLI::Range(1, 20));
  cmd->add_flag("--no-stream", f->no_stream, "Do not stream the answer, even on a terminal");
  cmd->add_flag("--json", f->json, "Print one JSON object {answer, citations, passages}");
  cmd->callback([f] {
    std::optional<Collection> holder;
    auto engine = f->open_first_stage(holder);
    PipelineOptions po = f->options(5);
    Pipeline p(engine, po, f->make_reranker());
    const auto ranked = p.search(f->question).final_ranking(po.top_n);
    if (ranked.empty()) throw InputError("answer: the collection has no passage matching the question");
    std::vector<ContextPassage> ctx;
    for (const auto& r : ranked) ctx.push_back({r.doc_id, engine->passage_text(r.passage)});
    const bool stream = !f->no_stream && !f->json && isatty(STDOUT_FILENO) == 1;
    std::function<void(std::string_view)> on_delta;
    if (stream)
      on_delta = [](std::string_view d) {
        std::fwrite(d.data(), 1, d.size(), stdout);
        std::fflush(stdout);
      };
    ChatResult r = chat_complete(answer_messages(f->question, ctx), f->chat, on_delta);
    const auto cited = cited_passages(r.content, ctx.size());
    if (f->json) {
      nlohmann::ordered_json o;
      o["question"] = f->question;
      o["answer"] = r.content;
      o["citations"] = cited;
      auto ps = nlohmann::ordered_json::array();
      for (size_t i = 0; i < ctx.size(); ++i)
        ps.push_back({{"n", i + 1}, {"id", ctx[i].id}, {"score", ranked[i].score}, {"text", ctx[i].text}});
      o["passages"] = ps;
      emit(o);
      return;
    }
    if (!stream) std::fwrite(r.content.data(), 1, r.content.size(), stdout);
    std::printf("\n\nSources:\n");
    if (cited.empty()) std::printf("  (the answer cites no passage)\n");
    for (size_t n : cited) {
      std::string t = ctx[n - 1].text.substr(0, 100);
      for (char& ch : t)
        if (ch == '\n') ch = ' ';
      std::printf("  [%zu] %s: %s%s\n", n, ctx[n - 1].id.c_str(), t.c_str(), ctx[n - 1].text.size() > 100 ? "..." : "");
    }
  });
}

}  // namespace rerank::cli

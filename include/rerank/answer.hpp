// rerank/answer.hpp — the RAG answer step: reranked passages + a question -> an OpenAI-compatible
// /v1/chat/completions endpoint (OpenAI, vLLM, Ollama, llama.cpp server) -> an answer citing the passages as [n].
//
//   std::vector<rerank::ContextPassage> ctx = {{"doc-7", "To reset your password: ..."}, ...};
//   rerank::ChatOptions o;                      // base URL / key / model from $OPENAI_BASE_URL, $OPENAI_API_KEY
//   o.model = "llama3.1";
//   rerank::ChatResult r = rerank::chat_complete(rerank::answer_messages("How do I reset my password?", ctx), o,
//                                                [](std::string_view d) { std::cout << d << std::flush; });
//   for (size_t n : rerank::cited_passages(r.content, ctx.size())) std::cout << "[" << n << "] " << ctx[n - 1].id;
//
// Transport: libcurl; 429, 5xx and transport errors (timeouts included) are retried with exponential backoff
// (at least Retry-After) up to max_attempts — except once a streamed answer has started; other statuses fail at
// once with the server's message. Thread safety: free functions, no shared state.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rerank/error.hpp"  // RemoteError

namespace rerank {

struct ChatOptions {
  std::string base_url;  ///< e.g. http://127.0.0.1:11434/v1; "" = $OPENAI_BASE_URL, else https://api.openai.com/v1
  std::string api_key;   ///< "" = $OPENAI_API_KEY (none sent when both are empty)
  std::string model = "gpt-4o-mini";
  double temperature = 0;
  size_t max_tokens = 0;          ///< 0 = the server's default
  double timeout_seconds = 60;    ///< connect timeout, and the whole request (non-streaming) / silence (streaming)
  int max_attempts = 4;
  double backoff_seconds = 0.5;   ///< wait before retry n: backoff * 2^(n-1), at least Retry-After, at most 30 s
};

struct ChatMessage {
  std::string role;  ///< system | user | assistant
  std::string content;
};

struct ContextPassage {
  std::string id;    ///< shown in citations
  std::string text;
};

struct ChatResult {
  std::string content;
  std::string finish_reason;
  int attempts = 0;
};

/// The system instruction (answer only from the numbered context, cite as [n], say so when the context does not
/// contain the answer) and the user message with passages numbered from 1.
std::vector<ChatMessage> answer_messages(const std::string& question, const std::vector<ContextPassage>& passages);

/// POST {base_url}/chat/completions. With `on_delta`, streams (SSE) and calls it with each piece of content.
/// Throws RemoteError.
ChatResult chat_complete(const std::vector<ChatMessage>& messages, const ChatOptions& options,
                         const std::function<void(std::string_view)>& on_delta = {});

/// The passage numbers (1..n) cited as [k] (also [k, m] and [k][m]) in `answer`, in order of first citation.
std::vector<size_t> cited_passages(const std::string& answer, size_t n);

}  // namespace rerank

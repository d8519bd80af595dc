// chat.cpp — OpenAI-compatible chat completions (plain and SSE streaming) on the shared HTTP client, which does
// the retries, and the answer prompt.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>

#include "util/files.hpp"
#include "clients/http_client.hpp"
#include "rerank/answer.hpp"

namespace rerank {

namespace {

using Json = nlohmann::json;

const char* kInstruction =
    "You answer questions using only the numbered context passages provided. If the context does not contain the "
    "answer, say that you do not know; do not use outside knowledge. Cite the passages you use with their numbers "
    "in square brackets, e.g. [1] or [2][3].";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

struct Stream {
  std::string pending;  // unparsed SSE bytes
  std::string content, finish_reason;
  bool done = false;
  std::string parse_error;
  const std::function<void(std::string_view)>* on_delta = nullptr;
};

void sse_event(Stream& t, const std::string& data) {
  if (data == "[DONE]") {
    t.done = true;
    return;
  }
  Json j = util::parse_json_or_discard(data);
  if (j.is_discarded() || !j.is_object()) {
    t.parse_error = "malformed stream event: " + data.substr(0, 200);
    return;
  }
  if (j.contains("error")) {
    t.parse_error = j["error"].is_object() && j["error"].contains("message") ? j["error"]["message"].dump() : j["error"].dump();
    return;
  }
  auto ch = j.find("choices");
  if (ch == j.end() || !ch->is_array() || ch->empty()) return;
  const Json& c = (*ch)[0];
  if (c.contains("delta") && c["delta"].is_object() && c["delta"].contains("content") && c["delta"]["content"].is_string()) {
    const std::string d = c["delta"]["content"].get<std::string>();
    t.content += d;
    if (!d.empty()) (*t.on_delta)(d);
  }
  if (c.contains("finish_reason") && c["finish_reason"].is_string()) t.finish_reason = c["finish_reason"].get<std::string>();
}

void on_sse_bytes(Stream& t, std::string_view bytes) {
  t.pending.append(bytes);
  size_t pos;
  while ((pos = t.pending.find('\n')) != std::string::npos) {
    std::string line = t.pending.substr(0, pos);
    t.pending.erase(0, pos + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("data:", 0) == 0) {
      std::string data = line.substr(5);
      if (!data.empty() && data[0] == ' ') data.erase(0, 1);
      sse_event(t, data);
    }
  }
}

}  // namespace

std::vector<ChatMessage> answer_messages(const std::string& question, const std::vector<ContextPassage>& passages) {
  std::string ctx = "Context:\n";
  for (size_t i = 0; i < passages.size(); ++i) {
    ctx += '[';
    ctx += std::to_string(i + 1);
    ctx += "] ";
    ctx += passages[i].text;
    ctx += '\n';
  }
  return {{"system", kInstruction}, {"user", ctx + "\nQuestion: " + question}};
}

std::vector<size_t> cited_passages(const std::string& answer, size_t n) {
  std::vector<size_t> out;
  for (size_t i = 0; i < answer.size(); ++i) {
    if (answer[i] != '[') continue;
    size_t j = i + 1;
    std::vector<size_t> nums;
    size_t cur = 0;
    bool digits = false, ok = true;
    for (; j < answer.size() && answer[j] != ']'; ++j) {
      const char c = answer[j];
      if (c >= '0' && c <= '9') {
        cur = cur * 10 + static_cast<size_t>(c - '0');
        digits = true;
        if (cur > 1000000) ok = false;
      } else if (c == ',' || c == ' ') {
        if (digits) nums.push_back(cur);
        cur = 0;
        digits = false;
      } else {
        ok = false;
        break;
      }
    }
    if (!ok || j >= answer.size()) continue;
    if (digits) nums.push_back(cur);
    for (size_t k : nums)
      if (k >= 1 && k <= n && std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  }
  return out;
}

ChatResult chat_complete(const std::vector<ChatMessage>& messages, const ChatOptions& o,
                         const std::function<void(std::string_view)>& on_delta) {
  std::string base = !o.base_url.empty() ? o.base_url : env("OPENAI_BASE_URL");
  if (base.empty()) base = "https://api.openai.com/v1";
  const std::string url = http::normalize_base_url(base, "chat completion") + "/chat/completions";
  const std::string key = !o.api_key.empty() ? o.api_key : env("OPENAI_API_KEY");
  Json req;
  req["model"] = o.model;
  req["messages"] = Json::array();
  for (const auto& m : messages) req["messages"].push_back({{"role", m.role}, {"content", m.content}});
  req["temperature"] = o.temperature;
  if (o.max_tokens) req["max_tokens"] = o.max_tokens;
  const bool stream = static_cast<bool>(on_delta);
  req["stream"] = stream;

  http::Policy policy;
  policy.timeout_seconds = o.timeout_seconds;
  policy.max_attempts = std::max(1, o.max_attempts);
  policy.backoff_seconds = o.backoff_seconds;
  policy.max_wait_seconds = 30;
  http::Client client(policy, "chat completion");
  http::Request q;
  q.method = "POST";
  q.url = url;
  q.body = req.dump(-1, ' ', false, Json::error_handler_t::replace);
  q.headers = {"Content-Type: application/json", stream ? "Accept: text/event-stream" : "Accept: application/json"};
  for (auto& h : http::bearer(key)) q.headers.push_back(std::move(h));
  q.max_body_bytes = size_t{64} << 20;
  Stream st;
  st.on_delta = &on_delta;
  if (stream) {
    q.idle_timeout = true;  // a streamed answer may take long; silence may not
    q.on_data = [&st](const http::Response&, std::string_view bytes) {
      on_sse_bytes(st, bytes);
      return std::string();
    };
  }
  http::Response r = client.send(q);
  ChatResult out;
  out.attempts = r.attempts;
  if (stream) {
    if (!st.parse_error.empty()) throw RemoteError("chat completion at " + url + ": " + st.parse_error);
    out.content = std::move(st.content);
    out.finish_reason = std::move(st.finish_reason);
    return out;
  }
  Json j = http::parse_json(r, "chat completion", url);
  if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty() ||
      !j["choices"][0].is_object() || !j["choices"][0].contains("message") || !j["choices"][0]["message"].is_object())
    throw RemoteError("chat completion at " + url + ": unexpected answer (no choices[0].message): " + r.body.substr(0, 300));
  const Json& m = j["choices"][0]["message"];
  if (m.contains("content") && m["content"].is_string()) out.content = m["content"].get<std::string>();
  if (j["choices"][0].contains("finish_reason") && j["choices"][0]["finish_reason"].is_string())
    out.finish_reason = j["choices"][0]["finish_reason"].get<std::string>();
  return out;
}

}  // namespace rerank

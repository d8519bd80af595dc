// chat.cpp — OpenAI-compatible chat completions over libcurl (plain and SSE streaming), with retries, and the
// answer prompt.
#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>

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

struct Transfer {
  bool stream = false;
  CURL* curl = nullptr;
  std::string body;       // non-streaming body, or an error body
  std::string pending;    // unparsed SSE bytes
  std::string content, finish_reason;
  bool started = false;   // a delta was delivered
  bool done = false;
  long status = 0;
  double retry_after = 0;
  std::string parse_error;
  const std::function<void(std::string_view)>* on_delta = nullptr;
};

void sse_event(Transfer& t, const std::string& data) {
  if (data == "[DONE]") {
    t.done = true;
    return;
  }
  Json j = Json::parse(data, nullptr, false);
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
    if (!d.empty()) {
      t.started = true;
      (*t.on_delta)(d);
    }
  }
  if (c.contains("finish_reason") && c["finish_reason"].is_string()) t.finish_reason = c["finish_reason"].get<std::string>();
}

size_t on_body(char* ptr, size_t size, size_t n, void* user) {
  Transfer& t = *static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t.status == 0) curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.status);
  if (!t.stream || t.status != 200) {
    t.body.append(ptr, len);
    if (t.body.size() > (64u << 20)) return 0;  // abort: absurdly large
    return len;
  }
  t.pending.append(ptr, len);
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
  return len;
}

size_t on_header(char* ptr, size_t size, size_t n, void* user) {
  Transfer& t = *static_cast<Transfer*>(user);
  std::string h(ptr, size * n);
  std::string lower = h;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.rfind("retry-after:", 0) == 0) t.retry_after = std::atof(h.c_str() + 12);
  return size * n;
}

std::string server_message(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (j.contains("error")) {
      const Json& e = j["error"];
      if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
      if (e.is_string()) return e.get<std::string>();
    }
    if (j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  }
  return body.substr(0, 300);
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
  static const bool init = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)init;
  std::string base = !o.base_url.empty() ? o.base_url : env("OPENAI_BASE_URL");
  if (base.empty()) base = "https://api.openai.com/v1";
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string url = base + "/chat/completions";
  const std::string key = !o.api_key.empty() ? o.api_key : env("OPENAI_API_KEY");
  Json req;
  req["model"] = o.model;
  req["messages"] = Json::array();
  for (const auto& m : messages) req["messages"].push_back({{"role", m.role}, {"content", m.content}});
  req["temperature"] = o.temperature;
  if (o.max_tokens) req["max_tokens"] = o.max_tokens;
  const bool stream = static_cast<bool>(on_delta);
  req["stream"] = stream;
  const std::string body = req.dump(-1, ' ', false, Json::error_handler_t::replace);
  const long timeout_ms = std::max(1L, static_cast<long>(o.timeout_seconds * 1000));
  const int attempts = std::max(1, o.max_attempts);
  std::string last_error;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    Transfer t;
    t.stream = stream;
    t.on_delta = &on_delta;
    CURL* curl = curl_easy_init();
    if (!curl) throw RemoteError("chat completion: cannot initialise libcurl");
    t.curl = curl;
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, stream ? "Accept: text/event-stream" : "Accept: application/json");
    if (!key.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + key).c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    if (stream) {
      curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, std::max(1L, timeout_ms / 1000));
    } else {
      curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    }
    const CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    bool retry = false;
    if (rc != CURLE_OK) {
      last_error = std::string(rc == CURLE_OPERATION_TIMEDOUT ? "timed out after " + std::to_string(o.timeout_seconds) + " s"
                                                               : curl_easy_strerror(rc));
      retry = true;
    } else if (t.status == 429 || t.status >= 500) {
      last_error = "HTTP " + std::to_string(t.status) + ": " + server_message(t.body);
      retry = true;
    } else if (t.status != 200) {
      throw RemoteError("chat completion at " + url + ": HTTP " + std::to_string(t.status) + ": " + server_message(t.body));
    } else {
      ChatResult r;
      r.attempts = attempt;
      if (stream) {
        if (!t.parse_error.empty()) throw RemoteError("chat completion at " + url + ": " + t.parse_error);
        r.content = std::move(t.content);
        r.finish_reason = std::move(t.finish_reason);
        return r;
      }
      Json j = Json::parse(t.body, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty() ||
          !j["choices"][0].contains("message") || !j["choices"][0]["message"].is_object())
        throw RemoteError("chat completion at " + url + ": unexpected answer: " + t.body.substr(0, 300));
      const Json& m = j["choices"][0]["message"];
      if (m.contains("content") && m["content"].is_string()) r.content = m["content"].get<std::string>();
      if (j["choices"][0].contains("finish_reason") && j["choices"][0]["finish_reason"].is_string())
        r.finish_reason = j["choices"][0]["finish_reason"].get<std::string>();
      return r;
    }
    if (retry && t.started)
      throw RemoteError("chat completion at " + url + ": the stream broke off after it started: " + last_error);
    if (attempt < attempts) {
      double wait = o.backoff_seconds * std::pow(2.0, attempt - 1);
      wait = std::min(30.0, std::max(wait, t.retry_after));
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    }
  }
  throw RemoteError("chat completion at " + url + ": failed after " + std::to_string(attempts) + " attempts: " + last_error);
}

}  // namespace rerank

// clients/remote_common.hpp — internal: what the remote backends (cohere.cpp, openai_embeddings.cpp) share:
// RemoteOptions -> retry policy, environment defaults, answer validation helpers.
//
//   http::Client client(remote::policy(options, "Cohere rerank"), "Cohere rerank");
//   std::string key = remote::first_of(options.api_key, {"COHERE_API_KEY", "CO_API_KEY"});
//   remote::in_batches(docs.size(), batch, [&](size_t start, size_t n) { /* one request */ });   // 413 halves
//   remote::for_each_indexed(answer, "results", n, {"results", "document", "appears twice in the results"}, what, url,
//                            [&](size_t k, const nlohmann::json& item, const std::string& at) { ... });
//
// Thread safety: free functions, no shared state.
#pragma once
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "clients/http_client.hpp"
#include "rerank/reranker.hpp"

namespace rerank::remote {

inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

/// The first non-empty of `given` and the environment variables, else `fallback`.
inline std::string first_of(const std::string& given, std::initializer_list<const char*> vars, const std::string& fallback = "") {
  if (!given.empty()) return given;
  for (const char* v : vars)
    if (std::string s = env(v); !s.empty()) return s;
  return fallback;
}

inline http::Policy policy(const RemoteOptions& o, const std::string& what) {
  if (!(o.timeout_seconds > 0)) throw InputError(what + ": the timeout must be positive");
  if (o.max_attempts < 1) throw InputError(what + ": max_attempts must be at least 1");
  http::Policy p;
  p.timeout_seconds = o.timeout_seconds;
  p.max_attempts = o.max_attempts;
  p.backoff_seconds = o.backoff_seconds;
  return p;
}

/// RemoteError "<what> at <url>: malformed answer: <detail>".
[[noreturn]] inline void malformed(const std::string& what, const std::string& url, const std::string& detail) {
  throw RemoteError(what + " at " + url + ": malformed answer: " + detail);
}

/// A JSON value as a non-negative index below `n`, else a RemoteError naming `field`.
inline size_t index_in_range(const nlohmann::json& v, size_t n, const std::string& field, const std::string& what,
                             const std::string& url) {
  if (!v.is_number_integer()) malformed(what, url, field + " must be an integer, got " + v.dump().substr(0, 50));
  if (v.is_number_unsigned() ? v.get<unsigned long long>() >= n : (v.get<long long>() < 0 || static_cast<unsigned long long>(v.get<long long>()) >= n))
    malformed(what, url, field + " = " + v.dump() + " is out of range (" + std::to_string(n) + " texts sent)");
  return static_cast<size_t>(v.get<long long>());
}

/// Calls send(start, n) for consecutive slices of `count` texts, at most `batch` each. A 413 answer (request too
/// large, e.g. rerank serve --max-documents) halves `batch` and sends the slice again; other errors propagate.
template <class Send>
void in_batches(size_t count, size_t& batch, Send&& send) {
  for (size_t start = 0; start < count;) {
    const size_t n = std::min(batch, count - start);
    try {
      send(start, n);
    } catch (const RemoteError& e) {
      if (e.status() != 413 || n == 1) throw;
      batch = n / 2;
      continue;
    }
    start += n;
  }
}

/// How for_each_indexed names the texts sent and a text answered twice.
struct IndexedNames {
  const char* answers;    ///< "results": "1 results for 2 documents sent"
  const char* text;       ///< "document": "document 3 appears twice in the results"
  const char* repeated;   ///< "appears twice in the results"
};

/// Checks that `answer` is an object whose list `key` has one object per text sent (`n`), each with an in-range
/// integer "index", every index exactly once; calls on_item(index, item, "key[i]") for each. RemoteError otherwise.
template <class OnItem>
void for_each_indexed(const nlohmann::json& answer, const char* key, size_t n, IndexedNames names, const std::string& what,
                      const std::string& url, OnItem&& on_item) {
  if (!answer.is_object()) malformed(what, url, "expected a JSON object");
  auto list = answer.find(key);
  if (list == answer.end() || !list->is_array()) malformed(what, url, std::string("no \"") + key + "\" list");
  if (list->size() != n)
    malformed(what, url, std::to_string(list->size()) + " " + names.answers + " for " + std::to_string(n) + " " + names.text + "s sent");
  std::vector<bool> seen(n, false);
  for (size_t i = 0; i < n; ++i) {
    const nlohmann::json& item = (*list)[i];
    const std::string at = std::string(key) + "[" + std::to_string(i) + "]";
    if (!item.is_object()) malformed(what, url, at + " is not an object");
    auto idx = item.find("index");
    if (idx == item.end()) malformed(what, url, at + " has no \"index\"");
    const size_t k = index_in_range(*idx, n, at + ".index", what, url);
    if (seen[k]) malformed(what, url, std::string(names.text) + " " + std::to_string(k) + " " + names.repeated);
    seen[k] = true;
    on_item(k, item, at);
  }
}

}  // namespace rerank::remote

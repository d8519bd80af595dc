// clients/remote_common.hpp — internal: what the remote backends (cohere.cpp, openai_embeddings.cpp) share:
// RemoteOptions -> retry policy, environment defaults, answer validation helpers.
//
//   http::Client client(remote::policy(options, "Cohere rerank"), "Cohere rerank");
//   std::string key = remote::first_of(options.api_key, {"COHERE_API_KEY", "CO_API_KEY"});
//   size_t i = remote::index_in_range(item["index"], n, "results[0].index", what, url);   // or RemoteError
//
// Thread safety: free functions, no shared state.
#pragma once
#include <cstdlib>
#include <string>

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

}  // namespace rerank::remote

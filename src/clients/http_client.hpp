// clients/http_client.hpp — internal: the project's one libcurl HTTP client. JSON requests, timeouts, retries with
// backoff, errors that name the URL, the HTTP status and the service's message. Used by the remote backends
// (Cohere rerank, OpenAI embeddings), the answer step's chat client and the Hugging Face Hub downloads.
//
//   rerank::http::Client client({.timeout_seconds = 10, .max_attempts = 4}, "Cohere rerank");
//   rerank::http::Response r = client.post_json("https://api.cohere.com/v2/rerank", body.dump(),
//                                               {"Authorization: Bearer " + key});   // 2xx, or throws RemoteError
//   nlohmann::json j = rerank::http::parse_json(r, client.what(), url);
//
//   rerank::http::Request q{.method = "HEAD", .url = url, .follow_redirects = false};
//   rerank::http::Response once = client.perform(q);   // one attempt, no exception: see Response::error / status
//
// Retries (send, post_json, get): 429, 5xx and transport failures (timeouts, refused or reset connections) are
// tried again up to Policy::max_attempts, waiting backoff * 2^(n-1) seconds, at least the answer's Retry-After
// (delta-seconds or an HTTP date), at most max_wait_seconds. Other statuses (4xx but 429) fail at once. A
// streaming request (Request::on_data) is never retried once body bytes were handed to it.
//
// Thread safety: a Client owns one curl handle (connections are reused between its requests): NOT thread-safe,
// one per thread. The free functions are thread-safe.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rerank/error.hpp"

namespace rerank::http {

struct Policy {
  double timeout_seconds = 30;   ///< per attempt: the whole transfer, or silence when Request::idle_timeout
  int max_attempts = 4;          ///< 1 = no retries
  double backoff_seconds = 0.5;  ///< first wait; doubles per retry
  double max_wait_seconds = 60;  ///< cap on one wait (also on a Retry-After)
  bool status_hints = true;      ///< append "(check the API key)" / "(check the base URL and the model name)" to 401/403/404
};

struct Response;

struct Request {
  std::string method = "GET";        ///< GET, POST, PUT, DELETE or HEAD
  std::string url;                   ///< http:// or https:// only
  std::vector<std::string> headers;  ///< "Name: value"
  std::string body;                  ///< sent with POST and PUT (and DELETE when not empty)
  bool follow_redirects = true;      ///< up to 10, http/https only
  /// false: timeout_seconds bounds the whole transfer. true: connecting, and any silence, may last that long
  /// (downloads and streams of unknown length).
  bool idle_timeout = false;
  /// Seconds allowed to connect (TCP and TLS); 0 = the policy's timeout_seconds. A connection not made in time
  /// counts as unreachable (Response::unreachable), like a refused one.
  double connect_timeout_seconds = 0;
  std::string user_agent = "rerank/0.1.0";
  bool verify_tls = true;            ///< https: check the server's certificate and host name
  std::string ca_file;               ///< https: PEM bundle to verify the server with instead of the system's
  /// Streaming: called with each piece of a 2xx body (status and headers already set in the Response) instead
  /// of collecting it. Return "" to go on, or an error message to abort the transfer (not retried).
  std::function<std::string(const Response&, std::string_view)> on_data;
  size_t max_body_bytes = size_t{512} << 20;  ///< collected bodies larger than this abort the transfer
};

struct Response {
  long status = 0;                             ///< HTTP status of the final answer (0: none)
  std::map<std::string, std::string> headers;  ///< of the final answer, names lowercased
  std::string body;                            ///< collected body (all of it unless on_data took a 2xx body)
  std::string error;                           ///< transport failure or abort; "" when a complete answer arrived
  bool timed_out = false;
  bool unreachable = false;                    ///< could not resolve the host or connect to it (refused, or not in time)
  bool aborted = false;                        ///< on_data or the body limit stopped the transfer
  bool retryable_transport = false;            ///< the failure is worth another attempt
  size_t delivered = 0;                        ///< body bytes handed to on_data
  int attempts = 0;                            ///< send(): attempts made

  const std::string* header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
  }
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
};

class Client {
 public:
  /// `what` names the service in error messages, e.g. "Cohere rerank".
  explicit Client(Policy policy = {}, std::string what = "HTTP request");
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// One attempt. Never throws for HTTP statuses or transport failures (see Response::error); throws
  /// RemoteError only when libcurl cannot be set up.
  Response perform(const Request& request);
  /// With retries (see above). Returns a 2xx response; throws RemoteError naming the URL, status and message.
  Response send(const Request& request);
  /// POST `body` (JSON text) with Content-Type and Accept application/json, plus `headers`; with retries.
  Response post_json(const std::string& url, const std::string& body, const std::vector<std::string>& headers = {});
  /// GET with Accept application/json, plus `headers`; with retries.
  Response get(const std::string& url, const std::vector<std::string>& headers = {});

  const Policy& policy() const { return policy_; }
  const std::string& what() const { return what_; }
  size_t requests() const { return requests_; }  ///< attempts made so far (all requests)

 private:
  Policy policy_;
  std::string what_;
  void* curl_;
  size_t requests_ = 0;
};

/// Tests and fuzz targets only: while set, every Client::perform() answers with `fake(request)` instead of the
/// network. A 2xx body goes to Request::on_data (in pieces of at most 4 KiB) as curl's would; the body limit
/// applies as well. Process-wide; pass nullptr to go back to the network.
void set_fake_transport(std::function<Response(const Request&)> fake);

/// The service's message in an error body: {"message"}, {"error": {"message"}}, {"error": {"type", "reason"}}
/// (OpenSearch / Elasticsearch: "type: reason"), {"error": "..."}, {"detail"};
/// else the start of the body (control characters replaced, at most 300 bytes).
std::string body_message(const std::string& body);
/// Printable, bounded text from a server: control bytes become spaces, "..." after `max` bytes.
std::string sanitize(const std::string& s, size_t max = 300);
/// A Retry-After value in seconds (delta-seconds, decimals allowed, or an HTTP date); -1 when absent or invalid.
double parse_retry_after(const std::string& value);
/// 429 and 5xx.
bool retryable_status(long status);
/// The wait before attempt `attempt + 1` after `attempt` failed: backoff * 2^(attempt-1), at least
/// `retry_after` (when >= 0), at most policy.max_wait_seconds.
double backoff_wait(const Policy& policy, int attempt, double retry_after);
/// The body as JSON; throws RemoteError("<what> at <url>: malformed JSON answer: ...") otherwise.
nlohmann::json parse_json(const Response& response, const std::string& what, const std::string& url);
/// `base` without trailing slashes; throws InputError unless it is an http:// or https:// URL.
std::string normalize_base_url(const std::string& base, const std::string& what);
/// "Authorization: Bearer KEY" (empty vector for an empty key).
std::vector<std::string> bearer(const std::string& key);

}  // namespace rerank::http

// http_client.cpp — the shared libcurl client (see clients/http_client.hpp).
#include "clients/http_client.hpp"

#include "util/files.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <thread>

namespace rerank::http {

namespace {

std::once_flag g_init;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

struct Transfer {
  CURL* curl = nullptr;
  const Request* req = nullptr;
  Response* res = nullptr;
  bool started = false;
  std::string abort_reason;
};

size_t on_header(char* data, size_t size, size_t nitems, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  const size_t n = size * nitems;
  std::string line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new answer (after a redirect or a 100 Continue)
    t->res->headers.clear();
    const size_t sp = line.find(' ');
    if (sp != std::string::npos) t->res->status = std::strtol(line.c_str() + sp + 1, nullptr, 10);
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos || colon == 0) return n;
  if (t->res->headers.size() >= 200 || line.size() > 16384) return n;  // ignore absurd headers
  t->res->headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  return n;
}

size_t on_body(char* data, size_t size, size_t nmemb, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  const size_t n = size * nmemb;
  Response& r = *t->res;
  if (!t->started) {
    t->started = true;
    long s = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &s);
    if (s) r.status = s;
  }
  if (t->req->on_data && r.status >= 200 && r.status < 300) {
    std::string e = t->req->on_data(r, std::string_view(data, n));
    r.delivered += n;
    if (!e.empty()) {
      t->abort_reason = std::move(e);
      return 0;
    }
    return n;
  }
  if (r.body.size() + n > t->req->max_body_bytes) {
    const size_t max = t->req->max_body_bytes;
    t->abort_reason = "the answer is larger than " +
                      (max >= (size_t{1} << 20) ? std::to_string(max >> 20) + " MiB" : std::to_string(max) + " bytes");
    return 0;
  }
  r.body.append(data, n);
  return n;
}

bool transport_retryable(CURLcode code) {
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_OUT_OF_MEMORY:
      return false;
    default:
      return true;
  }
}

std::string status_hint(long status) {
  if (status == 401 || status == 403) return " (check the API key)";
  if (status == 404) return " (check the base URL and the model name)";
  return "";
}

}  // namespace

Client::Client(Policy policy, std::string what) : policy_(policy), what_(std::move(what)) {
  std::call_once(g_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
  if (!curl_) throw RemoteError(what_ + ": libcurl cannot create a handle");
}

Client::~Client() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

namespace {

std::function<Response(const Request&)>& fake_transport() {
  static std::function<Response(const Request&)> f;
  return f;
}

/// A fake answer delivered as curl's callbacks would deliver it.
Response perform_fake(const Request& q, Response r) {
  if (!r.error.empty()) return r;
  std::string body = std::move(r.body);
  r.body.clear();
  std::string_view rest = body;
  while (!rest.empty()) {
    const std::string_view piece = rest.substr(0, 4096);
    rest.remove_prefix(piece.size());
    if (q.on_data && r.status >= 200 && r.status < 300) {
      std::string e = q.on_data(r, piece);
      r.delivered += piece.size();
      if (!e.empty()) {
        r.error = std::move(e);
        r.aborted = true;
        return r;
      }
    } else if (r.body.size() + piece.size() > q.max_body_bytes) {
      r.error = "the answer is larger than " + std::to_string(q.max_body_bytes) + " bytes";
      r.aborted = true;
      return r;
    } else {
      r.body.append(piece);
    }
  }
  return r;
}

}  // namespace

void set_fake_transport(std::function<Response(const Request&)> fake) { fake_transport() = std::move(fake); }

Response Client::perform(const Request& q) {
  if (const auto& fake = fake_transport()) {
    ++requests_;
    return perform_fake(q, fake(q));
  }
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = 0;
  Response r;
  Transfer t;
  t.curl = c;
  t.req = &q;
  t.res = &r;
  const double timeout = policy_.timeout_seconds > 0 ? policy_.timeout_seconds : 30;
  const long ms = std::max(1L, std::lround(timeout * 1000));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, q.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_URL, q.url.c_str());
  const double connect = q.connect_timeout_seconds > 0 ? std::min(q.connect_timeout_seconds, timeout) : timeout;
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::max(1L, std::lround(connect * 1000)));
  if (q.idle_timeout) {
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(std::ceil(timeout))));
  } else {
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
  }
  if (q.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (q.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, q.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(q.body.size()));
  } else if (q.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (q.method == "PUT" || q.method == "DELETE") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q.method.c_str());
    if (q.method == "PUT" || !q.body.empty()) {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, q.body.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(q.body.size()));
    }
  } else {
    throw RemoteError(what_ + ": unsupported HTTP method " + q.method);
  }
  if (!q.verify_tls) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!q.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, q.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, q.follow_redirects ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_slist* list = nullptr;
  for (const auto& h : q.headers) list = curl_slist_append(list, h.c_str());
  if (q.method == "POST" || q.method == "PUT") list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  ++requests_;
  const CURLcode code = curl_easy_perform(c);
  curl_slist_free_all(list);
  long s = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &s);
  if (s) r.status = s;
  if (code != CURLE_OK) {
    r.aborted = !t.abort_reason.empty();
    r.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    curl_off_t pretransfer = 0;  // 0: the connection (TCP, TLS) was never ready to send the request
    curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    r.unreachable = code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY ||
                    (r.timed_out && pretransfer == 0);
    r.retryable_transport = !r.aborted && transport_retryable(code);
    if (r.aborted)
      r.error = t.abort_reason;
    else if (r.timed_out && pretransfer == 0)
      r.error = "could not connect within " + seconds_text(connect) + " s";
    else if (r.timed_out)
      r.error = "timed out after " + seconds_text(timeout) + " s" + (q.idle_timeout ? " without data" : "");
    else
      r.error = errbuf[0] ? errbuf : curl_easy_strerror(code);
  }
  return r;
}

Response Client::send(const Request& q) {
  const int attempts = std::max(1, policy_.max_attempts);
  const std::string where = what_ + " at " + q.url;
  for (int a = 1;; ++a) {
    Response r = perform(q);
    r.attempts = a;
    if (r.ok()) return r;
    std::string last;
    long status = 0;
    if (!r.error.empty()) {
      if (r.delivered > 0) throw RemoteError(where + ": the answer broke off after it started: " + r.error);
      if (!r.retryable_transport) throw RemoteError(where + ": " + r.error);
      last = r.error;
    } else if (retryable_status(r.status)) {
      status = r.status;
      last = "HTTP " + std::to_string(r.status) + ": " + body_message(r.body);
    } else {
      throw RemoteError(where + ": HTTP " + std::to_string(r.status) + ": " + body_message(r.body) + (policy_.status_hints ? status_hint(r.status) : ""),
                        r.status);
    }
    if (a >= attempts)
      throw RemoteError(where + ": " + last + " (gave up after " + std::to_string(a) + (a == 1 ? " attempt)" : " attempts)"),
                        status);
    double retry_after = -1;
    if (const std::string* h = r.header("retry-after")) retry_after = parse_retry_after(*h);
    const double wait = backoff_wait(policy_, a, retry_after);
    if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  }
}

Response Client::post_json(const std::string& url, const std::string& body, const std::vector<std::string>& headers) {
  Request q;
  q.method = "POST";
  q.url = url;
  q.body = body;
  q.headers = {"Content-Type: application/json", "Accept: application/json"};
  q.headers.insert(q.headers.end(), headers.begin(), headers.end());
  return send(q);
}

Response Client::get(const std::string& url, const std::vector<std::string>& headers) {
  Request q;
  q.url = url;
  q.headers = {"Accept: application/json"};
  q.headers.insert(q.headers.end(), headers.begin(), headers.end());
  return send(q);
}

std::string body_message(const std::string& body) {
  if (trim(body).empty()) return "(empty body)";
  nlohmann::json j = util::parse_json_or_discard(body);
  if (j.is_object()) {
    auto text = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
    if (auto e = j.find("error"); e != j.end()) {
      if (e->is_object()) {
        if (auto m = e->find("message"); m != e->end()) return sanitize(text(*m), 1000);
        // OpenSearch / Elasticsearch: {"error": {"type": "index_not_found_exception", "reason": "no such index [x]"}}
        auto type = e->find("type"), reason = e->find("reason");
        if (type != e->end() && type->is_string())
          return sanitize(type->get<std::string>() + (reason != e->end() && !reason->is_null() ? ": " + text(*reason) : ""), 1000);
      } else if (!e->is_null()) {
        return sanitize(text(*e), 1000);
      }
    }
    if (auto m = j.find("message"); m != j.end() && !m->is_null()) return sanitize(text(*m), 1000);
    if (auto d = j.find("detail"); d != j.end() && !d->is_null()) return sanitize(text(*d), 1000);
  }
  return sanitize(trim(body), 300);
}

double parse_retry_after(const std::string& value) {
  const std::string v = trim(value);
  if (v.empty()) return -1;
  if (std::all_of(v.begin(), v.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
    char* end = nullptr;
    const double s = std::strtod(v.c_str(), &end);
    return end && *end == 0 && std::isfinite(s) ? s : -1;
  }
  const time_t t = curl_getdate(v.c_str(), nullptr);
  if (t == -1) return -1;
  return std::max(0.0, std::difftime(t, std::time(nullptr)));
}

std::string sanitize(const std::string& s, size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  }
  return out;
}

bool retryable_status(long status) { return status == 429 || (status >= 500 && status <= 599); }

double backoff_wait(const Policy& p, int attempt, double retry_after) {
  double w = std::max(0.0, p.backoff_seconds) * std::pow(2.0, std::max(0, attempt - 1));
  if (retry_after >= 0) w = std::max(w, retry_after);
  return std::min(w, std::max(0.0, p.max_wait_seconds));
}

nlohmann::json parse_json(const Response& r, const std::string& what, const std::string& url) {
  nlohmann::json j = util::parse_json_or_discard(r.body);
  if (j.is_discarded())
    throw RemoteError(what + " at " + url + ": malformed JSON answer (HTTP " + std::to_string(r.status) +
                      "): " + sanitize(trim(r.body), 200));
  return j;
}

std::string normalize_base_url(const std::string& base, const std::string& what) {
  std::string b = trim(base);
  while (!b.empty() && b.back() == '/') b.pop_back();
  const std::string l = lower(b);
  const bool ok = (l.rfind("http://", 0) == 0 && l.size() > 7) || (l.rfind("https://", 0) == 0 && l.size() > 8);
  if (!ok) throw InputError(what + ": base URL \"" + base + "\" must start with http:// or https://");
  return b;
}

std::vector<std::string> bearer(const std::string& key) {
  if (key.empty()) return {};
  return {"Authorization: Bearer " + key};
}

}  // namespace rerank::http

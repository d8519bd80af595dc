#include "hub/http.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "rerank/hub.hpp"

namespace rerank::hub_detail {
namespace {

std::once_flag g_curl_init;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

bool parse_u64(const std::string& s, uint64_t& out) {
  if (s.empty() || s.size() > 19 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  out = std::stoull(s);
  return true;
}

struct Transfer {
  CURL* curl = nullptr;
  HttpResponse* res = nullptr;
  int fd = -1;
  uint64_t offset = 0;  // bytes already in the file when the body starts
  std::optional<uint64_t> expected_total;
  bool started = false, to_file = false;
  const std::function<void(uint64_t)>* progress = nullptr;
};

size_t on_header(char* data, size_t size, size_t nitems, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t n = size * nitems;
  std::string line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect or a 100 Continue)
    t->res->headers.clear();
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos || colon == 0) return n;
  if (t->res->headers.size() >= 200 || line.size() > 16384) return n;  // ignore absurd headers
  t->res->headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  return n;
}

size_t on_body(char* data, size_t size, size_t nmemb, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t n = size * nmemb;
  HttpResponse& r = *t->res;
  if (!t->started) {
    t->started = true;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &r.status);
    if (t->fd >= 0 && (r.status == 200 || r.status == 206)) {
      t->to_file = true;
      if (r.status == 200 && t->offset > 0) {  // the server ignored the Range header: start over
        if (ftruncate(t->fd, 0) != 0 || lseek(t->fd, 0, SEEK_SET) != 0) {
          r.error = std::string("cannot truncate the partial download: ") + std::strerror(errno);
          return 0;
        }
        t->offset = 0;
        r.restarted = true;
      } else if (r.status == 206) {
        // Content-Range: bytes START-END/TOTAL must continue where the file ends.
        const std::string* cr = r.header("content-range");
        uint64_t start = 0;
        bool ok = false;
        if (cr && cr->rfind("bytes ", 0) == 0) {
          auto dash = cr->find('-', 6);
          ok = dash != std::string::npos && parse_u64(cr->substr(6, dash - 6), start);
        }
        if (!ok || start != t->offset) {
          r.error = "the server answered the range request with Content-Range \"" + (cr ? *cr : std::string()) +
                    "\", not starting at byte " + std::to_string(t->offset);
          return 0;
        }
      }
    }
  }
  if (!t->to_file) {
    if (r.body.size() < 16384) r.body.append(data, std::min(n, 16384 - r.body.size()));
    return n;
  }
  if (t->expected_total && t->offset + r.received + n > *t->expected_total) {
    r.error = "the server sent more bytes than the announced size " + std::to_string(*t->expected_total);
    return 0;
  }
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(t->fd, data + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      r.error = std::string("cannot write the download: ") + std::strerror(errno);
      return 0;
    }
    done += static_cast<size_t>(w);
  }
  r.received += n;
  if (t->progress && *t->progress) (*t->progress)(t->offset + r.received);
  return n;
}

curl_slist* make_headers(const std::vector<std::string>& headers) {
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  return list;
}

void common_options(CURL* c, long timeout, char* errbuf) {
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "rerank/0.1.0; hf_hub-compatible");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, timeout);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  errbuf[0] = 0;
}

void finish(CURL* c, CURLcode code, const char* errbuf, HttpResponse& r) {
  if (r.status == 0) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  if (code != CURLE_OK) {
    r.transport_failed = true;
    r.unreachable = code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY;
    if (r.error.empty()) r.error = errbuf[0] ? errbuf : curl_easy_strerror(code);
  }
}

}  // namespace

Http::Http(long timeout_seconds) : timeout_(timeout_seconds) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
  if (!curl_) throw HubError("libcurl: cannot create a handle");
}

Http::~Http() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResponse Http::head(const std::string& url, const std::vector<std::string>& headers) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  char errbuf[CURL_ERROR_SIZE];
  common_options(c, timeout_, errbuf);
  HttpResponse r;
  Transfer t;
  t.curl = c;
  t.res = &r;
  curl_slist* list = make_headers(headers);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  ++requests_;
  CURLcode code = curl_easy_perform(c);
  curl_slist_free_all(list);
  finish(c, code, errbuf, r);
  return r;
}

HttpResponse Http::get_to_file(const std::string& url, const std::vector<std::string>& headers, int fd, uint64_t offset,
                               std::optional<uint64_t> expected_total, const std::function<void(uint64_t)>& progress) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  char errbuf[CURL_ERROR_SIZE];
  common_options(c, timeout_, errbuf);
  HttpResponse r;
  Transfer t;
  t.curl = c;
  t.res = &r;
  t.fd = fd;
  t.offset = offset;
  t.expected_total = expected_total;
  t.progress = &progress;
  std::vector<std::string> all = headers;
  if (offset > 0) all.push_back("Range: bytes=" + std::to_string(offset) + "-");
  curl_slist* list = make_headers(all);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  ++requests_;
  CURLcode code = curl_easy_perform(c);
  curl_slist_free_all(list);
  finish(c, code, errbuf, r);
  if (!t.started && !r.transport_failed && fd >= 0 && offset > 0 && r.status == 200) {
    // an empty 200 body to a range request: the file is empty
    if (ftruncate(fd, 0) != 0) r.error = "cannot truncate the partial download";
    r.restarted = true;
  }
  return r;
}

}  // namespace rerank::hub_detail

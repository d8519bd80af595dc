// The Hub's HEAD and ranged GET on the shared HTTP client (see hub/http.hpp).
#include "hub/http.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "clients/http_client.hpp"
#include "rerank/hub.hpp"

namespace rerank::hub_detail {
namespace {

constexpr const char* kUserAgent = "rerank/0.1.0; hf_hub-compatible";

bool parse_u64(const std::string& s, uint64_t& out) {
  if (s.empty() || s.size() > 19 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  out = std::stoull(s);
  return true;
}

http::Request request(const char* method, const std::string& url, const std::vector<std::string>& headers, bool follow,
                      double connect_timeout) {
  http::Request q;
  q.connect_timeout_seconds = connect_timeout;
  q.method = method;
  q.url = url;
  q.headers = headers;
  q.follow_redirects = follow;
  q.idle_timeout = true;  // downloads of any size: connecting and silence are bounded, not the transfer
  q.user_agent = kUserAgent;
  q.max_body_bytes = size_t{16} << 20;  // error pages
  return q;
}

HttpResponse convert(http::Response&& r) {
  HttpResponse out;
  out.status = r.status;
  out.headers = std::move(r.headers);
  out.body = r.body.substr(0, 16384);
  out.transport_failed = !r.error.empty();
  out.unreachable = r.unreachable;
  out.error = std::move(r.error);
  return out;
}

}  // namespace

Http::Http(long timeout_seconds, double connect_timeout_seconds) : connect_timeout_(connect_timeout_seconds) {
  try {
    client_ = std::make_unique<http::Client>(http::Policy{static_cast<double>(timeout_seconds), 1, 0, 0}, "Hugging Face Hub");
  } catch (const Error& e) {
    throw HubError(e.what());
  }
}

Http::~Http() = default;

size_t Http::requests() const { return client_->requests(); }

HttpResponse Http::head(const std::string& url, const std::vector<std::string>& headers) {
  return convert(client_->perform(request("HEAD", url, headers, false, connect_timeout_)));
}

HttpResponse Http::get_to_file(const std::string& url, const std::vector<std::string>& headers, int fd, uint64_t offset,
                               std::optional<uint64_t> expected_total, const std::function<void(uint64_t)>& progress) {
  std::vector<std::string> all = headers;
  if (offset > 0) all.push_back("Range: bytes=" + std::to_string(offset) + "-");
  http::Request q = request("GET", url, all, true, connect_timeout_);
  bool started = false, restarted = false, to_file = false;
  uint64_t received = 0;
  // Called with the body of a 2xx answer: 200 or 206 go to the file; other 2xx bodies are ignored.
  q.on_data = [&](const http::Response& r, std::string_view data) -> std::string {
    if (!started) {
      started = true;
      to_file = r.status == 200 || r.status == 206;
      if (to_file && r.status == 200 && offset > 0) {  // the server ignored the Range header: start over
        if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
          return std::string("cannot truncate the partial download: ") + std::strerror(errno);
        offset = 0;
        restarted = true;
      } else if (to_file && r.status == 206) {
        // Content-Range: bytes START-END/TOTAL must continue where the file ends.
        const std::string* cr = r.header("content-range");
        uint64_t start = 0;
        bool ok = false;
        if (cr && cr->rfind("bytes ", 0) == 0) {
          auto dash = cr->find('-', 6);
          ok = dash != std::string::npos && parse_u64(cr->substr(6, dash - 6), start);
        }
        if (!ok || start != offset)
          return "the server answered the range request with Content-Range \"" + (cr ? *cr : std::string()) +
                 "\", not starting at byte " + std::to_string(offset);
      }
    }
    if (!to_file) return "";
    if (expected_total && offset + received + data.size() > *expected_total)
      return "the server sent more bytes than the announced size " + std::to_string(*expected_total);
    size_t done = 0;
    while (done < data.size()) {
      ssize_t w = ::write(fd, data.data() + done, data.size() - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        return std::string("cannot write the download: ") + std::strerror(errno);
      }
      done += static_cast<size_t>(w);
    }
    received += data.size();
    if (progress) progress(offset + received);
    return "";
  };
  HttpResponse r = convert(client_->perform(q));
  r.received = received;
  r.restarted = restarted;
  if (!started && !r.transport_failed && fd >= 0 && offset > 0 && r.status == 200) {
    // an empty 200 body to a range request: the file is empty
    if (ftruncate(fd, 0) != 0) r.error = "cannot truncate the partial download";
    r.restarted = true;
  }
  return r;
}

}  // namespace rerank::hub_detail

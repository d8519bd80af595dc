// The Hub's transfers on the shared HTTP client (clients/http_client.hpp): HEAD without following redirects (for
// metadata), GET into a file with resume. One attempt per call: hub.cpp's loops retry, because a retried download
// resumes with a Range request and is checked against the Hub's sha256 each time.
// One Http per pull (one curl handle, connections reused); not shared between threads.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rerank::http {
class Client;
}

namespace rerank::hub_detail {

struct HttpResponse {
  long status = 0;                             ///< HTTP status of the last response (0: none)
  std::map<std::string, std::string> headers;  ///< of the last response, names lowercased
  std::string body;                            ///< error bodies only (first 16 KiB)
  bool transport_failed = false;               ///< no complete response: connection, timeout, truncated body...
  bool unreachable = false;                    ///< could not resolve the host or connect to it in time
  std::string error;                           ///< what went wrong in transport (or in writing the file)
  bool restarted = false;                      ///< GET: asked for a range but got the whole file (200)
  uint64_t received = 0;                       ///< GET: body bytes written to the file
  const std::string* header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

class Http {
 public:
  /// `timeout_seconds`: silence allowed; `connect_timeout_seconds`: to connect (0 = timeout_seconds).
  Http(long timeout_seconds, double connect_timeout_seconds);
  ~Http();
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  /// HEAD `url` with `headers` ("Name: value"), redirects not followed.
  HttpResponse head(const std::string& url, const std::vector<std::string>& headers);

  /// GET `url` (redirects followed, http/https only) into file descriptor `fd`, which already holds `offset`
  /// bytes: asks for "Range: bytes=offset-" when offset > 0. A 200 answer to a range request truncates the file
  /// and starts over; a 206 must start at `offset`. More than `expected_total` bytes in all aborts the transfer.
  /// `progress(bytes in file so far)` is called as data arrives.
  HttpResponse get_to_file(const std::string& url, const std::vector<std::string>& headers, int fd, uint64_t offset,
                           std::optional<uint64_t> expected_total, const std::function<void(uint64_t)>& progress);

  size_t requests() const;

 private:
  std::unique_ptr<http::Client> client_;
  double connect_timeout_ = 0;
};

}  // namespace rerank::hub_detail

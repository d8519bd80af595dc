// auth_limits.cpp — what runs before every route: the API key check (every route but /health and /ready when a key is set;
// "Authorization: Bearer KEY"), the body size limit, and JSON bodies for httplib's own errors (404, 413, ...).
#include "server/http_setup.hpp"

namespace rerank::server {

namespace {

bool same(const std::string& a, const std::string& b) {
  // Constant time in the key's length.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) diff |= static_cast<unsigned char>(b[i] ^ (i < a.size() ? a[i] : 0));
  return diff == 0;
}

/// Bytes of the request line and headers as received (httplib 0.11 bounds each header line to 8 KiB, not their
/// number).
size_t header_bytes(const httplib::Request& req) {
  size_t n = req.method.size() + req.target.size() + req.version.size() + 4;
  for (const auto& [k, v] : req.headers) n += k.size() + v.size() + 4;
  return n;
}

}  // namespace

bool authorized(const ServerOptions& o, const httplib::Request& req) {
  // Probes carry no key: liveness and readiness are open.
  if (o.api_key.empty() || req.path == "/health" || req.path == "/ready" || req.path == "/readyz") return true;
  const std::string h = req.get_header_value("Authorization");
  static const std::string bearer = "Bearer ";
  if (h.size() > bearer.size() && h.compare(0, bearer.size(), bearer) == 0) return same(h.substr(bearer.size()), o.api_key);
  // Some clients send the bare key, or an api-key / X-API-Key header.
  for (const char* name : {"X-API-Key", "api-key"})
    if (req.has_header(name)) return same(req.get_header_value(name), o.api_key);
  return false;
}

void install_limits(httplib::Server& http, State& st) {
  http.set_payload_max_length(st.options.max_request_bytes);
  http.set_read_timeout(std::max(1, st.options.read_timeout_seconds), 0);
  http.set_pre_routing_handler([&st](const httplib::Request& req, httplib::Response& res) {
    RequestContext& ctx = request_context();
    ctx = RequestContext{};
    ctx.active = true;
    ctx.start = std::chrono::steady_clock::now();
    // Draining: every answer asks the client to close its kept-alive connection, so that its next request opens
    // a new one (to another replica, once the balancer has seen /ready go 503).
    if (st.draining.load()) res.set_header("Connection", "close");
    if (header_bytes(req) > st.options.max_header_bytes) {
      reply_error(res, 431, "request headers larger than " + std::to_string(st.options.max_header_bytes) + " bytes");
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!authorized(st.options, req)) {
      res.set_header("WWW-Authenticate", "Bearer");
      reply_error(res, 401, req.has_header("Authorization") ? "invalid API key" : "missing API key (Authorization: Bearer KEY)");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_error_handler([&st](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a route already wrote its message
    std::string msg;
    switch (res.status) {
      case 404: msg = "no route " + req.method + " " + req.path; break;
      case 405: msg = "method " + req.method + " not allowed on " + req.path; break;
      case 413:
        msg = "request body larger than " + std::to_string(st.options.max_request_bytes) + " bytes";
        break;
      case 414: msg = "request URI too long"; break;
      default: msg = "HTTP " + std::to_string(res.status); break;
    }
    reply_error(res, res.status, msg);
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string msg = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      msg += std::string(": ") + e.what();
    } catch (...) {
    }
    reply_error(res, 500, msg);
  });
}

}  // namespace rerank::server

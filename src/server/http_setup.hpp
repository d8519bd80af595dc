// http_setup.hpp — internal: the pieces installed on the httplib server besides the routes.
#pragma once
#include "server/state.hpp"

namespace rerank::server {

/// Whether the request carries the API key (always true without one, and for /health).
bool authorized(const ServerOptions& o, const httplib::Request& req);
/// API key check, body size limit, JSON bodies for httplib's own errors, exception handler.
void install_limits(httplib::Server& http, State& st);
/// Access log lines and request metrics.
void install_access_log(httplib::Server& http, State& st);

}  // namespace rerank::server

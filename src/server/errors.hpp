// errors.hpp — internal: the HTTP error a route throws, and request-body helpers that throw it with a message
// naming the field at fault.
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>
#include <string>

namespace rerank::server {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

/// An HTTP error answer: status, message ({"message": ...}) and, for 429/503, a Retry-After in seconds.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message, int retry_after = 0)
      : std::runtime_error(message), status(status), retry_after(retry_after) {}
  int status;
  int retry_after;
};

/// Parses a request body: 400 for invalid JSON, 422 when it is not a JSON object.
Json parse_body(const std::string& body);

/// Required string field (422 when missing or not a string).
std::string require_string(const Json& body, const char* key);
/// Optional boolean (absent or null -> `def`; 422 for another type).
bool optional_bool(const Json& body, const char* key, bool def);
/// Optional integer >= `min` (absent or null -> nullopt; 422 for another type or a smaller value).
std::optional<long long> optional_int(const Json& body, const char* key, long long min);
/// Optional string (absent or null -> ""; 422 for another type).
std::string optional_string(const Json& body, const char* key);

/// The JSON text of an answer (invalid UTF-8 replaced).
std::string dump(const OJson& j);

}  // namespace rerank::server

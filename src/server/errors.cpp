// errors.cpp — request-body helpers: every malformed field becomes an ApiError naming it.
#include "server/errors.hpp"

#include "util/files.hpp"

#include <climits>
#include <cmath>

namespace rerank::server {

Json parse_body(const std::string& body) {
  Json j;
  try {
    j = util::parse_json(body);
  } catch (const Json::parse_error& e) {
    throw ApiError(400, std::string("invalid JSON body: ") + e.what());
  }
  if (!j.is_object()) throw ApiError(422, "the request body must be a JSON object");
  return j;
}

std::string require_string(const Json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) throw ApiError(422, std::string("field \"") + key + "\" is required");
  if (!it->is_string()) throw ApiError(422, std::string("field \"") + key + "\" must be a string");
  return it->get<std::string>();
}

bool optional_bool(const Json& body, const char* key, bool def) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return def;
  if (!it->is_boolean()) throw ApiError(422, std::string("field \"") + key + "\" must be a boolean");
  return it->get<bool>();
}

std::optional<long long> optional_int(const Json& body, const char* key, long long min) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  long long v = 0;
  if (it->is_number_integer()) {
    if (it->is_number_unsigned() && it->get<unsigned long long>() > static_cast<unsigned long long>(LLONG_MAX))
      v = LLONG_MAX;
    else
      v = it->get<long long>();
  } else if (it->is_number_float() && std::isfinite(it->get<double>()) && it->get<double>() == std::floor(it->get<double>()) &&
             std::fabs(it->get<double>()) < 9e18) {
    v = static_cast<long long>(it->get<double>());
  } else {
    throw ApiError(422, std::string("field \"") + key + "\" must be an integer");
  }
  if (v < min) throw ApiError(422, std::string("field \"") + key + "\" must be at least " + std::to_string(min));
  return v;
}

std::string optional_string(const Json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return {};
  if (!it->is_string()) throw ApiError(422, std::string("field \"") + key + "\" must be a string");
  return it->get<std::string>();
}

std::string dump(const OJson& j) { return j.dump(-1, ' ', false, OJson::error_handler_t::replace); }

}  // namespace rerank::server

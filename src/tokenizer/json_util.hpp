// json_util.hpp — internal: reading tokenizer.json fields with errors that name the file and field.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "rerank/error.hpp"

namespace rerank::tok {

using Json = nlohmann::json;

[[noreturn]] inline void fail(const std::string& source, const std::string& field, const std::string& what) {
  throw ModelError(source + ": field '" + field + "': " + what);
}

/// The boolean `obj[key]`, or `def` when absent or null.
inline bool get_bool(const Json& obj, const char* key, bool def, const std::string& source, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return def;
  if (!it->is_boolean()) fail(source, path + "." + key, "expected a boolean");
  return it->get<bool>();
}

/// The string `obj[key]`, or `def` when absent or null.
inline std::string get_string(const Json& obj, const char* key, const std::string& def, const std::string& source,
                              const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return def;
  if (!it->is_string()) fail(source, path + "." + key, "expected a string");
  return it->get<std::string>();
}

/// The `type` string of a component object.
inline std::string get_type(const Json& obj, const std::string& source, const std::string& path) {
  if (!obj.is_object()) fail(source, path, "expected an object");
  auto it = obj.find("type");
  if (it == obj.end() || !it->is_string()) fail(source, path + ".type", "missing or not a string");
  return it->get<std::string>();
}

}  // namespace rerank::tok

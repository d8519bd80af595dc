// Internal helpers of src/eval: reading text files line by line with errors naming the file and line.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rerank/error.hpp"

namespace rerank::eval::detail {

/// The file's lines, CR of CRLF endings removed. Throws InputError naming the path when it cannot be read or
/// contains a NUL byte (binary file).
std::vector<std::string> read_lines(const std::filesystem::path& path);

/// Whitespace-separated fields (spaces and tabs).
std::vector<std::string_view> split_ws(std::string_view line);
/// Tab-separated fields.
std::vector<std::string_view> split_tab(std::string_view line);

bool is_blank(std::string_view s);
std::string_view trim(std::string_view s);
std::string lower(std::string_view s);

/// Strict integer / finite double parsing of a whole field.
std::optional<long long> parse_int(std::string_view s);
std::optional<double> parse_double(std::string_view s);

/// InputError("<path> line N: what").
[[noreturn]] void fail(const std::filesystem::path& path, size_t line, const std::string& what);

/// A field quoted for messages, shortened to 40 characters.
std::string quote(std::string_view s);

}  // namespace rerank::eval::detail

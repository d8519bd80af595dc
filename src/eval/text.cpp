// Line reading and field parsing shared by the evaluation file formats.
#include "eval/text.hpp"
#include "rerank/eval.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>

namespace rerank::eval::detail {

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(path.string() + ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open file");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find('\0') != std::string::npos)
      fail(path, lines.size() + 1, "contains a NUL byte (binary file?)");
    lines.push_back(std::move(line));
  }
  if (in.bad()) throw InputError(path.string() + ": read error");
  return lines;
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\v' || line[i] == '\f')) ++i;
    size_t j = i;
    while (j < line.size() && !(line[j] == ' ' || line[j] == '\t' || line[j] == '\r' || line[j] == '\v' || line[j] == '\f')) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string_view> split_tab(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = line.find('\t', start);
    out.push_back(trim(line.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start)));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

bool is_blank(std::string_view s) { return s.find_first_not_of(" \t\r\v\f") == std::string_view::npos; }

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\v\f");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\v\f");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<long long> parse_int(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

void fail(const std::filesystem::path& path, size_t line, const std::string& what) {
  throw InputError(path.string() + " line " + std::to_string(line) + ": " + what);
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  out += s.size() > 40 ? std::string(s.substr(0, 40)) + "..." : std::string(s);
  return out + "\"";
}

}  // namespace rerank::eval::detail

namespace rerank::eval {

std::string_view query_id_key(std::string_view id) {
  if (id.size() < 2 || id[0] != '0') return id;
  for (char c : id)
    if (c < '0' || c > '9') return id;
  size_t z = id.find_first_not_of('0');
  return z == std::string_view::npos ? id.substr(id.size() - 1) : id.substr(z);
}

}  // namespace rerank::eval

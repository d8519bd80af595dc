// Query files: BEIR JSONL, TREC topics, and the SMART `.I/.W` records of Cranfield, CISI and MED.
#include <nlohmann/json.hpp>

#include <unordered_map>

#include "eval/text.hpp"
#include "rerank/eval.hpp"

namespace rerank::eval {

using detail::fail;
using detail::quote;

QueriesFormat parse_queries_format(std::string_view name) {
  std::string n = detail::lower(name);
  if (n == "auto") return QueriesFormat::Auto;
  if (n == "beir" || n == "jsonl") return QueriesFormat::BeirJsonl;
  if (n == "trec" || n == "topics") return QueriesFormat::TrecTopics;
  if (n == "cranfield") return QueriesFormat::Cranfield;
  if (n == "smart" || n == "cisi" || n == "med") return QueriesFormat::Smart;
  throw InputError("unknown queries format " + quote(name) + " (expected auto, beir, trec, cranfield or smart)");
}

namespace {

std::string collapse_spaces(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::vector<Query> read_beir(const std::filesystem::path& path, const std::vector<std::string>& lines) {
  std::vector<Query> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t ln = i + 1;
    if (detail::is_blank(lines[i])) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(lines[i]);
    } catch (const nlohmann::json::parse_error& e) {
      fail(path, ln, std::string("invalid JSON (") + e.what() + ")");
    }
    if (!j.is_object()) fail(path, ln, "expected a JSON object with \"_id\" and \"text\"");
    auto id = j.find("_id");
    if (id == j.end()) id = j.find("id");  // {"id", "text"} as some exports write it
    auto text = j.find("text");
    if (id == j.end() || !(id->is_string() || id->is_number_integer())) fail(path, ln, "missing string field \"_id\"");
    if (text == j.end() || !text->is_string()) fail(path, ln, "missing string field \"text\"");
    out.push_back({id->is_string() ? id->get<std::string>() : std::to_string(id->get<long long>()), text->get<std::string>()});
  }
  return out;
}

// TREC topics: <top> <num> Number: 301 <title> text <desc> ... </top>; the title may span lines until the next tag.
std::vector<Query> read_trec_topics(const std::filesystem::path& path, const std::vector<std::string>& lines) {
  std::vector<Query> out;
  bool in_top = false;
  size_t top_line = 0;
  std::string num, title;
  enum { None, Num, Title, Other } field = None;
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t ln = i + 1;
    std::string_view l = detail::trim(lines[i]);
    if (l.empty()) continue;
    if (l.rfind("<top>", 0) == 0) {
      if (in_top) fail(path, ln, "<top> inside the <top> opened on line " + std::to_string(top_line));
      in_top = true;
      top_line = ln;
      num.clear();
      title.clear();
      field = None;
      l = detail::trim(l.substr(5));
      if (l.empty()) continue;
    }
    if (l.rfind("</top>", 0) == 0) {
      if (!in_top) fail(path, ln, "</top> without <top>");
      if (num.empty()) fail(path, ln, "topic opened on line " + std::to_string(top_line) + " has no <num>");
      std::string t = collapse_spaces(title);
      if (t.empty()) fail(path, ln, "topic " + quote(num) + " has an empty <title>");
      out.push_back({num, t});
      in_top = false;
      continue;
    }
    if (!in_top) fail(path, ln, "text outside <top> ... </top>: " + quote(l));
    if (l.rfind("<num>", 0) == 0) {
      std::string_view v = detail::trim(l.substr(5));
      if (detail::lower(v.substr(0, 7)) == "number:") v = detail::trim(v.substr(7));
      if (auto e = v.find("</num>"); e != std::string_view::npos) v = detail::trim(v.substr(0, e));
      auto parts = detail::split_ws(v);
      if (parts.size() != 1) fail(path, ln, "<num> must hold one topic number, got " + quote(v));
      num = std::string(parts[0]);
      field = Num;
    } else if (l.rfind("<title>", 0) == 0) {
      std::string_view v = detail::trim(l.substr(7));
      if (detail::lower(v.substr(0, 6)) == "topic:") v = detail::trim(v.substr(6));
      if (auto e = v.find("</title>"); e != std::string_view::npos) v = v.substr(0, e);
      title = std::string(v);
      field = Title;
    } else if (l[0] == '<') {
      field = Other;
    } else if (field == Title) {
      if (auto e = l.find("</title>"); e != std::string_view::npos) l = l.substr(0, e);
      title.append(" ").append(l);
    }
  }
  if (in_top) fail(path, lines.size(), "<top> opened on line " + std::to_string(top_line) + " is never closed");
  return out;
}

// SMART records: `.I id`, then field markers `.T .A .B .W .X .K` each on its own line followed by text lines.
std::vector<Query> read_smart(const std::filesystem::path& path, const std::vector<std::string>& lines, bool ordinal_ids) {
  std::vector<Query> out;
  std::string w, t;
  char field = 0;
  bool open = false;
  std::string id;
  size_t rec_line = 0;
  auto close = [&](size_t ln) {
    if (!open) return;
    std::string text = collapse_spaces(w.empty() ? t : w);
    if (text.empty()) fail(path, rec_line, "query record " + quote(id) + " has no .W (or .T) text");
    out.push_back({ordinal_ids ? std::to_string(out.size() + 1) : id, text});
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t ln = i + 1;
    std::string_view l = lines[i];
    if (l.size() >= 2 && l[0] == '.' && (l.size() == 2 || l[2] == ' ' || l[2] == '\t')) {
      char m = l[1];
      if (m == 'I') {
        close(ln);
        auto f = detail::split_ws(l.substr(2));
        if (f.size() != 1 || !detail::parse_int(f[0]) || *detail::parse_int(f[0]) < 0)
          fail(path, ln, "expected `.I <number>`, got " + quote(l));
        id = std::to_string(*detail::parse_int(f[0]));
        open = true;
        rec_line = ln;
        w.clear();
        t.clear();
        field = 0;
        continue;
      }
      if (m == 'T' || m == 'A' || m == 'B' || m == 'W' || m == 'X' || m == 'K' || m == 'N') {
        if (!open) fail(path, ln, "field marker " + quote(l) + " before the first `.I` record");
        field = m;
        continue;
      }
    }
    if (!open) {
      if (detail::is_blank(l)) continue;
      fail(path, ln, "expected a `.I <number>` record, got " + quote(l));
    }
    if (field == 'W') w.append(" ").append(l);
    else if (field == 'T') t.append(" ").append(l);
  }
  close(lines.size());
  return out;
}

QueriesFormat detect(const std::filesystem::path& path, const std::vector<std::string>& lines) {
  const std::string fname = detail::lower(path.filename().string());
  if (fname.rfind("cran", 0) == 0 && fname.find(".qry") != std::string::npos) return QueriesFormat::Cranfield;
  for (const auto& l : lines) {
    std::string_view s = detail::trim(l);
    if (s.empty()) continue;
    if (s[0] == '{') return QueriesFormat::BeirJsonl;
    if (s.rfind("<top>", 0) == 0) return QueriesFormat::TrecTopics;
    if (s.rfind(".I", 0) == 0) return QueriesFormat::Smart;
    throw InputError(path.string() + ": cannot tell the queries format from its first line " + quote(s) +
                     " (expected BEIR JSON lines, TREC <top> topics or SMART .I records)");
  }
  return QueriesFormat::BeirJsonl;  // empty file
}

}  // namespace

std::vector<Query> read_queries(const std::filesystem::path& path, QueriesFormat format) {
  const auto lines = detail::read_lines(path);
  if (format == QueriesFormat::Auto) format = detect(path, lines);
  std::vector<Query> out;
  switch (format) {
    case QueriesFormat::BeirJsonl: out = read_beir(path, lines); break;
    case QueriesFormat::TrecTopics: out = read_trec_topics(path, lines); break;
    case QueriesFormat::Cranfield: out = read_smart(path, lines, true); break;
    case QueriesFormat::Smart:
    case QueriesFormat::Auto: out = read_smart(path, lines, false); break;
  }
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < out.size(); ++i) {
    auto [it, inserted] = seen.emplace(out[i].id, i);
    if (!inserted) throw InputError(path.string() + ": query id " + quote(out[i].id) + " appears twice");
  }
  return out;
}

}  // namespace rerank::eval

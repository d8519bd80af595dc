// Query files: BEIR JSONL, TREC topics, and the SMART `.I/.W` records of Cranfield, CISI and MED.
#include <nlohmann/json.hpp>

#include <cctype>
#include <optional>
#include <unordered_map>

#include "util/files.hpp"
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
      j = util::parse_json(lines[i]);
    } catch (const nlohmann::json::parse_error& e) {
      fail(path, ln, std::string("invalid JSON (") + e.what() + ")");
    }
    if (!j.is_object()) fail(path, ln, "expected a JSON object with \"_id\" and \"text\"");
    auto id = j.find("_id");
    if (id == j.end()) id = j.find("id");  // {"id", "text"} as some exports write it
    auto text = j.find("text");
    if (id == j.end() || !(id->is_string() || id->is_number_integer())) fail(path, ln, "missing string field \"_id\"");
    if (text == j.end() || !text->is_string()) fail(path, ln, "missing string field \"text\"");
    std::string qid = id->is_string() ? id->get<std::string>() : std::to_string(id->get<long long>());
    if (qid.empty()) fail(path, ln, "empty query id (\"_id\": \"\"): qrels and runs could not name this query");
    out.push_back({std::move(qid), text->get<std::string>()});
  }
  return out;
}

// TREC topics, classic (`<top> <num> Number: 301 <title> text <desc> Description: ... </top>`, tags left open, a
// field running to the next tag, possibly over several lines) or with closed tags (`<top><num>1</num><title>
// text</title></top>`), any mix, tag names in any case. The query text is the title.
struct TopicTag {
  std::string name;  // lowercased
  bool closing = false;
  size_t end = 0;  // just past '>'
};

/// A tag `<name>` / `</name>` (letters, digits, '_', '-') starting at l[i] == '<'; nullopt for a '<' in text.
std::optional<TopicTag> topic_tag_at(std::string_view l, size_t i) {
  TopicTag t;
  size_t j = i + 1;
  if (j < l.size() && l[j] == '/') t.closing = true, ++j;
  size_t k = j;
  while (k < l.size() && (std::isalnum(static_cast<unsigned char>(l[k])) || l[k] == '_' || l[k] == '-')) ++k;
  if (k == j || k >= l.size() || l[k] != '>' || !std::isalpha(static_cast<unsigned char>(l[j]))) return std::nullopt;
  t.name = detail::lower(l.substr(j, k - j));
  t.end = k + 1;
  return t;
}

class TopicReader {
 public:
  explicit TopicReader(const std::filesystem::path& path) : path_(path) {}

  std::vector<Query> read(const std::vector<std::string>& lines) {
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string_view l = lines[i];
      ln_ = i + 1;
      size_t pos = 0;
      while (pos < l.size()) {
        size_t lt = l.find('<', pos);
        std::optional<TopicTag> tag;
        while (lt != std::string_view::npos && !(tag = topic_tag_at(l, lt))) lt = l.find('<', lt + 1);
        text(l.substr(pos, lt == std::string_view::npos ? std::string_view::npos : lt - pos));
        if (!tag) break;
        on_tag(*tag);
        pos = tag->end;
      }
      text(" ");  // a line break separates words
    }
    if (in_top_) fail(path_, lines.size(), "<top> opened on line " + std::to_string(top_line_) + " is never closed");
    return std::move(out_);
  }

 private:
  void text(std::string_view s) {
    if (!in_top_) {
      if (!detail::is_blank(s)) fail(path_, ln_, "text outside <top> ... </top>: " + quote(detail::trim(s)));
      return;
    }
    if (field_ == Field::Num) num_.append(s);
    else if (field_ == Field::Title) title_.append(s);
  }

  void on_tag(const TopicTag& t) {
    if (t.name == "top") {
      if (!t.closing) {
        if (in_top_) fail(path_, ln_, "<top> inside the <top> opened on line " + std::to_string(top_line_));
        in_top_ = true;
        top_line_ = ln_;
        num_.clear(), title_.clear();
        num_line_ = 0;
        field_ = Field::None;
      } else {
        if (!in_top_) fail(path_, ln_, "</top> without <top>");
        finish();
        in_top_ = false;
      }
      return;
    }
    if (!in_top_) fail(path_, ln_, "<" + std::string(t.closing ? "/" : "") + t.name + "> outside <top> ... </top>");
    field_ = Field::Other;  // a closing tag, or a field we do not use (<desc>, <narr>, ...)
    if (t.closing) return;
    if (t.name == "num") {
      if (num_line_) fail(path_, ln_, "a second <num> in the topic opened on line " + std::to_string(top_line_));
      num_line_ = ln_;
      field_ = Field::Num;
    } else if (t.name == "title") {
      field_ = Field::Title;
    }
  }

  void finish() {
    if (!num_line_) fail(path_, ln_, "topic opened on line " + std::to_string(top_line_) + " has no <num>");
    std::string_view v = detail::trim(num_);
    if (detail::lower(v.substr(0, 7)) == "number:") v = detail::trim(v.substr(7));
    auto parts = detail::split_ws(v);
    if (parts.size() != 1) fail(path_, num_line_, "<num> must hold one topic number, got " + quote(v));
    std::string t = collapse_spaces(title_);
    if (detail::lower(std::string_view(t).substr(0, 6)) == "topic:") t = collapse_spaces(t.substr(6));
    if (t.empty()) fail(path_, ln_, "topic " + quote(parts[0]) + " has an empty <title>");
    out_.push_back({std::string(parts[0]), t});
  }

  enum class Field { None, Num, Title, Other };
  const std::filesystem::path& path_;
  std::vector<Query> out_;
  size_t ln_ = 0, top_line_ = 0, num_line_ = 0;
  bool in_top_ = false;
  Field field_ = Field::None;
  std::string num_, title_;
};

std::vector<Query> read_trec_topics(const std::filesystem::path& path, const std::vector<std::string>& lines) {
  return TopicReader(path).read(lines);
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
    if (detail::lower(s.substr(0, 5)) == "<top>") return QueriesFormat::TrecTopics;
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
  std::unordered_map<std::string_view, size_t> seen;  // "01" and "1" are one query (see query_id_key)
  for (size_t i = 0; i < out.size(); ++i) {
    auto [it, inserted] = seen.emplace(query_id_key(out[i].id), i);
    if (!inserted)
      throw InputError(path.string() + ": query id " + quote(out[i].id) + " appears twice" +
                       (out[it->second].id != out[i].id ? " (as " + quote(out[it->second].id) + ")" : ""));
  }
  return out;
}

}  // namespace rerank::eval

// Document readers for `rerank index`: JSON lines (BEIR corpus.jsonl, .gz too), CSV/TSV, SMART classic
// collections (.I/.T/.A/.W records), TREC SGML (trec_reader.cpp) and plain text / Markdown files (see
// rerank/collection.hpp).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

#include "util/files.hpp"
#include "collection/line_reader.hpp"
#include "collection/trec_reader.hpp"
#include "rerank/collection.hpp"
#include "rerank/error.hpp"

namespace rerank {
namespace {

using collection::LineReader;
using collection::valid_utf8;
using Callback = std::function<void(std::vector<Document>&, const ReadProgress&)>;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string at(const LineReader& r) { return r.name() + " line " + std::to_string(r.line_number()); }

struct Batcher {
  size_t batch;
  const Callback& cb;
  std::vector<Document> docs;
  ReadProgress progress;
  void push(Document d, const LineReader& r) {
    docs.push_back(std::move(d));
    ++progress.documents;
    if (docs.size() >= batch) flush(r);
  }
  void flush(const LineReader& r) {
    progress.bytes_read = r.bytes_read();
    progress.bytes_total = r.bytes_total();
    if (!docs.empty()) cb(docs, progress);
    docs.clear();
  }
};

std::string id_value(const nlohmann::json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  throw InputError(where + ": the id must be a string or an integer");
}

void read_jsonl(const std::filesystem::path& file, Batcher& out) {
  LineReader r(file);
  std::string line;
  while (r.next(line)) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = util::parse_json(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(at(r) + ": invalid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw InputError(at(r) + ": expected a JSON object");
    Document d;
    auto id = j.find("_id");
    if (id == j.end()) id = j.find("id");
    if (id == j.end()) id = j.find("docid");
    if (id == j.end()) throw InputError(at(r) + ": missing field \"_id\" (or \"id\")");
    d.id = id_value(*id, at(r));
    for (const char* key : {"text", "title"}) {
      auto it = j.find(key);
      if (it == j.end() || it->is_null()) continue;
      if (!it->is_string()) throw InputError(at(r) + ": field \"" + key + "\" must be a string");
      (key[1] == 'e' ? d.text : d.title) = it->get<std::string>();
    }
    if (!j.contains("text") && !j.contains("title")) {
      auto c = j.find("contents");  // Pyserini's JSON collections
      if (c == j.end() || !c->is_string()) throw InputError(at(r) + ": missing field \"text\"");
      d.text = c->get<std::string>();
    }
    auto m = j.find("metadata");
    if (m != j.end() && !m->is_null() && !(m->is_object() && m->empty())) d.metadata = m->dump();
    out.push(std::move(d), r);
  }
  out.flush(r);
}

/// One CSV/TSV record (RFC 4180 quoting; a quoted field may span lines). False at end of file.
bool read_record(LineReader& r, char delim, std::vector<std::string>& fields, size_t& first_line) {
  std::string line;
  fields.clear();
  do {
    if (!r.next(line)) return false;
  } while (line.empty());
  first_line = r.line_number();
  std::string cur;
  size_t i = 0;
  bool quoted = false, field_start = true;
  while (true) {
    if (i >= line.size()) {
      if (quoted) {  // the quoted field continues on the next line
        if (!r.next(line)) throw InputError(r.name() + " line " + std::to_string(first_line) + ": unterminated quoted field");
        r.check_document_size(cur.size() + line.size());
        cur.push_back('\n');
        i = 0;
        continue;
      }
      fields.push_back(std::move(cur));
      return true;
    }
    char c = line[i++];
    if (quoted) {
      if (c == '"') {
        if (i < line.size() && line[i] == '"') {
          cur.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur.push_back(c);
      }
    } else if (c == delim) {
      fields.push_back(std::move(cur));
      cur.clear();
      field_start = true;
      continue;
    } else if (c == '"' && field_start) {
      quoted = true;
    } else {
      cur.push_back(c);
    }
    field_start = false;
  }
}

void read_csv(const std::filesystem::path& file, char delim, Batcher& out) {
  LineReader r(file);
  std::vector<std::string> f;
  size_t line = 0;
  if (!read_record(r, delim, f, line)) return;
  int id_col = -1, text_col = -1, title_col = -1;
  for (size_t i = 0; i < f.size(); ++i) {
    std::string h = lower(f[i]);
    if (i == 0 && h.size() >= 3 && h.compare(0, 3, "\xEF\xBB\xBF") == 0) h.erase(0, 3);  // BOM
    if (h == "id" || h == "_id" || h == "docid" || h == "doc_id") id_col = static_cast<int>(i);
    else if (h == "text" || h == "body" || h == "contents") text_col = static_cast<int>(i);
    else if (h == "title") title_col = static_cast<int>(i);
  }
  if (id_col < 0 || text_col < 0)
    throw InputError(r.name() + " line " + std::to_string(line) + ": the header must name an \"id\" and a \"text\" column");
  while (read_record(r, delim, f, line)) {
    std::string where = r.name() + " line " + std::to_string(line);
    auto need = static_cast<size_t>(std::max({id_col, text_col, title_col})) + 1;
    if (f.size() < need)
      throw InputError(where + ": " + std::to_string(f.size()) + " columns, the header has " + std::to_string(need) + " or more");
    Document d;
    d.id = valid_utf8(f[static_cast<size_t>(id_col)]);
    d.text = valid_utf8(f[static_cast<size_t>(text_col)]);
    if (title_col >= 0) d.title = valid_utf8(f[static_cast<size_t>(title_col)]);
    out.push(std::move(d), r);
  }
  out.flush(r);
}

bool smart_marker(const std::string& line, char& field, std::string& rest) {
  if (line.size() < 2 || line[0] != '.' || !std::isupper(static_cast<unsigned char>(line[1]))) return false;
  if (line.size() > 2 && line[2] != ' ' && line[2] != '\t') return false;
  std::string r = line.size() > 2 ? line.substr(3) : "";
  if (line[1] != 'I' && r.find_first_not_of(" \t") != std::string::npos) return false;  // text starting with ".X"
  field = line[1];
  size_t a = r.find_first_not_of(" \t"), b = r.find_last_not_of(" \t");
  rest = a == std::string::npos ? "" : r.substr(a, b - a + 1);
  return true;
}

void read_smart(const std::filesystem::path& file, Batcher& out) {
  LineReader r(file);
  std::string line, rest;
  Document d;
  bool have = false;
  char field = 0;
  nlohmann::json meta = nlohmann::json::object();
  std::string buf;
  auto close_field = [&] {
    while (!buf.empty() && (buf.back() == '\n' || buf.back() == ' ')) buf.pop_back();
    if (field == 'T') d.title = valid_utf8(buf);
    else if (field == 'W') d.text = valid_utf8(buf);
    else if (field != 0 && field != 'I') meta[std::string(1, field)] = valid_utf8(buf);
    buf.clear();
  };
  auto close_doc = [&] {
    close_field();
    if (!meta.empty()) d.metadata = meta.dump();
    out.push(std::move(d), r);
    d = Document{};
    meta = nlohmann::json::object();
  };
  while (r.next(line)) {
    char f;
    if (smart_marker(line, f, rest)) {
      if (f == 'I') {
        if (have) close_doc();
        if (rest.empty()) throw InputError(at(r) + ": .I without a document id");
        d.id = rest;
        have = true;
        field = 'I';
      } else {
        if (!have) throw InputError(at(r) + ": field ." + std::string(1, f) + " before the first .I record");
        close_field();
        field = f;
      }
      continue;
    }
    if (!have) {
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      throw InputError(at(r) + ": expected a .I record (SMART format)");
    }
    size_t a = line.find_first_not_of(" \t");
    if (a == std::string::npos) continue;
    if (!buf.empty()) buf.push_back('\n');
    buf.append(line, a, std::string::npos);
    r.check_document_size(buf.size());
  }
  if (have) close_doc();
  out.flush(r);
}

void read_trec(const std::filesystem::path& file, Batcher& out) {
  LineReader r(file);
  collection::read_trec_documents(r, [&](Document&& d) { out.push(std::move(d), r); });
  out.flush(r);
}

void read_text(const std::filesystem::path& file, Batcher& out) {
  LineReader r(file);
  std::string line, text;
  while (r.next(line)) {
    text += line;
    text.push_back('\n');
    r.check_document_size(text.size());
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  Document d;
  d.id = file.filename().string();
  d.text = valid_utf8(text);
  out.push(std::move(d), r);
  out.flush(r);
}

}  // namespace

DocumentFormat parse_format(const std::string& name) {
  if (name == "auto") return DocumentFormat::Auto;
  if (name == "jsonl" || name == "json") return DocumentFormat::JsonLines;
  if (name == "csv") return DocumentFormat::Csv;
  if (name == "tsv") return DocumentFormat::Tsv;
  if (name == "text" || name == "txt" || name == "markdown" || name == "md") return DocumentFormat::Text;
  if (name == "smart") return DocumentFormat::Smart;
  if (name == "trec" || name == "sgml") return DocumentFormat::Trec;
  throw InputError("unknown format \"" + name + "\" (expected auto, jsonl, csv, tsv, text, smart or trec)");
}

DocumentFormat detect_format(const std::filesystem::path& file) {
  std::string name = lower(file.filename().string());
  if (name.size() > 3 && name.ends_with(".gz")) name.resize(name.size() - 3);
  std::string ext = std::filesystem::path(name).extension().string();
  if (ext == ".jsonl" || ext == ".json" || ext == ".ndjson") return DocumentFormat::JsonLines;
  if (ext == ".csv") return DocumentFormat::Csv;
  if (ext == ".tsv") return DocumentFormat::Tsv;
  if (ext == ".all" || name.starts_with("cran.all")) return DocumentFormat::Smart;
  if (ext == ".md" || ext == ".markdown" || ext == ".txt") return DocumentFormat::Text;
  LineReader r(file);
  std::string line;
  while (r.next(line) && line.find_first_not_of(" \t") == std::string::npos) {
  }
  if (line.rfind(".I ", 0) == 0) return DocumentFormat::Smart;
  if (collection::starts_trec_document(line)) return DocumentFormat::Trec;
  if (!line.empty() && line[0] == '{') return DocumentFormat::JsonLines;
  return DocumentFormat::Text;
}

void read_documents(const std::filesystem::path& file, DocumentFormat format, size_t batch, const Callback& on_batch) {
  if (format == DocumentFormat::Auto) format = detect_format(file);
  Batcher b{std::max<size_t>(batch, 1), on_batch, {}, {}};
  switch (format) {
    case DocumentFormat::JsonLines: read_jsonl(file, b); break;
    case DocumentFormat::Csv: read_csv(file, ',', b); break;
    case DocumentFormat::Tsv: read_csv(file, '\t', b); break;
    case DocumentFormat::Smart: read_smart(file, b); break;
    case DocumentFormat::Trec: read_trec(file, b); break;
    case DocumentFormat::Text:
    case DocumentFormat::Auto: read_text(file, b); break;
  }
}

}  // namespace rerank

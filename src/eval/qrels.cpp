// Relevance judgments: BEIR TSV, TREC, Cranfield's cranqrel, CISI.REL and `qid docid 0 0` (CACM), with
// auto-detection.
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "eval/text.hpp"
#include "rerank/eval.hpp"

namespace rerank::eval {

using detail::fail;
using detail::quote;

void Qrels::add(const std::string& qid, const std::string& docid, int relevance) {
  auto [it, inserted] = queries[qid].emplace(docid, relevance);
  if (!inserted) throw InputError("qrels: query " + quote(qid) + ": document " + quote(docid) + " is judged twice");
}

size_t Qrels::num_judgments() const {
  size_t n = 0;
  for (const auto& [q, docs] : queries) n += docs.size();
  return n;
}

int cranfield_relevance(int code) {
  switch (code) {
    case 1: return 4;
    case 2: return 3;
    case 3: return 2;
    case 4: return 1;
    case -1: return 0;
    default: throw InputError("Cranfield relevance code " + std::to_string(code) + " (expected 1, 2, 3, 4 or -1)");
  }
}

QrelsFormat parse_qrels_format(std::string_view name) {
  std::string n = detail::lower(name);
  if (n == "auto") return QrelsFormat::Auto;
  if (n == "trec") return QrelsFormat::Trec;
  if (n == "beir" || n == "tsv") return QrelsFormat::Beir;
  if (n == "cranfield" || n == "cranqrel") return QrelsFormat::Cranfield;
  if (n == "cisi") return QrelsFormat::Cisi;
  if (n == "qid-docid" || n == "cacm") return QrelsFormat::QidDocid;
  throw InputError("unknown qrels format " + quote(name) + " (expected auto, trec, beir, cranfield, cisi or qid-docid)");
}

namespace {

bool is_beir_header(std::string_view line) {
  auto f = detail::split_tab(line);
  return f.size() == 3 && detail::lower(f[0]) == "query-id" && detail::lower(f[1]) == "corpus-id";
}

// CISI.REL layout: integer qid, integer docid, "0", a decimal number.
bool is_cisi_line(std::string_view line) {
  auto f = detail::split_ws(line);
  return f.size() == 4 && detail::parse_int(f[0]) && detail::parse_int(f[1]) && f[2] == "0" &&
         f[3].find('.') != std::string_view::npos && detail::parse_double(f[3]);
}

// `qid docid 0 0` (CACM's qrels.text): 4 columns whose TREC reading is impossible, because the third column (the
// TREC document id) is the same on every line while a query id repeats, i.e. every judgment would be a duplicate.
bool trec_reading_impossible(const std::vector<std::string>& lines) {
  std::string_view third;
  bool first = true, repeated = false;
  std::unordered_set<std::string_view> qids;
  for (const auto& l : lines) {
    if (detail::is_blank(l)) continue;
    auto f = detail::split_ws(l);
    if (f.size() != 4) return false;
    if (first) third = f[2], first = false;
    else if (f[2] != third) return false;
    repeated |= !qids.insert(query_id_key(f[0])).second;
  }
  return repeated;
}

QrelsFormat detect(const std::filesystem::path& path, const std::vector<std::string>& lines) {
  const std::string fname = detail::lower(path.filename().string());
  size_t first = 0;
  while (first < lines.size() && detail::is_blank(lines[first])) ++first;
  if (first == lines.size()) return QrelsFormat::Trec;  // empty: any parser gives empty qrels
  const std::string& l = lines[first];
  if (is_beir_header(l)) return QrelsFormat::Beir;
  if (fname.rfind("cranqrel", 0) == 0) return QrelsFormat::Cranfield;
  if (is_cisi_line(l)) return QrelsFormat::Cisi;
  auto f = detail::split_ws(l);
  if (f.size() == 4) return trec_reading_impossible(lines) ? QrelsFormat::QidDocid : QrelsFormat::Trec;
  fail(path, first + 1,
       "cannot tell the qrels format: expected TREC `qid 0 docid rel` (4 columns) or a BEIR TSV starting with the "
       "header `query-id<TAB>corpus-id<TAB>score`; got " + std::to_string(f.size()) +
       " columns (pass the format explicitly, e.g. --qrels-format cranfield)");
}

int relevance_field(const std::filesystem::path& path, size_t line, std::string_view s) {
  auto v = detail::parse_int(s);
  if (!v) {
    // BEIR files sometimes write 1.0; accept integral decimals only.
    auto d = detail::parse_double(s);
    // (range first: casting 4e127 to long long is undefined; found by fuzz_qrels_run)
    if (d && std::abs(*d) <= 1e9 && *d == std::trunc(*d)) v = static_cast<long long>(*d);
  }
  if (!v) fail(path, line, "relevance " + quote(s) + " is not an integer");
  if (*v < -1000000 || *v > 1000000) fail(path, line, "relevance " + quote(s) + " is out of range");
  return static_cast<int>(*v);
}

}  // namespace

Qrels read_qrels(const std::filesystem::path& path, QrelsFormat format) {
  const auto lines = detail::read_lines(path);
  if (format == QrelsFormat::Auto) format = detect(path, lines);
  Qrels qrels;
  std::unordered_map<std::string, size_t> seen;  // "qid\tdocid" -> line
  auto add = [&](size_t line, std::string_view qid, std::string_view doc, int rel) {
    if (qid.empty()) fail(path, line, "empty query id");
    if (doc.empty()) fail(path, line, "empty document id");
    std::string key = std::string(query_id_key(qid)) + '\t' + std::string(doc);
    auto [it, inserted] = seen.emplace(std::move(key), line);
    if (!inserted)
      fail(path, line, "query " + quote(qid) + ", document " + quote(doc) + " is already judged on line " +
                           std::to_string(it->second) + " (trec_eval rejects duplicate judgments too)");
    qrels.queries[std::string(qid)].emplace(std::string(doc), rel);
  };
  bool header_seen = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t ln = i + 1;
    const std::string& l = lines[i];
    if (detail::is_blank(l)) continue;
    switch (format) {
      case QrelsFormat::Beir: {
        if (!header_seen) {
          header_seen = true;
          if (!is_beir_header(l))
            fail(path, ln, "expected the BEIR header `query-id<TAB>corpus-id<TAB>score`, got " + quote(l));
          continue;
        }
        auto f = detail::split_tab(l);
        if (f.size() != 3)
          fail(path, ln, "expected 3 tab-separated columns `query-id corpus-id score`, got " + std::to_string(f.size()));
        add(ln, f[0], f[1], relevance_field(path, ln, f[2]));
        break;
      }
      case QrelsFormat::Trec: {
        auto f = detail::split_ws(l);
        if (f.size() != 4) fail(path, ln, "expected 4 columns `qid iter docid rel`, got " + std::to_string(f.size()));
        add(ln, f[0], f[2], relevance_field(path, ln, f[3]));
        break;
      }
      case QrelsFormat::Cranfield: {
        auto f = detail::split_ws(l);
        if (f.size() != 3) fail(path, ln, "expected 3 columns `qid docid code` (cranqrel), got " + std::to_string(f.size()));
        if (!detail::parse_int(f[0]) || !detail::parse_int(f[1]))
          fail(path, ln, "query and document ids must be integers in cranqrel");
        int code = relevance_field(path, ln, f[2]);
        int rel;
        try {
          rel = cranfield_relevance(code);
        } catch (const InputError& e) {
          fail(path, ln, e.what());
        }
        add(ln, std::to_string(*detail::parse_int(f[0])), std::to_string(*detail::parse_int(f[1])), rel);
        break;
      }
      case QrelsFormat::Cisi: {
        if (!is_cisi_line(l)) fail(path, ln, "expected `qid docid 0 0.000000` (CISI.REL), got " + quote(l));
        auto f = detail::split_ws(l);
        add(ln, std::to_string(*detail::parse_int(f[0])), std::to_string(*detail::parse_int(f[1])), 1);
        break;
      }
      case QrelsFormat::QidDocid: {
        auto f = detail::split_ws(l);
        if (f.size() != 4) fail(path, ln, "expected 4 columns `qid docid 0 0` (qid-docid layout, as CACM), got " + std::to_string(f.size()));
        add(ln, f[0], f[1], 1);
        break;
      }
      case QrelsFormat::Auto: break;
    }
  }
  return qrels;
}

}  // namespace rerank::eval

// Tables and number formats shared by `rerank eval` (terminal) and the reports (Markdown, HTML): one place decides
// how a mean, a difference, a p-value and a latency are written.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "eval/html.hpp"
#include "rerank/eval.hpp"

namespace rerank::eval {

std::string format_value(double v, int digits) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string format_diff(double v) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.4f", v);
  return buf;
}

std::string format_p(double p) {
  if (std::isnan(p)) return "n/a";
  char buf[64];
  if (p < 0.0001) std::snprintf(buf, sizeof buf, "%.1e", p);
  else std::snprintf(buf, sizeof buf, "%.4f", p);
  return buf;
}

std::string format_ms(double ms) {
  if (std::isnan(ms)) return "n/a";
  char buf[64];
  if (ms >= 100) std::snprintf(buf, sizeof buf, "%.0f", ms);
  else if (ms >= 10) std::snprintf(buf, sizeof buf, "%.1f", ms);
  else std::snprintf(buf, sizeof buf, "%.2f", ms);
  return buf;
}

namespace {

// Display width: UTF-8 continuation bytes take no column.
size_t width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

bool is_diff_column(const std::string& h) { return h.rfind("diff", 0) == 0; }

}  // namespace

std::string Table::text() const {
  std::vector<std::vector<std::string>> all;
  all.push_back(header);
  for (const auto& r : rows) all.push_back(r);
  std::vector<size_t> w;
  for (const auto& r : all)
    for (size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], width(r[i]));
    }
  std::ostringstream o;
  if (!title.empty()) o << title << "\n";
  for (const auto& r : all) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      const std::string fill(w[i] - width(r[i]), ' ');
      if (i) line += "  ";
      line += (i == 0 || !numeric) ? r[i] + fill : fill + r[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    o << line << "\n";
  }
  if (!note.empty()) o << note << "\n";
  return o.str();
}

std::string Table::markdown() const {
  std::ostringstream o;
  if (!title.empty()) o << "## " << detail::md_escape(title) << "\n\n";
  o << "|";
  for (const auto& h : header) o << ' ' << detail::md_escape(h) << " |";
  o << "\n|";
  for (size_t i = 0; i < header.size(); ++i) o << (i == 0 || !numeric ? "---|" : "---:|");
  o << "\n";
  for (const auto& r : rows) {
    o << "|";
    for (const auto& c : r) o << ' ' << detail::md_escape(c) << " |";
    o << "\n";
  }
  if (!note.empty()) o << "\n" << detail::md_escape(note) << "\n";
  o << "\n";
  return o.str();
}

std::string Table::html() const {
  std::ostringstream o;
  if (!title.empty()) o << "<h2>" << detail::html_escape(title) << "</h2>\n";
  o << "<table" << (id.empty() ? "" : " id=\"" + detail::html_escape(id) + "\"") << (numeric ? "" : " class=\"text\"")
    << "><tr>";
  for (const auto& h : header) o << "<th>" << detail::html_escape(h) << "</th>";
  o << "</tr>\n";
  for (const auto& r : rows) {
    o << "<tr>";
    for (size_t i = 0; i < r.size(); ++i) {
      const char* cls = "";
      if (i < header.size() && is_diff_column(header[i]) && !r[i].empty()) {
        const bool zero = r[i].find_first_not_of("+-0.") == std::string::npos;
        if (!zero && r[i][0] == '+') cls = " class=\"win\"";
        else if (!zero && r[i][0] == '-') cls = " class=\"loss\"";
      }
      o << "<td" << cls << ">" << detail::html_escape(r[i]) << "</td>";
    }
    o << "</tr>\n";
  }
  o << "</table>\n";
  if (!note.empty()) o << "<p class=\"note\">" << detail::html_escape(note) << "</p>\n";
  return o.str();
}

namespace {
std::string wtl(const Comparison& c) {
  return std::to_string(c.wins) + " / " + std::to_string(c.ties) + " / " + std::to_string(c.losses);
}
}  // namespace

Table means_table(const std::vector<Evaluation>& runs, const std::vector<std::vector<Comparison>>& comparisons) {
  Table t;
  t.title = "Means";
  t.id = "means";
  t.header.push_back("metric");
  for (const auto& r : runs) t.header.push_back(r.run);
  const bool pair = runs.size() == 2 && !comparisons.empty() && !comparisons[0].empty();
  if (pair) {
    for (const char* h : {"diff", "p (t-test)", "p (randomization)", "wins / ties / losses"}) t.header.push_back(h);
  }
  const size_t nm = runs.empty() ? 0 : runs[0].metrics.size();
  for (size_t m = 0; m < nm; ++m) {
    std::vector<std::string> row{runs[0].metrics[m].name};
    for (const auto& r : runs) row.push_back(format_value(r.mean(m)));
    if (pair) {
      const auto& c = comparisons[0][m];
      row.push_back(format_diff(c.diff));
      row.push_back(format_p(c.ttest.p));
      row.push_back(format_p(c.p_randomization));
      row.push_back(wtl(c));
    }
    t.rows.push_back(std::move(row));
  }
  std::vector<std::string> q{"queries"};
  for (const auto& r : runs) q.push_back(std::to_string(r.query_ids.size()));
  if (pair) q.resize(t.header.size());
  t.rows.push_back(std::move(q));
  return t;
}

Table comparison_table(const std::string& baseline, const std::string& run, const std::vector<Comparison>& comparisons) {
  Table t;
  t.title = run + " vs " + baseline;
  t.header = {"metric", baseline, run, "diff", "p (t-test)", "p (randomization)", "wins / ties / losses"};
  for (const auto& c : comparisons)
    t.rows.push_back({c.metric, format_value(c.mean_a), format_value(c.mean_b), format_diff(c.diff), format_p(c.ttest.p),
                      format_p(c.p_randomization), wtl(c)});
  const size_t n = comparisons.empty() ? 0 : comparisons[0].n;
  t.note = "Paired over " + std::to_string(n) +
           " queries (a query missing from one run counts 0 there). Two-sided p-values: paired Student's t-test and "
           "sign-flip randomization test.";
  return t;
}

}  // namespace rerank::eval

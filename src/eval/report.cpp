// Reports of the run-file mode: a self-contained HTML page and a Markdown file with the tables (table.cpp), a
// before/after bar chart per metric and per-query delta histograms (svg.cpp). Also the helpers every report uses.
#include <cctype>
#include <fstream>
#include <sstream>

#include "eval/html.hpp"
#include "rerank/error.hpp"
#include "rerank/eval.hpp"

namespace rerank::eval {

namespace detail {

std::string html_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o.push_back(c);
    }
  }
  return o;
}

std::string md_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '|' || c == '*' || c == '_' || c == '`' || c == '[' || c == ']') o.push_back('\\');
    o.push_back(c);
  }
  return o;
}

std::string file_safe(const std::string& s) {
  std::string o;
  for (char c : s) o.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return o;
}

void write_text_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  if (!out) throw InputError(p.string() + ": cannot open for writing");
  out << text;
  out.flush();
  if (!out) throw InputError(p.string() + ": write error");
}

void make_report_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw InputError(dir.string() + ": cannot create report directory (" + ec.message() + ")");
}

std::string html_page_start(const std::string& title) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
         "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}table{border-collapse:collapse;"
         "margin:0.6em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f4f4f4}"
         "th:first-child,td:first-child,table.text td,table.text th{text-align:left}.win{color:#2a7d2a}.loss{color:#b22}.note{color:#555;"
         "font-size:0.9em;max-width:900px}figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}"
         "h2{margin-top:1.6em}</style></head><body>\n<h1>" +
         html_escape(title) + "</h1>\n";
}

std::string html_page_end() { return "</body></html>\n"; }

const char* palette(size_t i) {
  static const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};
  return kPalette[i % 8];
}

}  // namespace detail

void write_report(const std::filesystem::path& dir, const std::vector<Evaluation>& runs,
                  const std::vector<std::vector<Comparison>>& comparisons, const std::string& title) {
  using namespace detail;
  if (runs.empty()) throw InputError("report: no run to report");
  make_report_dir(dir);
  const auto& metrics = runs[0].metrics;

  std::vector<std::string> groups, series;
  std::vector<std::vector<double>> values;
  for (const auto& m : metrics) groups.push_back(m.name);
  for (const auto& r : runs) {
    series.push_back(r.run);
    values.emplace_back();
    for (size_t m = 0; m < metrics.size(); ++m) values.back().push_back(r.mean(m));
  }
  const std::string bars = svg_bar_chart(groups, series, values, "Mean per metric");
  write_text_file(dir / "bars.svg", bars);

  std::ostringstream html, md;
  html << html_page_start(title);
  md << "# " << md_escape(title) << "\n\n";
  const Table means = means_table(runs, comparisons);
  html << means.html() << "<figure>" << bars << "</figure>\n";
  md << means.markdown() << "![Mean per metric](bars.svg)\n\n";

  for (size_t ci = 0; ci < comparisons.size(); ++ci) {
    const auto& cmp = comparisons[ci];
    if (cmp.empty() || ci + 1 >= runs.size()) continue;
    Table t = comparison_table(runs[0].run, runs[ci + 1].run, cmp);
    t.id = "comparison-" + std::to_string(ci + 1);
    html << t.html();
    md << t.markdown();
    for (const auto& c : cmp) {
      const std::string h = "Per-query " + c.metric + ": " + runs[ci + 1].run + " - " + runs[0].run;
      const std::string svg = svg_histogram(c.deltas, h);
      const std::string name = "delta-" + std::to_string(ci + 1) + "-" + file_safe(c.metric) + ".svg";
      write_text_file(dir / name, svg);
      html << "<figure>" << svg << "</figure>\n";
      md << "![" << md_escape(h) << "](" << name << ")\n";
    }
    md << "\n";
  }
  html << "<p class=\"note\">Metrics follow trec_eval: ties by score then document id descending; relevance &ge; threshold "
          "is relevant; nDCG gain = relevance, discount log2(rank+1).</p>\n"
       << html_page_end();
  write_text_file(dir / "report.html", html.str());
  write_text_file(dir / "report.md", md.str());
}

}  // namespace rerank::eval

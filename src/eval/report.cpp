// Reports: a self-contained HTML page and a Markdown file with the tables, a before/after bar chart per metric and
// per-query delta histograms, as SVG drawn here (nothing fetched at view time).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "rerank/error.hpp"
#include "rerank/eval.hpp"

namespace rerank::eval {

namespace {

std::string esc(const std::string& s) {
  std::string o;
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

std::string md_esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '|' || c == '*' || c == '_' || c == '`' || c == '[' || c == ']') o.push_back('\\');
    o.push_back(c);
  }
  return o;
}

std::string fmt(double v, int digits = 4) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string fmt_signed(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.4f", v);
  return buf;
}

std::string fmt_p(double p) {
  if (std::isnan(p)) return "n/a";
  char buf[64];
  if (p < 0.0001) std::snprintf(buf, sizeof buf, "%.1e", p);
  else std::snprintf(buf, sizeof buf, "%.4f", p);
  return buf;
}

const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};

std::string file_safe(const std::string& s) {
  std::string o;
  for (char c : s) o.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return o;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  if (!out) throw InputError(p.string() + ": cannot open for writing");
  out << text;
  if (!out) throw InputError(p.string() + ": write error");
}

}  // namespace

std::string svg_bar_chart(const std::vector<std::string>& groups, const std::vector<std::string>& series,
                          const std::vector<std::vector<double>>& values, const std::string& title) {
  const double group_w = std::max<double>(60, 22.0 * static_cast<double>(series.size()) + 24);
  const double left = 50, top = 40, plot_h = 220, bottom = 50;
  const double width = left + group_w * static_cast<double>(groups.size()) + 20;
  const double legend_h = 18.0 * static_cast<double>(series.size());
  const double height = top + plot_h + bottom + legend_h;
  double vmax = 0;
  for (const auto& s : values)
    for (double v : s)
      if (std::isfinite(v)) vmax = std::max(vmax, v);
  vmax = vmax <= 1.0 ? 1.0 : std::ceil(vmax);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
    << width << ' ' << height << "\" font-family=\"sans-serif\" font-size=\"11\" role=\"img\">\n";
  o << "<title>" << esc(title) << "</title>\n";
  o << "<text x=\"" << width / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" << esc(title) << "</text>\n";
  for (int t = 0; t <= 4; ++t) {
    const double v = vmax * t / 4.0, y = top + plot_h - plot_h * t / 4.0;
    o << "<line x1=\"" << left << "\" x2=\"" << width - 10 << "\" y1=\"" << y << "\" y2=\"" << y
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << fmt(v, 2)
      << "</text>\n";
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    const double gx = left + group_w * static_cast<double>(g) + 12;
    for (size_t s = 0; s < series.size(); ++s) {
      const double v = s < values.size() && g < values[s].size() && std::isfinite(values[s][g]) ? values[s][g] : 0.0;
      const double h = plot_h * std::clamp(v / vmax, 0.0, 1.0);
      const double x = gx + 22.0 * static_cast<double>(s);
      o << "<rect class=\"bar\" x=\"" << x << "\" y=\"" << top + plot_h - h << "\" width=\"18\" height=\"" << h
        << "\" fill=\"" << kPalette[s % 8] << "\"><title>" << esc(series[s]) << " " << esc(groups[g]) << ": " << fmt(v)
        << "</title></rect>\n";
      o << "<text x=\"" << x + 9 << "\" y=\"" << top + plot_h - h - 3 << "\" text-anchor=\"middle\" font-size=\"8\">"
        << fmt(v, 3) << "</text>\n";
    }
    o << "<text x=\"" << gx + 11.0 * static_cast<double>(series.size()) - 2 << "\" y=\"" << top + plot_h + 16
      << "\" text-anchor=\"middle\">" << esc(groups[g]) << "</text>\n";
  }
  o << "<line x1=\"" << left << "\" x2=\"" << width - 10 << "\" y1=\"" << top + plot_h << "\" y2=\"" << top + plot_h
    << "\" stroke=\"#333\"/>\n";
  for (size_t s = 0; s < series.size(); ++s) {
    const double y = top + plot_h + bottom - 10 + 18.0 * static_cast<double>(s);
    o << "<rect x=\"" << left << "\" y=\"" << y << "\" width=\"12\" height=\"12\" fill=\"" << kPalette[s % 8]
      << "\"/><text x=\"" << left + 18 << "\" y=\"" << y + 10 << "\">" << esc(series[s]) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

std::string svg_histogram(const std::vector<double>& values, const std::string& title, int bins) {
  bins = std::max(1, bins | 1);  // odd, so one bin is centred on 0
  double amax = 0;
  for (double v : values)
    if (std::isfinite(v)) amax = std::max(amax, std::fabs(v));
  if (amax == 0) amax = 1;
  const double bw = 2 * amax / bins;
  std::vector<size_t> counts(static_cast<size_t>(bins), 0);
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    int b = static_cast<int>(std::floor((v + amax) / bw));
    counts[static_cast<size_t>(std::clamp(b, 0, bins - 1))]++;
  }
  const size_t cmax = std::max<size_t>(1, *std::max_element(counts.begin(), counts.end()));
  const double left = 50, top = 40, plot_w = 420, plot_h = 180, width = left + plot_w + 20, height = top + plot_h + 50;
  const double colw = plot_w / bins;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
    << width << ' ' << height << "\" font-family=\"sans-serif\" font-size=\"11\" role=\"img\">\n";
  o << "<title>" << esc(title) << "</title>\n";
  o << "<text x=\"" << width / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" << esc(title) << "</text>\n";
  for (int b = 0; b < bins; ++b) {
    const double h = plot_h * static_cast<double>(counts[static_cast<size_t>(b)]) / static_cast<double>(cmax);
    const double lo = -amax + bw * b;
    const char* color = b == bins / 2 ? "#999" : (b < bins / 2 ? "#e15759" : "#59a14f");
    o << "<rect class=\"bar\" x=\"" << left + colw * b + 1 << "\" y=\"" << top + plot_h - h << "\" width=\"" << colw - 2
      << "\" height=\"" << h << "\" fill=\"" << color << "\"><title>[" << fmt(lo, 3) << ", " << fmt(lo + bw, 3)
      << "): " << counts[static_cast<size_t>(b)] << " queries</title></rect>\n";
  }
  o << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << top + plot_h << "\" y2=\"" << top + plot_h
    << "\" stroke=\"#333\"/>\n";
  o << "<line x1=\"" << left + plot_w / 2 << "\" x2=\"" << left + plot_w / 2 << "\" y1=\"" << top << "\" y2=\""
    << top + plot_h << "\" stroke=\"#333\" stroke-dasharray=\"3,3\"/>\n";
  o << "<text x=\"" << left << "\" y=\"" << top + plot_h + 16 << "\" text-anchor=\"start\">" << fmt(-amax, 3) << "</text>\n";
  o << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << top + plot_h + 16 << "\" text-anchor=\"middle\">0</text>\n";
  o << "<text x=\"" << left + plot_w << "\" y=\"" << top + plot_h + 16 << "\" text-anchor=\"end\">" << fmt(amax, 3) << "</text>\n";
  o << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << top + plot_h + 36
    << "\" text-anchor=\"middle\">per-query difference (losses left, wins right)</text>\n";
  o << "<text x=\"" << left - 6 << "\" y=\"" << top + 4 << "\" text-anchor=\"end\">" << cmax << "</text>\n";
  o << "<text x=\"" << left - 6 << "\" y=\"" << top + plot_h << "\" text-anchor=\"end\">0</text>\n";
  o << "</svg>\n";
  return o.str();
}

void write_report(const std::filesystem::path& dir, const std::vector<Evaluation>& runs,
                  const std::vector<std::vector<Comparison>>& comparisons, const std::string& title) {
  if (runs.empty()) throw InputError("report: no run to report");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw InputError(dir.string() + ": cannot create report directory (" + ec.message() + ")");
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
  write_file(dir / "bars.svg", bars);

  std::ostringstream html, md;
  html << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << esc(title)
       << "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;"
          "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th:first-child,td:first-child{"
          "text-align:left}.win{color:#2a7d2a}.loss{color:#b22}figure{display:inline-block;margin:0 1em 1em 0}"
          "</style></head><body>\n<h1>"
       << esc(title) << "</h1>\n";
  md << "# " << md_esc(title) << "\n\n";

  html << "<h2>Means</h2>\n<table id=\"means\"><tr><th>metric</th>";
  md << "## Means\n\n| metric |";
  for (const auto& r : runs) {
    html << "<th>" << esc(r.run) << "</th>";
    md << ' ' << md_esc(r.run) << " |";
  }
  html << "</tr>\n";
  md << "\n|---|";
  for (size_t i = 0; i < runs.size(); ++i) md << "---:|";
  md << "\n";
  for (size_t m = 0; m < metrics.size(); ++m) {
    html << "<tr><td>" << esc(metrics[m].name) << "</td>";
    md << "| " << metrics[m].name << " |";
    for (const auto& r : runs) {
      html << "<td>" << fmt(r.mean(m)) << "</td>";
      md << ' ' << fmt(r.mean(m)) << " |";
    }
    html << "</tr>\n";
    md << "\n";
  }
  html << "<tr><td>queries</td>";
  md << "| queries |";
  for (const auto& r : runs) {
    html << "<td>" << r.query_ids.size() << "</td>";
    md << ' ' << r.query_ids.size() << " |";
  }
  html << "</tr></table>\n";
  md << "\n\n";
  html << "<figure>" << bars << "</figure>\n";
  md << "![Mean per metric](bars.svg)\n\n";

  for (size_t ci = 0; ci < comparisons.size(); ++ci) {
    const auto& cmp = comparisons[ci];
    if (cmp.empty() || ci + 1 >= runs.size()) continue;
    const std::string head = runs[ci + 1].run + " vs " + runs[0].run;
    html << "<h2>" << esc(head) << "</h2>\n<table class=\"comparison\"><tr><th>metric</th><th>" << esc(runs[0].run)
         << "</th><th>" << esc(runs[ci + 1].run)
         << "</th><th>difference</th><th>p (t-test)</th><th>p (randomization)</th><th>wins / ties / losses</th></tr>\n";
    md << "## " << md_esc(head) << "\n\n| metric | " << md_esc(runs[0].run) << " | " << md_esc(runs[ci + 1].run)
       << " | difference | p (t-test) | p (randomization) | wins / ties / losses |\n|---|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& c : cmp) {
      const char* cls = c.diff > 0 ? "win" : (c.diff < 0 ? "loss" : "");
      html << "<tr><td>" << esc(c.metric) << "</td><td>" << fmt(c.mean_a) << "</td><td>" << fmt(c.mean_b)
           << "</td><td class=\"" << cls << "\">" << fmt_signed(c.diff) << "</td><td>" << fmt_p(c.ttest.p) << "</td><td>"
           << fmt_p(c.p_randomization) << "</td><td>" << c.wins << " / " << c.ties << " / " << c.losses << "</td></tr>\n";
      md << "| " << c.metric << " | " << fmt(c.mean_a) << " | " << fmt(c.mean_b) << " | " << fmt_signed(c.diff) << " | "
         << fmt_p(c.ttest.p) << " | " << fmt_p(c.p_randomization) << " | " << c.wins << " / " << c.ties << " / "
         << c.losses << " |\n";
    }
    html << "</table>\n<p>Paired over " << (cmp.empty() ? 0 : cmp[0].n)
         << " queries (a query missing from one run counts 0 there). Two-sided p-values: paired Student's t-test and "
            "sign-flip randomization test.</p>\n";
    md << "\nPaired over " << (cmp.empty() ? 0 : cmp[0].n) << " queries. Two-sided p-values.\n\n";
    for (const auto& c : cmp) {
      const std::string t = "Per-query " + c.metric + ": " + runs[ci + 1].run + " - " + runs[0].run;
      const std::string svg = svg_histogram(c.deltas, t);
      const std::string name = "delta-" + std::to_string(ci + 1) + "-" + file_safe(c.metric) + ".svg";
      write_file(dir / name, svg);
      html << "<figure>" << svg << "</figure>\n";
      md << "![" << md_esc(t) << "](" << name << ")\n";
    }
    md << "\n";
  }
  html << "<p>Metrics follow trec_eval: ties by score then document id descending; relevance &ge; threshold is "
          "relevant; nDCG gain = relevance, discount log2(rank+1).</p>\n</body></html>\n";
  write_file(dir / "report.html", html.str());
  write_file(dir / "report.md", md.str());
}

}  // namespace rerank::eval

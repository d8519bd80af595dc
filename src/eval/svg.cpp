// SVG charts of the reports, drawn here as text: grouped bars, a symmetric histogram of per-query differences and
// line charts over categorical x positions. Each is a standalone <svg> with a <title>; no script, nothing fetched.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "eval/html.hpp"
#include "rerank/eval.hpp"

namespace rerank::eval {

using detail::html_escape;
using detail::palette;

namespace {

void svg_open(std::ostringstream& o, double width, double height, const std::string& title, const std::string& cls) {
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"" << cls << "\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << ' ' << height << "\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\">\n";
  o << "<title>" << html_escape(title) << "</title>\n";
  o << "<rect width=\"" << width << "\" height=\"" << height << "\" fill=\"#fff\"/>\n";
  o << "<text x=\"" << width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">"
    << html_escape(title) << "</text>\n";
}

/// Rounded axis ticks spanning [lo, hi]: a step of 1, 2, 2.5 or 5 times a power of ten.
std::vector<double> nice_ticks(double lo, double hi, int target = 5) {
  if (!(hi > lo)) {
    const double pad = std::fabs(lo) > 0 ? std::fabs(lo) * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  const double first = std::floor(lo / step + 1e-9) * step, last = std::ceil(hi / step - 1e-9) * step;
  for (double v = first; v <= last + step * 0.5; v += step) t.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

std::string tick_label(double v, const std::vector<double>& ticks) {
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
  int digits = 0;
  while (digits < 6 && std::fabs(step * std::pow(10.0, digits) - std::round(step * std::pow(10.0, digits))) > 1e-6) ++digits;
  return format_value(v, digits);
}

}  // namespace

std::string svg_bar_chart(const std::vector<std::string>& groups, const std::vector<std::string>& series,
                          const std::vector<std::vector<double>>& values, const std::string& title) {
  const double bar_w = 30, gap = 6;
  const double group_w = std::max<double>(80, (bar_w + gap) * static_cast<double>(series.size()) + 30);
  const double left = 55, top = 45, plot_h = 230, bottom = 40;
  const double width = std::max(360.0, left + group_w * static_cast<double>(groups.size()) + 20);
  const double legend_h = 20.0 * static_cast<double>(series.size()) + 6;
  const double height = top + plot_h + bottom + legend_h;
  double vmax = 0;
  for (const auto& s : values)
    for (double v : s)
      if (std::isfinite(v)) vmax = std::max(vmax, v);
  vmax = vmax <= 1.0 ? 1.0 : std::ceil(vmax);
  std::ostringstream o;
  svg_open(o, width, height, title, "chart bars");
  for (int t = 0; t <= 4; ++t) {
    const double v = vmax * t / 4.0, y = top + plot_h - plot_h * t / 4.0;
    o << "<line x1=\"" << left << "\" x2=\"" << width - 10 << "\" y1=\"" << y << "\" y2=\"" << y
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << format_value(v, 2)
      << "</text>\n";
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    const double span = (bar_w + gap) * static_cast<double>(series.size()) - gap;
    const double gx = left + group_w * static_cast<double>(g) + (group_w - span) / 2;
    for (size_t s = 0; s < series.size(); ++s) {
      const double v = s < values.size() && g < values[s].size() && std::isfinite(values[s][g]) ? values[s][g] : 0.0;
      const double h = plot_h * std::clamp(v / vmax, 0.0, 1.0);
      const double x = gx + (bar_w + gap) * static_cast<double>(s);
      o << "<rect class=\"bar\" x=\"" << x << "\" y=\"" << top + plot_h - h << "\" width=\"" << bar_w << "\" height=\"" << h
        << "\" fill=\"" << palette(s) << "\"><title>" << html_escape(series[s]) << " " << html_escape(groups[g]) << ": "
        << format_value(v) << "</title></rect>\n";
      o << "<text x=\"" << x + bar_w / 2 << "\" y=\"" << top + plot_h - h - 4 << "\" text-anchor=\"middle\" font-size=\"10\">"
        << format_value(v, 3) << "</text>\n";
    }
    o << "<text x=\"" << gx + span / 2 << "\" y=\"" << top + plot_h + 18 << "\" text-anchor=\"middle\">"
      << html_escape(groups[g]) << "</text>\n";
  }
  o << "<line x1=\"" << left << "\" x2=\"" << width - 10 << "\" y1=\"" << top + plot_h << "\" y2=\"" << top + plot_h
    << "\" stroke=\"#333\"/>\n";
  for (size_t s = 0; s < series.size(); ++s) {
    const double y = top + plot_h + bottom + 20.0 * static_cast<double>(s) - 8;
    o << "<rect x=\"" << left << "\" y=\"" << y << "\" width=\"14\" height=\"14\" fill=\"" << palette(s)
      << "\"/><text x=\"" << left + 20 << "\" y=\"" << y + 12 << "\">" << html_escape(series[s]) << "</text>\n";
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
  const double left = 50, top = 45, plot_w = 440, plot_h = 190, width = left + plot_w + 20, height = top + plot_h + 55;
  const double colw = plot_w / bins;
  std::ostringstream o;
  svg_open(o, width, height, title, "chart histogram");
  o << "<line x1=\"" << left + plot_w / 2 << "\" x2=\"" << left + plot_w / 2 << "\" y1=\"" << top << "\" y2=\""
    << top + plot_h << "\" stroke=\"#333\" stroke-dasharray=\"3,3\"/>\n";
  for (int b = 0; b < bins; ++b) {
    const double h = plot_h * static_cast<double>(counts[static_cast<size_t>(b)]) / static_cast<double>(cmax);
    const double lo = -amax + bw * b;
    const char* color = b == bins / 2 ? "#999" : (b < bins / 2 ? "#e15759" : "#59a14f");
    o << "<rect class=\"bar\" x=\"" << left + colw * b + 1 << "\" y=\"" << top + plot_h - h << "\" width=\"" << colw - 2
      << "\" height=\"" << h << "\" fill=\"" << color << "\"><title>[" << format_value(lo, 3) << ", " << format_value(lo + bw, 3)
      << "): " << counts[static_cast<size_t>(b)] << " queries</title></rect>\n";
    if (counts[static_cast<size_t>(b)])
      o << "<text x=\"" << left + colw * b + colw / 2 << "\" y=\"" << top + plot_h - h - 3
        << "\" text-anchor=\"middle\" font-size=\"10\">" << counts[static_cast<size_t>(b)] << "</text>\n";
  }
  o << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << top + plot_h << "\" y2=\"" << top + plot_h
    << "\" stroke=\"#333\"/>\n";
  o << "<text x=\"" << left << "\" y=\"" << top + plot_h + 16 << "\" text-anchor=\"start\">" << format_value(-amax, 3) << "</text>\n";
  o << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << top + plot_h + 16 << "\" text-anchor=\"middle\">0</text>\n";
  o << "<text x=\"" << left + plot_w << "\" y=\"" << top + plot_h + 16 << "\" text-anchor=\"end\">" << format_value(amax, 3)
    << "</text>\n";
  o << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << top + plot_h + 38
    << "\" text-anchor=\"middle\">per-query difference (losses left, wins right)</text>\n";
  o << "<text x=\"" << left - 6 << "\" y=\"" << top + 4 << "\" text-anchor=\"end\">" << cmax << "</text>\n";
  o << "<text x=\"" << left - 6 << "\" y=\"" << top + plot_h << "\" text-anchor=\"end\">0</text>\n";
  o << "<text transform=\"translate(14," << top + plot_h / 2 << ") rotate(-90)\" text-anchor=\"middle\">queries</text>\n";
  o << "</svg>\n";
  return o.str();
}

std::string svg_line_chart(const std::vector<std::string>& x_labels, const std::vector<std::string>& series,
                           const std::vector<std::vector<double>>& values, const std::string& title,
                           const std::string& x_title, const std::string& y_title, bool y_from_zero) {
  const size_t nx = std::max<size_t>(1, x_labels.size());
  size_t longest = 0;
  for (const auto& s : series) longest = std::max(longest, s.size());
  const double left = 70, top = 45, plot_w = std::max(300.0, 90.0 * static_cast<double>(nx)), plot_h = 240;
  const double legend_w = 30 + 7.0 * static_cast<double>(std::min<size_t>(longest, 40));
  const double width = left + plot_w + 20 + legend_w, height = top + plot_h + 60;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : values)
    for (double v : s)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (y_from_zero) lo = std::min(0.0, lo);
  const auto ticks = nice_ticks(lo, hi);
  const double y0 = ticks.front(), y1 = ticks.back();
  auto ypos = [&](double v) { return top + plot_h - plot_h * (v - y0) / (y1 - y0); };
  auto xpos = [&](size_t i) { return left + plot_w * (static_cast<double>(i) + 0.5) / static_cast<double>(nx); };

  std::ostringstream o;
  svg_open(o, width, height, title, "chart lines");
  for (double t : ticks) {
    o << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << ypos(t) << "\" y2=\"" << ypos(t)
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 6 << "\" y=\"" << ypos(t) + 4 << "\" text-anchor=\"end\">"
      << tick_label(t, ticks) << "</text>\n";
  }
  for (size_t i = 0; i < x_labels.size(); ++i)
    o << "<line x1=\"" << xpos(i) << "\" x2=\"" << xpos(i) << "\" y1=\"" << top + plot_h << "\" y2=\"" << top + plot_h + 5
      << "\" stroke=\"#333\"/>\n<text x=\"" << xpos(i) << "\" y=\"" << top + plot_h + 20 << "\" text-anchor=\"middle\">"
      << html_escape(x_labels[i]) << "</text>\n";
  o << "<polyline points=\"" << left << ',' << top << ' ' << left << ',' << top + plot_h << ' ' << left + plot_w << ','
    << top + plot_h << "\" fill=\"none\" stroke=\"#333\"/>\n";
  o << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << top + plot_h + 44 << "\" text-anchor=\"middle\">"
    << html_escape(x_title) << "</text>\n";
  o << "<text transform=\"translate(16," << top + plot_h / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << html_escape(y_title) << "</text>\n";
  for (size_t s = 0; s < series.size() && s < values.size(); ++s) {
    const char* color = palette(s);
    const char* dash = s >= 8 ? " stroke-dasharray=\"6,3\"" : "";
    std::string pts;
    auto flush = [&] {
      if (!pts.empty())
        o << "<polyline class=\"series\" points=\"" << pts << "\" fill=\"none\" stroke=\"" << color
          << "\" stroke-width=\"2.5\"" << dash << "/>\n";
      pts.clear();
    };
    for (size_t i = 0; i < nx && i < values[s].size(); ++i) {
      const double v = values[s][i];
      if (!std::isfinite(v)) {
        flush();
        continue;
      }
      std::ostringstream p;
      p << xpos(i) << ',' << ypos(v) << ' ';
      pts += p.str();
    }
    flush();
    for (size_t i = 0; i < nx && i < values[s].size(); ++i) {
      const double v = values[s][i];
      if (!std::isfinite(v)) continue;
      o << "<circle cx=\"" << xpos(i) << "\" cy=\"" << ypos(v) << "\" r=\"4\" fill=\"" << color << "\"><title>"
        << html_escape(series[s]) << ", " << html_escape(x_labels[i]) << ": " << format_value(v) << "</title></circle>\n";
    }
    const double ly = top + 10 + 22.0 * static_cast<double>(s), lx = left + plot_w + 20;
    o << "<line x1=\"" << lx << "\" x2=\"" << lx + 22 << "\" y1=\"" << ly << "\" y2=\"" << ly << "\" stroke=\"" << color
      << "\" stroke-width=\"3\"" << dash << "/><text x=\"" << lx + 28 << "\" y=\"" << ly + 4 << "\">" << html_escape(series[s])
      << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace rerank::eval

// The end-to-end report in a real browser: headless Chromium (a declared dependency: Makefile DEBIAN_PACKAGES)
// renders report.html; the rendered DOM must hold the tables and the SVG plots, and a screenshot must show them
// (not a blank page). Never skipped: without chromium the test fails and says to run `make deps`.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <set>

#include "rerank/eval.hpp"
#include "rerank/pipeline.hpp"
#include "rerank/rerank.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
namespace ev = rerank::eval;
using namespace rerank;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

/// The chromium binary on PATH ("" when there is none).
std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    std::string cmd = std::string("command -v ") + name + " > /dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return name;
  }
  return "";
}

/// Runs headless chromium with `args` on `url`, stdout to `out`; returns the exit status.
int chromium(const std::string& bin, const fs::path& work, const std::string& args, const std::string& url, const fs::path& out) {
  const std::string cmd = "cd " + work.string() + " && timeout 180 " + bin +
                          " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
                          "--disable-extensions --disable-background-networking --disable-sync --hide-scrollbars "
                          "--user-data-dir=" + (work / "profile").string() + " " + args + " '" + url + "' > " + out.string() +
                          " 2> " + (work / "chromium.err").string();
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

struct Image {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
};

uint32_t be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }

/// A minimal PNG decoder for what Chromium writes: 8-bit RGB or RGBA, not interlaced.
Image decode_png(const std::string& data) {
  Image img;
  const auto* d = reinterpret_cast<const uint8_t*>(data.data());
  if (data.size() < 8 || data.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) throw std::runtime_error("not a PNG");
  size_t pos = 8;
  int depth = 0, color = 0, interlace = 0;
  std::string idat;
  while (pos + 12 <= data.size()) {
    const uint32_t len = be32(d + pos);
    const std::string type = data.substr(pos + 4, 4);
    if (pos + 12 + len > data.size()) throw std::runtime_error("truncated PNG chunk");
    const uint8_t* body = d + pos + 8;
    if (type == "IHDR") {
      img.width = be32(body);
      img.height = be32(body + 4);
      depth = body[8];
      color = body[9];
      interlace = body[12];
    } else if (type == "IDAT") {
      idat.append(reinterpret_cast<const char*>(body), len);
    } else if (type == "IEND") {
      break;
    }
    pos += 12 + len;
  }
  if (depth != 8 || (color != 2 && color != 6) || interlace != 0)
    throw std::runtime_error("unsupported PNG (depth " + std::to_string(depth) + ", color type " + std::to_string(color) + ")");
  const size_t bpp = color == 6 ? 4 : 3, stride = img.width * bpp;
  std::vector<uint8_t> raw((stride + 1) * img.height);
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK || raw_len != raw.size())
    throw std::runtime_error("PNG: inflate failed");
  std::vector<uint8_t> prev(stride, 0), cur(stride);
  img.rgb.resize(size_t(img.width) * img.height * 3);
  for (uint32_t y = 0; y < img.height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* line = &raw[y * (stride + 1) + 1];
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      int pred = 0;
      switch (filter) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) / 2; break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default: throw std::runtime_error("PNG: bad filter type");
      }
      cur[i] = static_cast<uint8_t>(line[i] + pred);
    }
    for (uint32_t x = 0; x < img.width; ++x)
      for (int ch = 0; ch < 3; ++ch) img.rgb[(size_t(y) * img.width + x) * 3 + ch] = cur[x * bpp + ch];
    std::swap(prev, cur);
  }
  return img;
}

}  // namespace

TEST(ReportBrowser, ChromiumRendersTheTablesAndPlots) {
  const std::string bin = find_chromium();
  ASSERT_FALSE(bin.empty()) << "chromium is not installed: it is a declared dependency, run `make deps`";

  // A report with every table and plot: BM25 + ce-tiny over a small sweep of the in-repo fixture.
  fs::path work = fs::temp_directory_path() / ("rerank-browser-" + std::to_string(::getpid()));
  fs::remove_all(work);
  fs::create_directories(work);
  {
    auto c = Collection::open_or_create(work / "coll");
    read_documents(test::data("pipeline/corpus.jsonl"), DocumentFormat::Auto, 100,
                   [&](std::vector<Document>& docs, const ReadProgress&) { c.add(docs); });
    Pipeline p(c, {.retriever = Retriever::Bm25, .k = 10},
               make_reranker(test::data("encoders/models/ce-tiny").string(), BackendOptions{.engine = {.threads = 1}}));
    ev::PipelineEvalOptions o;
    o.metrics = ev::parse_metrics("ndcg@10,recall@10");
    o.permutations = 500;
    o.sweep = ev::parse_sweep({"k=3,5,10", "top-n=3,all"});
    auto r = ev::evaluate_pipeline(p, ev::read_queries(test::data("pipeline/queries.jsonl")),
                                   ev::read_qrels(test::data("pipeline/qrels.tsv")), o);
    ev::write_pipeline_report(work / "report", r, "browser test report");
  }
  const fs::path html = work / "report" / "report.html";
  const std::string source = slurp(html);
  const size_t svgs = count(source, "<svg");
  ASSERT_EQ(svgs, 1u + 2u + 1u + 2u);  // before/after, 2 histograms, latency, 2 metric-vs-k

  // 1. The DOM after rendering: tables and inline SVG elements are there, nothing was lost in parsing.
  const int rc = chromium(bin, work, "--dump-dom", "file://" + html.string(), work / "dom.html");
  const std::string dom = slurp(work / "dom.html");
  ASSERT_EQ(rc, 0) << "chromium --dump-dom failed:\n" << slurp(work / "chromium.err");
  ASSERT_FALSE(dom.empty()) << slurp(work / "chromium.err");
  for (const char* id : {"setup", "comparison", "latency", "sweep", "cells"})
    EXPECT_NE(dom.find(std::string("<table id=\"") + id + "\""), std::string::npos) << id;
  EXPECT_NE(dom.find("<h1>browser test report</h1>"), std::string::npos);
  EXPECT_EQ(count(dom, "<svg"), svgs);
  EXPECT_EQ(count(dom, "</svg>"), svgs);
  EXPECT_GE(count(dom, "<polyline class=\"series\""), 4u + 3u * 2u);  // latency: 4 series; per metric: 3 series
  EXPECT_GE(count(dom, "<rect class=\"bar\""), 2u * 2u);
  EXPECT_NE(dom.find("Latency vs candidates"), std::string::npos);
  EXPECT_NE(dom.find("ndcg@10 vs candidates k"), std::string::npos);
  EXPECT_NE(dom.find("p (randomization)"), std::string::npos);

  // 2. A screenshot: the page is drawn (not blank), with the charts' colours in it.
  const fs::path png = work / "shot.png";
  const int src = chromium(bin, work, "--window-size=1280,2400 --screenshot=" + png.string(), "file://" + html.string(),
                           work / "shot.out");
  ASSERT_EQ(src, 0) << "chromium --screenshot failed:\n" << slurp(work / "chromium.err");
  ASSERT_TRUE(fs::exists(png)) << slurp(work / "chromium.err");
  Image img = decode_png(slurp(png));
  EXPECT_EQ(img.width, 1280u);
  EXPECT_EQ(img.height, 2400u);
  size_t non_white = 0, blue = 0, orange = 0;
  std::set<uint32_t> colours;
  for (size_t i = 0; i + 2 < img.rgb.size(); i += 3) {
    const int r = img.rgb[i], g = img.rgb[i + 1], b = img.rgb[i + 2];
    if (r < 240 || g < 240 || b < 240) ++non_white;
    if (std::abs(r - 0x4e) < 12 && std::abs(g - 0x79) < 12 && std::abs(b - 0xa7) < 12) ++blue;    // series 1
    if (std::abs(r - 0xf2) < 12 && std::abs(g - 0x8e) < 12 && std::abs(b - 0x2b) < 12) ++orange;  // series 2
    if (colours.size() < 1000) colours.insert(uint32_t(r) << 16 | uint32_t(g) << 8 | uint32_t(b));
  }
  const double frac = static_cast<double>(non_white) / (static_cast<double>(img.width) * img.height);
  EXPECT_GT(frac, 0.02) << "the screenshot is (nearly) blank";
  EXPECT_GT(blue, 500u) << "no first-series colour: the charts were not drawn";
  EXPECT_GT(orange, 500u) << "no second-series colour: the charts were not drawn";
  EXPECT_GT(colours.size(), 20u);
  fs::remove_all(work);
}

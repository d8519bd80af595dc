// Fuzz target: the query/topic readers (BEIR JSONL, TREC topics, Cranfield cran.qry, SMART .QRY), by format
// and auto-detected by name and content. Byte 0 picks the reader and the file name; the rest is the file.
#include "fuzz_common.hpp"
#include "rerank/eval.hpp"

namespace ev = rerank::eval;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  using Q = ev::QueriesFormat;
  static const struct {
    const char* name;
    Q format;
  } kinds[] = {{"queries.jsonl", Q::Auto},  {"queries.jsonl", Q::BeirJsonl}, {"topics.txt", Q::Auto},
               {"topics.301", Q::TrecTopics}, {"cran.qry", Q::Auto},         {"cran.qry", Q::Cranfield},
               {"CISI.QRY", Q::Auto},       {"MED.QRY", Q::Smart}};
  const auto& k = kinds[data[0] % (sizeof kinds / sizeof kinds[0])];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto dir = fuzz::fresh_dir();
  fuzz::write(dir / k.name, rest);
  fuzz::expect_typed_errors([&] {
    for (const ev::Query& q : ev::read_queries(dir / k.name, k.format))
      if (q.id.empty()) __builtin_trap();
  });
  return 0;
}

// Fuzz target: the qrels readers (TREC, BEIR TSV, Cranfield, CISI, qid-docid, auto-detected by content and
// name) and the TREC run reader; a qrels and a run that both parse are evaluated together.
// Byte 0 picks the reader and the file name; the rest is the file.
#include "fuzz_common.hpp"
#include "rerank/eval.hpp"

namespace ev = rerank::eval;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  using Q = ev::QrelsFormat;
  static const struct {
    const char* name;
    Q format;
    bool run;
  } kinds[] = {{"qrels.txt", Q::Auto, false},   {"test.tsv", Q::Beir, false},    {"qrels.trec", Q::Trec, false},
               {"cranqrel", Q::Auto, false},    {"cranqrel", Q::Cranfield, false}, {"CISI.REL", Q::Auto, false},
               {"CISI.REL", Q::Cisi, false},    {"qrels.text", Q::QidDocid, false}, {"bm25.trec", Q::Auto, true}};
  const auto& k = kinds[data[0] % (sizeof kinds / sizeof kinds[0])];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto dir = fuzz::fresh_dir();
  fuzz::write(dir / k.name, rest);
  fuzz::expect_typed_errors([&] {
    if (k.run) {
      ev::Run run = ev::read_run(dir / k.name);
      for (const auto& [qid, docs] : run.queries) (void)ev::ranked(docs);
    } else {
      ev::Qrels qrels = ev::read_qrels(dir / k.name, k.format);
      (void)qrels;
    }
  });
  return 0;
}

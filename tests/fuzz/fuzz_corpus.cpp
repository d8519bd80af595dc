// Fuzz target: the corpus readers (read_documents). Byte 0 picks the format (auto-detected by name or content,
// JSON lines, CSV, TSV, SMART, TREC SGML, text/Markdown) and whether the file is gzip-compressed (the input
// compressed by zlib, or the raw input under a .gz name: a broken gzip stream); the rest is the file.
#include <zlib.h>

#include "fuzz_common.hpp"
#include "rerank/collection.hpp"

namespace {

std::string gzip(std::string_view in) {
  z_stream z{};
  deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  using F = rerank::DocumentFormat;
  static const struct {
    const char* name;
    F format;
  } kinds[] = {{"corpus.jsonl", F::JsonLines}, {"docs.csv", F::Csv},     {"docs.tsv", F::Tsv},
               {"cisi.all", F::Smart},        {"fbis.trec", F::Trec},   {"note.md", F::Text},
               {"corpus.jsonl", F::Auto},     {"docs.csv", F::Auto},    {"docs.tsv", F::Auto},
               {"cran.all.1400", F::Auto},    {"fr94", F::Auto},        {"readme.txt", F::Auto}};
  const auto& k = kinds[(data[0] & 0x3f) % (sizeof kinds / sizeof kinds[0])];
  const int gz = data[0] >> 6;  // 0, 1: plain; 2: compressed; 3: raw bytes under a .gz name
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto dir = fuzz::fresh_dir();
  std::string name = k.name;
  if (gz >= 2) name += ".gz";
  fuzz::write(dir / name, gz == 2 ? std::string_view(gzip(rest)) : rest);
  fuzz::expect_typed_errors([&] {
    size_t docs = 0;
    rerank::read_documents(dir / name, k.format, 3, [&](std::vector<rerank::Document>& batch, const rerank::ReadProgress& p) {
      if (batch.empty() || batch.size() > 3) __builtin_trap();
      docs += batch.size();
      if (p.documents != docs) __builtin_trap();
    });
  });
  return 0;
}

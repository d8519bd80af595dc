// Collections: create/reopen, add/skip/replace/delete, format version check, chunking, the document readers,
// and a kill -9 in the middle of `rerank index`.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "collection/chunker.hpp"
#include "rerank/collection.hpp"
#include "rerank/error.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using rerank::Collection;
using rerank::Document;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("rerank-coll-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(p);
  return p;
}

std::vector<Document> read_all(const fs::path& file, rerank::DocumentFormat f = rerank::DocumentFormat::Auto) {
  std::vector<Document> out;
  rerank::read_documents(file, f, 2, [&](std::vector<Document>& b, const rerank::ReadProgress&) {
    for (auto& d : b) out.push_back(d);
  });
  return out;
}

void sql(const fs::path& db, const std::string& stmt) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, stmt.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(h);
  sqlite3_close(h);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const rerank::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Collection, AddReopenSkipReplaceDelete) {
  fs::path dir = temp_dir("basic");
  {
    auto c = Collection::open_or_create(dir);
    auto r = c.add({{"d1", "Title one", "alpha beta", R"({"k":1})"}, {"d2", "", "gamma delta", ""}});
    EXPECT_EQ(r.added, 2u);
    EXPECT_EQ(c.add({{"d1", "", "changed", ""}}).skipped, 1u);  // default: existing ids are skipped
    // an id repeated within one call resolves as a later call would (as OpenSearch's _bulk does): first kept
    // (SkipExisting) or last kept (Replace); tests/test_ingest.cpp RepeatedIdsResolveTheSameInAnyBatching has more
    fs::path other = temp_dir("repeat-in-call");
    auto o = Collection::open_or_create(other);
    auto rs = o.add({{"x", "", "first", ""}, {"x", "", "second", ""}});
    EXPECT_EQ(rs.added, 1u);
    EXPECT_EQ(rs.skipped, 1u);
    EXPECT_EQ(o.get("x")->text, "first");
    rs = o.add({{"y", "", "first", ""}, {"y", "", "second", ""}}, rerank::AddMode::Replace);
    EXPECT_EQ(rs.added, 1u);
    EXPECT_EQ(rs.replaced, 1u);
    EXPECT_EQ(o.get("y")->text, "second");
    fs::remove_all(other);
    EXPECT_THROW(c.add({{"", "", "a", ""}}), rerank::InputError);
  }
  {
    auto c = Collection::open(dir);
    EXPECT_EQ(c.size(), 2u);
    auto d = c.get("d1");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->title, "Title one");
    EXPECT_EQ(d->metadata, R"({"k":1})");
    EXPECT_EQ(c.search_bm25("alpha", 5).at(0).doc_id, "d1");
    EXPECT_EQ(c.add({{"d1", "", "epsilon", ""}}, rerank::AddMode::Replace).replaced, 1u);
    EXPECT_TRUE(c.search_bm25("alpha", 5).empty());
    EXPECT_EQ(c.search_bm25("epsilon", 5).at(0).doc_id, "d1");
    EXPECT_EQ(c.remove({"d2", "nope"}), 1u);
    EXPECT_FALSE(c.contains("d2"));
    EXPECT_TRUE(c.search_bm25("gamma", 5).empty());
    EXPECT_EQ(c.ids(), std::vector<std::string>{"d1"});
  }
  fs::remove_all(dir);
}

TEST(Collection, FormatVersionAndMagicChecked) {
  fs::path dir = temp_dir("version");
  { Collection::open_or_create(dir).add({{"a", "", "text", ""}}); }
  sql(dir / "collection.sqlite", "UPDATE meta SET value = '99' WHERE key = 'format_version'");
  std::string e = error_of([&] { Collection::open(dir); });
  EXPECT_NE(e.find("format version 99"), std::string::npos) << e;
  EXPECT_NE(e.find("reads version 1"), std::string::npos) << e;
  fs::remove_all(dir);
  fs::create_directories(dir);
  { std::ofstream(dir / "collection.sqlite") << "this is not a database, just some text that is long enough....................................................."; }
  e = error_of([&] { Collection::open(dir); });
  EXPECT_NE(e.find("collection.sqlite"), std::string::npos) << e;
  e = error_of([&] { Collection::open(dir / "missing"); });
  EXPECT_NE(e.find("no such collection"), std::string::npos) << e;
  fs::remove_all(dir);
}

TEST(Collection, ChunksLongDocumentsWithOverlap) {
  std::string text;
  for (int i = 0; i < 30; ++i) text += "Sentence " + std::to_string(i) + " has exactly six words. ";
  auto count = [](std::string_view s) { return rerank::collection::count_words(s); };
  auto chunks = rerank::collection::chunk_text(text, 40, 12, count);
  ASSERT_GT(chunks.size(), 4u);
  for (size_t i = 0; i < chunks.size(); ++i) {
    std::string_view c(text.data() + chunks[i].start, chunks[i].end - chunks[i].start);
    EXPECT_LE(count(c), 40u);
    EXPECT_EQ(c.substr(0, 9), "Sentence ");  // sentence-aligned
    EXPECT_EQ(c.back(), '.');
    if (i > 0) { EXPECT_LT(chunks[i].start, chunks[i - 1].end); }  // overlap
  }
  EXPECT_EQ(chunks.back().end, text.size() - 1);
  // a single sentence longer than the budget is split between words
  std::string run_on(500, 'x');
  for (size_t i = 1; i < run_on.size(); i += 5) run_on[i] = ' ';
  for (const auto& c : rerank::collection::chunk_text(run_on, 20, 5, count)) EXPECT_LE(count(std::string_view(run_on).substr(c.start, c.end - c.start)), 20u);

  fs::path dir = temp_dir("chunks");
  {
    rerank::CollectionOptions o;
    o.chunk.size = 40;
    auto c = Collection::open_or_create(dir, o);
    c.add({{"long", "Report", text + " The final sentence mentions zeppelins.", ""}, {"short", "", "tiny doc about zeppelins", ""}});
    auto st = c.stats();
    EXPECT_GT(st.passages, 5u);
    EXPECT_EQ(st.chunk_size, 40u);
    EXPECT_EQ(st.chunk_overlap, 5u);
    auto docs = c.search_bm25("zeppelins sentence", 10);
    ASSERT_EQ(docs.size(), 2u);  // per document: each document once
    auto passages = c.search_bm25("sentence", 100, true);
    EXPECT_GT(passages.size(), 4u);
    for (const auto& p : passages) EXPECT_EQ(p.doc_id, "long");
    auto z = c.search_bm25("zeppelins", 10, true);
    ASSERT_EQ(z.size(), 2u);
    for (const auto& h : z) {
      if (h.doc_id == "long") {
        EXPECT_GT(h.passage_index, 0u);
        std::string t = c.passage_text(h.passage);
        EXPECT_EQ(t.rfind("Report ", 0), 0u);  // title + chunk
        EXPECT_NE(t.find("zeppelins"), std::string::npos);
      }
    }
  }
  fs::remove_all(dir);
}

TEST(Readers, JsonLinesCsvTsvSmartText) {
  auto j = read_all(rerank::test::data("retrieval/corpus.jsonl"));
  ASSERT_EQ(j.size(), 21u);
  EXPECT_EQ(j[0].id, "pw1");
  EXPECT_EQ(j[0].title, "Password reset");
  auto c = read_all(rerank::test::data("retrieval/docs.csv"));
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[1].title, "Quoted, title");
  EXPECT_EQ(c[1].text, "He said \"hello\", then left.\nSecond line of the same field.");
  EXPECT_EQ(c[2].title, "");
  auto t = read_all(rerank::test::data("retrieval/docs.tsv"));
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1].text, "second one");
  auto s = read_all(rerank::test::data("retrieval/sample.all"));  // CRLF line ends
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].id, "1");
  EXPECT_EQ(s[0].title, "experimental investigation of the aerodynamics");
  EXPECT_EQ(s[0].text, "an experimental study of a wing in a propeller slipstream\nwas made .");
  EXPECT_EQ(s[0].metadata, R"({"A":"brenckman,m."})");
  EXPECT_EQ(s[1].metadata, R"({"X":"1 5 1"})");
  auto m = read_all(rerank::test::data("retrieval/note.md"));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].id, "note.md");
  EXPECT_NE(m[0].text.find("hybrid search"), std::string::npos);

  fs::path gz = temp_dir("gz.jsonl.gz");
  {
    gzFile f = gzopen(gz.c_str(), "wb");
    std::string s1 = "{\"_id\": 7, \"text\": \"compressed\"}\n{\"id\": \"b\", \"text\": \"x\", \"title\": null}\n";
    gzwrite(f, s1.data(), static_cast<unsigned>(s1.size()));
    gzclose(f);
  }
  auto g = read_all(gz);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].id, "7");
  EXPECT_EQ(g[0].text, "compressed");
  fs::remove(gz);
}

TEST(Readers, ErrorsNameFileAndLine) {
  std::string e = error_of([] { read_all(rerank::test::data("retrieval/bad.jsonl")); });
  EXPECT_NE(e.find("bad.jsonl line 3"), std::string::npos) << e;
  fs::path p = temp_dir("bad.csv");
  { std::ofstream(p) << "id,text\na,\"unterminated\n"; }
  e = error_of([&] { read_all(p); });
  EXPECT_NE(e.find("line 2: unterminated"), std::string::npos) << e;
  { std::ofstream(p) << "name,body2\na,b\n"; }
  e = error_of([&] { read_all(p); });
  EXPECT_NE(e.find("\"id\" and a \"text\" column"), std::string::npos) << e;
  { std::ofstream(p) << "{\"text\": \"no id\"}\n"; }
  e = error_of([&] { read_all(p, rerank::DocumentFormat::JsonLines); });
  EXPECT_NE(e.find("line 1: missing field \"_id\""), std::string::npos) << e;
  fs::remove(p);
  EXPECT_THROW(rerank::parse_format("docx"), rerank::InputError);
}

// kill -9 in the middle of `rerank index`: every committed batch survives, nothing else, and a rerun resumes.
TEST(Collection, KillDuringIndexingKeepsCommittedBatches) {
  fs::path dir = temp_dir("kill"), corpus = temp_dir("kill-corpus.jsonl");
  const int n = 3000, batch = 100;
  {
    std::ofstream out(corpus);
    for (int i = 0; i < n; ++i)
      out << "{\"_id\": \"doc" << i << "\", \"title\": \"Document " << i << "\", \"text\": \"uniqtoken" << i
          << " shared words about indexing and crashes, some filler text to make it longer.\"}\n";
  }
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    std::string bs = std::to_string(batch);
    execl(RERANK_CLI, RERANK_CLI, "index", "--collection", dir.c_str(), "--batch-size", bs.c_str(), "--throttle-ms", "20",
          corpus.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // wait until a few batches are committed, then kill -9
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  size_t seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!fs::exists(dir / "collection.sqlite")) continue;
    try {
      seen = Collection::open(dir).size();
    } catch (const rerank::Error&) {
      continue;  // the schema may not be committed yet
    }
    if (seen >= 500) break;
  }
  ::kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the indexer finished before it could be killed";
  ASSERT_GE(seen, 500u);
  {
    auto c = Collection::open(dir);
    size_t have = c.size();
    EXPECT_LT(have, static_cast<size_t>(n));
    EXPECT_EQ(have % batch, 0u) << "a partial batch was committed";
    auto ids = c.ids();
    ASSERT_EQ(ids.size(), have);
    for (size_t i = 0; i < have; ++i) {
      ASSERT_EQ(ids[i], "doc" + std::to_string(i));
      if (i % 37 == 0 || i + 1 == have) {
        auto hits = c.search_bm25("uniqtoken" + std::to_string(i), 3);
        ASSERT_EQ(hits.size(), 1u) << i;
        EXPECT_EQ(hits[0].doc_id, ids[i]);
      }
    }
    EXPECT_TRUE(c.search_bm25("uniqtoken" + std::to_string(have), 3).empty());
  }
  auto r = rerank::test::run_cli("index --collection " + dir.string() + " --batch-size 500 " + corpus.string(), "");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("already present"), std::string::npos) << r.out;
  {
    auto c = Collection::open(dir);
    EXPECT_EQ(c.size(), static_cast<size_t>(n));
    EXPECT_EQ(c.search_bm25("uniqtoken" + std::to_string(n - 1), 3).at(0).doc_id, "doc" + std::to_string(n - 1));
    EXPECT_EQ(c.stats().passages, static_cast<size_t>(n));
  }
  fs::remove_all(dir);
  fs::remove(corpus);
}

// Classic collections as people have them: TREC SGML document files (also gzipped), TREC topics with closed or
// open tags, `qid docid 0 0` qrels (CACM) and query ids that compare as numbers ("01" = "1"), each read from a
// small file written here, through the library and `rerank index / search / eval`.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <fstream>

#include "rerank/collection.hpp"
#include "rerank/error.hpp"
#include "rerank/eval.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
namespace ev = rerank::eval;
using rerank::Document;
using rerank::test::error_of;

namespace {

class Classic : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = rerank::test::temp_path("rerank-classic", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return dir_ / name;
  }
  std::vector<Document> read(const fs::path& file, rerank::DocumentFormat f = rerank::DocumentFormat::Auto) {
    std::vector<Document> out;
    rerank::read_documents(file, f, 2, [&](std::vector<Document>& b, const rerank::ReadProgress&) {
      for (auto& d : b) out.push_back(d);
    });
    return out;
  }
  fs::path dir_;
};

// Three documents of the TREC disks' kinds: AP-style (HEAD + TEXT, metadata elements), LA Times-style (nested
// <P> markup inside <HEADLINE> and <TEXT>, a DATE), and one with only loose text between the tags.
const char* kTrecDocs =
    "<DOC>\n"
    "<DOCNO> AP880212-0001 </DOCNO>\n"
    "<FILEID>AP-NR-02-12-88 2344EST</FILEID>\n"
    "<HEAD>Reports Former Saigon Officials Released</HEAD>\n"
    "<BYLINE>By BANGKOK staff</BYLINE>\n"
    "<TEXT>\n"
    "   More than 150 former officers of the\n"
    "overthrown South Vietnamese government &amp; army\n"
    "</TEXT>\n"
    "</DOC>\n"
    "<DOC>\n"
    "<DOCNO>LA010189-0001</DOCNO><DOCID>1</DOCID>\n"
    "<DATE><P>January 1, 1989, Sunday</P></DATE>\n"
    "<HEADLINE>\n<P>\nTHE ROSE PARADE\n</P>\n<P>a new year</P>\n</HEADLINE>\n"
    "<TEXT><P>Floats roll down Colorado Boulevard.</P><P>Crowds cheer.</P></TEXT>\n"
    "</DOC>\n"
    "\n"
    "<doc>\n<docno>CACM-0002</docno>\n"
    "Extraction of Roots by Repeated Subtractions\n"
    "for Digital Computers <b>CACM</b> March, 1958\n"
    "</doc>\n";

TEST_F(Classic, TrecSgmlDocumentsAutoDetectedPlainAndGzipped) {
  fs::path plain = write("ap880212", kTrecDocs);  // TREC files have no telling extension: sniffed
  EXPECT_EQ(rerank::detect_format(plain), rerank::DocumentFormat::Trec);
  auto d = read(plain);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].id, "AP880212-0001");
  EXPECT_EQ(d[0].title, "Reports Former Saigon Officials Released");
  EXPECT_EQ(d[0].text, "More than 150 former officers of the\noverthrown South Vietnamese government & army");  // no FILEID, BYLINE
  EXPECT_EQ(d[1].id, "LA010189-0001");
  EXPECT_EQ(d[1].title, "THE ROSE PARADE a new year");
  EXPECT_EQ(d[1].text, "January 1, 1989, Sunday\nFloats roll down Colorado Boulevard. Crowds cheer.");  // DATE kept (Anserini)
  EXPECT_EQ(d[2].id, "CACM-0002");
  EXPECT_EQ(d[2].title, "");
  EXPECT_EQ(d[2].text, "Extraction of Roots by Repeated Subtractions\nfor Digital Computers CACM March, 1958");

  fs::path gz = dir_ / "ap880212.gz";
  gzFile f = gzopen(gz.c_str(), "wb");
  gzwrite(f, kTrecDocs, static_cast<unsigned>(std::strlen(kTrecDocs)));
  gzclose(f);
  auto g = read(gz);
  ASSERT_EQ(g.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(g[i].id + g[i].title + g[i].text, d[i].id + d[i].title + d[i].text);

  // --format trec forces it on a file whose first line does not start with <DOC>
  fs::path late = write("docs.txt", "\n   \n" + std::string(kTrecDocs));
  EXPECT_EQ(read(late, rerank::parse_format("trec")).size(), 3u);
  EXPECT_EQ(read(late).size(), 1u);  // a .txt file is one plain-text document unless forced
}

TEST_F(Classic, MalformedTrecDocumentsNameFileAndLine) {
  auto err = [&](const std::string& text) {
    fs::path p = write("bad.sgml", text);
    return error_of<rerank::InputError>([&] { read(p, rerank::DocumentFormat::Trec); });
  };
  std::string e = err("<DOC>\n<DOCNO>a</DOCNO>\n<TEXT>x</TEXT>\n");
  EXPECT_NE(e.find("bad.sgml line 1: <DOC> is never closed"), std::string::npos) << e;
  e = err("<DOC>\n<DOCNO>a</DOCNO>\n</DOC>\n<DOC>\n<TEXT>no id</TEXT>\n</DOC>\n");
  EXPECT_NE(e.find("bad.sgml line 4: the document has no <DOCNO>"), std::string::npos) << e;
  e = err("<DOC>\n<DOCNO>a</DOCNO>\n<DOC>\n<DOCNO>b</DOCNO>\n</DOC>\n");
  EXPECT_NE(e.find("line 3: <DOC> inside the document opened on line 1"), std::string::npos) << e;
  e = err("<DOC>\n<DOCNO>a</DOCNO>\n<DOCNO>b</DOCNO>\n</DOC>\n");
  EXPECT_NE(e.find("line 3: a second <DOCNO>"), std::string::npos) << e;
  e = err("<DOC>\n<DOCNO> </DOCNO>\n</DOC>\n");
  EXPECT_NE(e.find("line 2: empty <DOCNO>"), std::string::npos) << e;
  e = err("<DOC>\n<DOCNO>a\n<TEXT>x</TEXT>\n</DOC>\n");
  EXPECT_NE(e.find("line 3: <DOCNO> opened on line 2 is not closed before <TEXT>"), std::string::npos) << e;
  e = err("<DOC>\n<DOCNO>a</DOCNO>\n<TEXT>\nunclosed\n</DOC>\n");
  EXPECT_NE(e.find("line 3: <TEXT> is not closed before </DOC> on line 5"), std::string::npos) << e;
  e = err("<DOC>\n<DOCNO>a</DOCNO>\n</DOC>\nstray text\n");
  EXPECT_NE(e.find("line 4: text outside <DOC> ... </DOC>"), std::string::npos) << e;
  e = err("</DOC>\n");
  EXPECT_NE(e.find("line 1: </DOC> without <DOC>"), std::string::npos) << e;
}

TEST_F(Classic, TopicsWithClosedAndOpenTags) {
  fs::path closed = write("topics.xml",
                          "<top><num>1</num><title>\nwhat articles exist\nwhich deal with TSS\n</title></top>\n"
                          "<TOP>\n<NUM>2</NUM>\n<TITLE>Topic: interest rates</TITLE>\n<DESC>ignored</DESC>\n</TOP>\n");
  auto q = ev::read_queries(closed);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].id, "1");
  EXPECT_EQ(q[0].text, "what articles exist which deal with TSS");
  EXPECT_EQ(q[1].id, "2");
  EXPECT_EQ(q[1].text, "interest rates");
  fs::path open = write("topics.301",
                        "<top>\n\n<num> Number: 301\n<title> International Organized Crime\n\n<desc> Description:\n"
                        "Identify organizations\n\n<narr> Narrative:\nA relevant document\n\n</top>\n"
                        "<top>\n<num> Number: 302 <title> Poliomyelitis and\n  Post-Polio\n<desc> x\n</top>\n");
  auto o = ev::read_queries(open, ev::QueriesFormat::TrecTopics);
  ASSERT_EQ(o.size(), 2u);
  EXPECT_EQ(o[0].id, "301");
  EXPECT_EQ(o[0].text, "International Organized Crime");
  EXPECT_EQ(o[1].id, "302");
  EXPECT_EQ(o[1].text, "Poliomyelitis and Post-Polio");

  auto err = [&](const std::string& text) {
    fs::path p = write("bad.topics", text);
    return error_of<rerank::InputError>([&] { ev::read_queries(p, ev::QueriesFormat::TrecTopics); });
  };
  std::string e = err("<top><num>1</num><title>\n</title></top>\n");
  EXPECT_NE(e.find("bad.topics line 2: topic \"1\" has an empty <title>"), std::string::npos) << e;
  e = err("<top>\n<num>1 2</num><title>x</title></top>\n");
  EXPECT_NE(e.find("line 2: <num> must hold one topic number"), std::string::npos) << e;
  e = err("<top><num>1</num><num>2</num><title>x</title></top>\n");
  EXPECT_NE(e.find("line 1: a second <num>"), std::string::npos) << e;
  e = err("<top><num>1</num><title>x</title></top>\n<title>y</title>\n");
  EXPECT_NE(e.find("line 2: <title> outside <top>"), std::string::npos) << e;
  e = err("<top><num>1</num><title>x</title>\n<top>\n");
  EXPECT_NE(e.find("line 2: <top> inside the <top> opened on line 1"), std::string::npos) << e;
}

TEST_F(Classic, QidDocidQrelsAndNumericQueryIds) {
  // CACM's qrels.text: `QID DOCID 0 0`, zero-padded query ids
  fs::path cacm = write("qrels.text", "01 1410  0 0\n01 1572  0 0\n02 2434  0 0\n10 1  0 0\n");
  auto qrels = ev::read_qrels(cacm);  // auto: the TREC reading would judge document "0" twice
  EXPECT_EQ(qrels.num_judgments(), 4u);
  EXPECT_EQ(qrels.queries.at("1").at("1572"), 1);   // "1" finds "01"
  EXPECT_EQ(qrels.queries.at("01").at("1410"), 1);
  EXPECT_EQ(qrels.queries.count("010"), 1u);        // "010" = "10"
  EXPECT_EQ(qrels.queries.count("0"), 0u);
  auto forced = ev::read_qrels(cacm, ev::parse_qrels_format("qid-docid"));
  EXPECT_EQ(forced.queries, qrels.queries);
  // a constant third column that makes no duplicate is still TREC (one judgment per query)
  auto trec = ev::read_qrels(write("one.qrels", "1 0 d1 1\n2 0 d2 1\n"));
  EXPECT_EQ(trec.queries.at("1").count("d1"), 1u);
  std::string e = error_of<rerank::InputError>(
      [&] { ev::read_qrels(write("short.qrels", "01 1410 0 0\n01 1572\n"), ev::QrelsFormat::QidDocid); });
  EXPECT_NE(e.find("short.qrels line 2: expected 4 columns `qid docid 0 0`"), std::string::npos) << e;
  e = error_of<rerank::InputError>([&] { ev::read_qrels(write("dup.qrels", "01 7 0 0\n1 7 0 0\n"), ev::QrelsFormat::QidDocid); });
  EXPECT_NE(e.find("dup.qrels line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("already judged on line 1"), std::string::npos) << e;

  // a run with plain ids against the padded qrels: both queries evaluated
  ev::Run run("r");
  run.add("1", "1572", 2.0);
  run.add("1", "9", 1.0);
  run.add("2", "2434", 1.0);
  auto metrics = ev::parse_metrics("p@1");
  auto res = ev::evaluate(qrels, run, metrics);
  ASSERT_EQ(res.query_ids.size(), 2u);
  EXPECT_DOUBLE_EQ(res.mean(0), 1.0);
  EXPECT_EQ(res.ignored, 0u);
  e = error_of<rerank::InputError>([&] { ev::read_run(write("dup.run", "01 Q0 d 1 1 t\n1 Q0 d 2 0.5 t\n")); });
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  e = error_of<rerank::InputError>([&] { ev::read_queries(write("q.jsonl", "{\"_id\": \"01\", \"text\": \"a\"}\n{\"_id\": \"1\", \"text\": \"b\"}\n")); });
  EXPECT_NE(e.find("appears twice"), std::string::npos) << e;
  // an empty id (the fuzzer's queries finding, 2026-12-03: it was read as a query no qrels line can name)
  e = error_of<rerank::InputError>([&] { ev::read_queries(write("e.jsonl", "{\"_id\": \"q1\", \"text\": \"a\"}\n{\"id\": \"\", \"text\": \"b\"}\n")); });
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("empty query id"), std::string::npos) << e;
  EXPECT_EQ(ev::query_id_key("007"), "7");
  EXPECT_EQ(ev::query_id_key("000"), "0");
  EXPECT_EQ(ev::query_id_key("0a"), "0a");
  EXPECT_EQ(ev::query_id_key("q01"), "q01");
}

// The whole path with the CLI: index TREC SGML, search with closed-tag topics and CACM qrels, eval both ways.
TEST_F(Classic, CliIndexSearchEvalOnClassicFiles) {
  fs::path docs = write("cacm.sgml",
                        "<DOC>\n<DOCNO>1</DOCNO>\n<TITLE>Preliminary report on algebraic languages</TITLE>\n</DOC>\n"
                        "<DOC>\n<DOCNO>2</DOCNO>\n<TEXT>Extraction of roots by repeated subtractions</TEXT>\n</DOC>\n"
                        "<DOC>\n<DOCNO>3</DOCNO>\nTechniques for storage allocation in computer memory\n</DOC>\n");
  fs::path topics = write("topics.xml",
                          "<top><num>1</num><title>\nalgebraic languages\n</title></top>\n"
                          "<top><num>2</num><title>\nmemory storage allocation\n</title></top>\n");
  fs::path qrels = write("qrels.text", "01 1  0 0\n02 3  0 0\n02 2  0 0\n");
  std::string coll = (dir_ / "coll").string();
  auto idx = rerank::test::run_cli("index --collection " + coll + " " + docs.string(), "");
  ASSERT_EQ(idx.status, 0) << idx.err;
  EXPECT_NE(idx.out.find("indexed 3 new"), std::string::npos) << idx.out;
  std::string run = (dir_ / "bm25.trec").string();
  auto s = rerank::test::run_cli("search --collection " + coll + " --queries " + topics.string() + " --qrels " +
                                     qrels.string() + " --k 3 --run-out " + run, "");
  ASSERT_EQ(s.status, 0) << s.err;
  std::ifstream in(run);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first.rfind("1 Q0 1 1 ", 0), 0u) << first;
  // run-file mode: the run's "1", "2" are the qrels' "01", "02"; BM25 puts each query's relevant document first
  auto e1 = rerank::test::run_cli("eval --qrels " + qrels.string() + " --run " + run + " --metrics p@1 --json", "");
  ASSERT_EQ(e1.status, 0) << e1.err;
  auto j = nlohmann::json::parse(e1.out)["runs"][0];
  EXPECT_EQ(j["queries"], 2);
  EXPECT_EQ(j["missing_queries"], 0);
  EXPECT_DOUBLE_EQ(j["metrics"].begin()->get<double>(), 1.0);
  // end to end: the same two queries, the same number
  auto e2 = rerank::test::run_cli("eval --collection " + coll + " --queries " + topics.string() + " --qrels " +
                                      qrels.string() + " --k 3 --metrics p@1 --json", "");
  ASSERT_EQ(e2.status, 0) << e2.err;
  auto k = nlohmann::json::parse(e2.out);
  EXPECT_EQ(k["queries"]["run"], 2);
  EXPECT_EQ(k["queries"]["judged_without_text"], 0);
  EXPECT_DOUBLE_EQ(k["stages"][0]["metrics"].begin()->get<double>(), 1.0);
  for (const char* cmd : {"eval --help", "search --help"}) {
    auto help = rerank::test::run_cli(cmd, "");
    EXPECT_NE(help.out.find("compare as numbers"), std::string::npos) << cmd;
  }
}

}  // namespace

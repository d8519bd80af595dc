// Models from the Hub, against a local server that answers like the Hugging Face Hub: /{repo}/resolve/{rev}/{file}
// with HEAD, X-Repo-Commit, ETag (git blob sha1) for regular files, and for .safetensors (LFS) a 302 to a CDN path
// with X-Linked-Etag (sha256) and X-Linked-Size; Range requests; X-Error-Code on 401/404.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "hub/hash.hpp"
#include "rerank/hub.hpp"
#include "rerank/rerank.hpp"
#include "local_server.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using rerank::test::data;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class FakeHub {
 public:
  struct Request {
    std::string method, path, range, auth;
  };

  FakeHub() {
    srv_.Get(R"(/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) { resolve(req, res); });
    srv_.Get(R"(/cdn/([0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) { cdn(req, res); });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
    while (!srv_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeHub() { stop(); }
  void stop() {
    if (thread_.joinable()) {
      srv_.stop();
      thread_.join();
    }
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// Serves directory `dir` as repo `id`, at "main" and at a fixed commit sha.
  std::string add_repo(const std::string& id, const fs::path& dir) {
    std::lock_guard<std::mutex> g(mu_);
    std::string commit = rerank::hub_detail::git_blob_sha1_hex(id + dir.string());
    repos_[id] = {commit, dir};
    return commit;
  }

  std::vector<Request> log() {
    std::lock_guard<std::mutex> g(mu_);
    return log_;
  }
  size_t count(const std::string& method, const std::string& path_part = "") {
    size_t n = 0;
    for (const auto& r : log())
      if (r.method == method && r.path.find(path_part) != std::string::npos) ++n;
    return n;
  }
  void clear_log() {
    std::lock_guard<std::mutex> g(mu_);
    log_.clear();
  }
  void corrupt(const std::string& file, int times) { std::lock_guard<std::mutex> g(mu_); corrupt_[file] = times; }
  void truncate_once(const std::string& file, size_t at) { std::lock_guard<std::mutex> g(mu_); truncate_[file] = at; }
  void require_token(const std::string& t) { std::lock_guard<std::mutex> g(mu_); token_ = t; }

 private:
  struct Repo {
    std::string commit;
    fs::path dir;
  };

  void record(const httplib::Request& req) {
    std::lock_guard<std::mutex> g(mu_);
    log_.push_back({req.method, req.path, req.get_header_value("Range"), req.get_header_value("Authorization")});
  }

  static void error(httplib::Response& res, int status, const std::string& code, const std::string& msg) {
    res.status = status;
    res.set_header("X-Error-Code", code);
    res.set_header("X-Error-Message", msg);
    res.set_content("{\"error\":\"" + msg + "\"}", "application/json");
  }

  void resolve(const httplib::Request& req, httplib::Response& res) {
    record(req);
    std::string id = req.matches[1], rev = req.matches[2], file = req.matches[3];
    std::unique_lock<std::mutex> g(mu_);
    if (!token_.empty() && req.get_header_value("Authorization") != "Bearer " + token_)
      return error(res, 401, "RepoNotFound", "Repository not found");
    auto it = repos_.find(id);
    if (it == repos_.end()) return error(res, 401, "RepoNotFound", "Repository not found");
    if (rev != "main" && rev != it->second.commit) return error(res, 404, "RevisionNotFound", "Invalid rev id: " + rev);
    fs::path p = it->second.dir / file;
    if (file.find("..") != std::string::npos || !fs::is_regular_file(p)) return error(res, 404, "EntryNotFound", "Entry not found");
    std::string body = slurp(p);
    res.set_header("X-Repo-Commit", it->second.commit);
    if (file.size() > 12 && file.substr(file.size() - 12) == ".safetensors") {  // LFS: redirect to the CDN
      std::string sha = rerank::hub_detail::sha256_hex(body);
      blobs_[sha] = {file, body};
      res.status = 302;
      res.set_header("Location", endpoint() + "/cdn/" + sha);
      res.set_header("X-Linked-Etag", "\"" + sha + "\"");
      res.set_header("X-Linked-Size", std::to_string(body.size()));
      res.set_header("ETag", "\"" + rerank::hub_detail::git_blob_sha1_hex("version https://git-lfs " + sha) + "\"");
      return;
    }
    res.set_header("ETag", "\"" + rerank::hub_detail::git_blob_sha1_hex(body) + "\"");
    res.set_content(body, "application/octet-stream");
  }

  void cdn(const httplib::Request& req, httplib::Response& res) {
    record(req);
    std::unique_lock<std::mutex> g(mu_);
    auto it = blobs_.find(req.matches[1]);
    if (it == blobs_.end()) { res.status = 404; return; }
    auto [file, body] = it->second;
    if (auto c = corrupt_.find(file); c != corrupt_.end() && c->second > 0) {
      --c->second;
      body[body.size() / 2] ^= 0x5a;
    }
    if (auto t = truncate_.find(file); t != truncate_.end()) {
      size_t cut = t->second;
      truncate_.erase(t);
      auto shared = std::make_shared<std::string>(body);
      res.set_content_provider(body.size(), "application/octet-stream",
                               [shared, cut](size_t offset, size_t length, httplib::DataSink& sink) {
                                 if (offset >= cut) return false;  // the connection drops here
                                 size_t n = std::min(length, cut - offset);
                                 sink.write(shared->data() + offset, n);
                                 return true;
                               });
      return;
    }
    res.set_content(body, "application/octet-stream");
  }

  httplib::Server srv_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::map<std::string, Repo> repos_;
  std::map<std::string, std::pair<std::string, std::string>> blobs_;  // sha256 -> (file, bytes)
  std::map<std::string, int> corrupt_;
  std::map<std::string, size_t> truncate_;
  std::string token_;
  std::vector<Request> log_;
};

class Hub : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::temp_directory_path() / ("rerank-hub-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
    for (const char* v : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_HUB_CACHE", "HF_TOKEN_PATH"}) {
      if (const char* old = std::getenv(v)) saved_[v] = old;
      ::unsetenv(v);
    }
    if (const char* old = std::getenv("HF_HOME")) saved_["HF_HOME"] = old;
    ::setenv("HF_HOME", (tmp_ / "hf").c_str(), 1);
    ce_commit_ = hub_.add_repo("test-org/ce-tiny", data("encoders/models/ce-tiny"));
    bi_commit_ = hub_.add_repo("test-org/bi-tiny-mean", data("encoders/models/bi-tiny-mean"));
    hub_.add_repo("test-org/ce-sharded", data("extra/models/ce-relu-3label"));
  }
  void TearDown() override {
    hub_.stop();
    for (const char* v : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_HUB_CACHE", "HF_TOKEN_PATH", "HF_HOME"}) {
      auto it = saved_.find(v);
      if (it != saved_.end()) ::setenv(v, it->second.c_str(), 1);
      else ::unsetenv(v);
    }
    fs::remove_all(tmp_);
  }
  rerank::PullOptions opts(const std::string& revision = "main") {
    rerank::PullOptions o;
    o.revision = revision;
    o.endpoint = hub_.endpoint();
    o.cache_dir = tmp_ / "hf" / "hub";
    o.backoff_seconds = 0.01;
    o.progress = rerank::PullOptions::ProgressBar::Never;
    return o;
  }
  fs::path repo_dir(const std::string& name) { return tmp_ / "hf" / "hub" / ("models--test-org--" + name); }

  FakeHub hub_;
  fs::path tmp_;
  std::string ce_commit_, bi_commit_;
  std::map<std::string, std::string> saved_;
};

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const rerank::HubError& e) {
    return e.what();
  }
  return "(no HubError)";
}

TEST_F(Hub, PullLandsInHuggingFaceLayoutAndLoads) {
  auto r = rerank::pull_model("test-org/bi-tiny-mean", opts());
  EXPECT_EQ(r.commit, bi_commit_);
  fs::path repo = repo_dir("bi-tiny-mean");
  EXPECT_EQ(r.snapshot, repo / "snapshots" / bi_commit_);
  EXPECT_EQ(slurp(repo / "refs" / "main"), bi_commit_);
  fs::path src = data("encoders/models/bi-tiny-mean");
  for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                        "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
                        "1_Pooling/config.json", "model.safetensors"}) {
    fs::path link = r.snapshot / f;
    ASSERT_TRUE(fs::is_symlink(link)) << f;
    std::string target = fs::read_symlink(link).string();
    std::string prefix = std::string(f).find('/') != std::string::npos ? "../../../blobs/" : "../../blobs/";
    EXPECT_EQ(target.rfind(prefix, 0), 0u) << f << " -> " << target;
    EXPECT_EQ(slurp(link), slurp(src / f)) << f;
  }
  std::string sha = rerank::hub_detail::sha256_hex(slurp(src / "model.safetensors"));
  EXPECT_TRUE(fs::is_regular_file(repo / "blobs" / sha));
  EXPECT_EQ(fs::read_symlink(r.snapshot / "model.safetensors").string(), "../../blobs/" + sha);
  EXPECT_EQ(r.downloaded_files, r.files);
  EXPECT_EQ(hub_.count("GET", "/cdn/"), 1u);  // the LFS file came through the redirect

  auto pulled = rerank::Model::load(r.snapshot), local = rerank::Model::load(src);
  rerank::EngineOptions one;
  one.threads = 1;
  rerank::BiEncoder a(pulled, one), b(local, one);
  auto ea = a.encode({"How do I reset my password?"}), eb = b.encode({"How do I reset my password?"});
  EXPECT_EQ(ea, eb);
}

TEST_F(Hub, SecondPullTransfersNothingAndCommitPullMakesNoRequest) {
  auto first = rerank::pull_model("test-org/ce-tiny", opts());
  EXPECT_GT(first.downloaded_files, 0u);
  // ce-tiny has no sentence-transformers files: remembered as absent
  EXPECT_TRUE(fs::exists(repo_dir("ce-tiny") / ".no_exist" / ce_commit_ / "modules.json"));
  hub_.clear_log();
  auto again = rerank::pull_model("test-org/ce-tiny", opts());
  EXPECT_EQ(again.snapshot, first.snapshot);
  EXPECT_EQ(again.downloaded_files, 0u);
  EXPECT_EQ(again.downloaded_bytes, 0u);
  EXPECT_EQ(again.requests, 1u);  // one HEAD to learn where main points
  EXPECT_EQ(hub_.count("GET"), 0u);
  EXPECT_EQ(hub_.count("HEAD"), 1u);
  hub_.clear_log();
  auto pinned = rerank::pull_model("test-org/ce-tiny", opts(ce_commit_));
  EXPECT_EQ(pinned.snapshot, first.snapshot);
  EXPECT_EQ(pinned.requests, 0u);
  EXPECT_TRUE(hub_.log().empty());

  auto model = rerank::Model::load(rerank::resolve_model("test-org/ce-tiny@" + ce_commit_, opts()));
  rerank::EngineOptions one;
  one.threads = 1;
  rerank::CrossEncoder ce(model, one);
  rerank::CrossEncoder ref(rerank::Model::load(data("encoders/models/ce-tiny")), one);
  std::vector<std::pair<std::string, std::string>> pairs{{"reset password", "Click Forgot Password."}};
  EXPECT_EQ(ce.predict_scores(pairs), ref.predict_scores(pairs));
  EXPECT_TRUE(hub_.log().empty());
}

TEST_F(Hub, ShardedWeightsFollowTheIndex) {
  auto r = rerank::pull_model("test-org/ce-sharded", opts());
  EXPECT_TRUE(fs::exists(r.snapshot / "model.safetensors.index.json"));
  EXPECT_TRUE(fs::exists(r.snapshot / "model-00001-of-00002.safetensors"));
  EXPECT_TRUE(fs::exists(r.snapshot / "model-00002-of-00002.safetensors"));
  EXPECT_EQ(rerank::Model::load(r.snapshot)->info().num_labels, 3);
}

TEST_F(Hub, CorruptedDownloadIsDetectedAndRetried) {
  hub_.corrupt("model.safetensors", 1);
  auto r = rerank::pull_model("test-org/ce-tiny", opts());
  EXPECT_EQ(hub_.count("GET", "/cdn/"), 2u);
  std::string want = slurp(data("encoders/models/ce-tiny/model.safetensors"));
  EXPECT_EQ(slurp(r.snapshot / "model.safetensors"), want);

  hub_.corrupt("model.safetensors", 100);  // always corrupt: a bounded number of attempts, then a clear error
  auto o = opts();
  o.max_attempts = 3;
  o.cache_dir = tmp_ / "other-cache";
  std::string msg = error_of([&] { rerank::pull_model("test-org/ce-tiny", o); });
  EXPECT_NE(msg.find("sha256"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3 attempts"), std::string::npos) << msg;
  fs::path blobs = tmp_ / "other-cache" / "models--test-org--ce-tiny" / "blobs";
  std::string sha = rerank::hub_detail::sha256_hex(want);
  EXPECT_FALSE(fs::exists(blobs / sha));
  EXPECT_FALSE(fs::exists(blobs / (sha + ".incomplete")));
}

TEST_F(Hub, InterruptedDownloadResumesWithRange) {
  const size_t cut = 1000000;
  hub_.truncate_once("model.safetensors", cut);
  auto r = rerank::pull_model("test-org/ce-tiny", opts());
  std::vector<std::string> ranges;
  for (const auto& q : hub_.log())
    if (q.path.rfind("/cdn/", 0) == 0) ranges.push_back(q.range);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "");
  EXPECT_EQ(ranges[1], "bytes=" + std::to_string(cut) + "-");
  std::string want = slurp(data("encoders/models/ce-tiny/model.safetensors"));
  EXPECT_EQ(slurp(r.snapshot / "model.safetensors"), want);
  uint64_t all = 0;  // every file once: the resumed one's first part is not fetched again
  for (const auto& e : fs::directory_iterator(data("encoders/models/ce-tiny"))) all += e.file_size();
  EXPECT_EQ(r.downloaded_bytes, all);
}

TEST_F(Hub, PartialFileFromAKilledProcessIsResumed) {
  std::string want = slurp(data("encoders/models/bi-tiny-mean/model.safetensors"));
  std::string sha = rerank::hub_detail::sha256_hex(want);
  fs::path blobs = repo_dir("bi-tiny-mean") / "blobs";
  fs::create_directories(blobs);
  { std::ofstream(blobs / (sha + ".incomplete"), std::ios::binary) << want.substr(0, 12345); }
  auto o = opts();
  o.progress = rerank::PullOptions::ProgressBar::Always;  // as on a terminal
  ::testing::internal::CaptureStderr();
  auto r = rerank::pull_model("test-org/bi-tiny-mean", o);
  std::string bar = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(bar.find("downloading model.safetensors 100% 4.0/4.0 MB"), std::string::npos) << bar;
  EXPECT_EQ(bar.find("vocab.txt"), std::string::npos) << bar;  // small files: no bar
  bool resumed = false;
  for (const auto& q : hub_.log())
    if (q.path.rfind("/cdn/", 0) == 0) resumed = q.range == "bytes=12345-";
  EXPECT_TRUE(resumed);
  EXPECT_EQ(slurp(r.snapshot / "model.safetensors"), want);
  EXPECT_FALSE(fs::exists(blobs / (sha + ".incomplete")));
}

TEST_F(Hub, ConcurrentPullsShareOneDownload) {
  std::vector<rerank::PullResult> results(3);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (auto& r : results)
    threads.emplace_back([&, p = &r] {
      try { *p = rerank::pull_model("test-org/bi-tiny-mean", opts()); } catch (...) { ++failures; }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(hub_.count("GET", "/cdn/"), 1u);  // the blob lock makes the others wait and reuse it
  for (const auto& r : results)
    EXPECT_EQ(slurp(r.snapshot / "model.safetensors"), slurp(data("encoders/models/bi-tiny-mean/model.safetensors")));
}

TEST_F(Hub, OfflineUsesTheCacheOnly) {
  auto o = opts();
  o.offline = true;
  std::string msg = error_of([&] { rerank::pull_model("test-org/ce-tiny", o); });
  EXPECT_NE(msg.find("offline"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rerank pull test-org/ce-tiny"), std::string::npos) << msg;
  EXPECT_TRUE(hub_.log().empty());

  auto online = rerank::pull_model("test-org/ce-tiny", opts());
  hub_.clear_log();
  auto r = rerank::pull_model("test-org/ce-tiny", o);
  EXPECT_EQ(r.snapshot, online.snapshot);
  EXPECT_TRUE(r.from_cache_only);
  EXPECT_EQ(r.requests, 0u);
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  EXPECT_EQ(rerank::resolve_model("test-org/ce-tiny", opts()), online.snapshot);
  msg = error_of([&] { rerank::resolve_model("test-org/bi-tiny-mean", opts()); });
  EXPECT_NE(msg.find("offline"), std::string::npos) << msg;
  ::unsetenv("HF_HUB_OFFLINE");
  EXPECT_TRUE(hub_.log().empty());

  hub_.stop();  // the Hub is unreachable: a cached revision still resolves
  auto down = rerank::pull_model("test-org/ce-tiny", opts());
  EXPECT_EQ(down.snapshot, online.snapshot);
  EXPECT_TRUE(down.from_cache_only);
  msg = error_of([&] { rerank::pull_model("test-org/bi-tiny-mean", opts()); });
  EXPECT_NE(msg.find("cannot reach"), std::string::npos) << msg;
}

TEST_F(Hub, TokenIsSentAndMissingTokenIsAClearError) {
  hub_.require_token("hf_secret");
  std::string msg = error_of([&] { rerank::pull_model("test-org/ce-tiny", opts()); });
  EXPECT_NE(msg.find("HF_TOKEN"), std::string::npos) << msg;
  EXPECT_NE(msg.find("private"), std::string::npos) << msg;

  ::setenv("HF_TOKEN", "hf_secret", 1);
  auto r = rerank::pull_model("test-org/ce-tiny", opts());
  ::unsetenv("HF_TOKEN");
  size_t with_token = 0;
  for (const auto& q : hub_.log())
    if (q.path.find("/resolve/") != std::string::npos && q.auth == "Bearer hf_secret") ++with_token;
  EXPECT_GT(with_token, 5u);

  fs::create_directories(tmp_ / "hf");
  { std::ofstream(tmp_ / "hf" / "token") << "hf_secret\n"; }  // $HF_HOME/token, as `huggingface-cli login` writes
  auto o = opts();
  o.cache_dir = tmp_ / "cache2";
  EXPECT_NO_THROW(rerank::pull_model("test-org/bi-tiny-mean", o));
}

TEST_F(Hub, BadIdsRevisionsAndMissingReposAreClearErrors) {
  for (const char* id : {"noslash", "a/b/c", "../etc", "org/na..me", "org/-name", "/abs", "org/", "org--x/y z"}) {
    std::string msg = error_of([&] { rerank::pull_model(id, opts()); });
    EXPECT_NE(msg.find("ORG/NAME"), std::string::npos) << id << ": " << msg;
  }
  EXPECT_TRUE(rerank::is_hub_repo_id("cross-encoder/ms-marco-MiniLM-L-6-v2"));
  std::string msg = error_of([&] { rerank::resolve_model("no such dir", opts()); });
  EXPECT_NE(msg.find("neither a model directory nor"), std::string::npos) << msg;
  msg = error_of([&] { rerank::pull_model("test-org/ce-tiny", opts("../../x")); });
  EXPECT_NE(msg.find("invalid revision"), std::string::npos) << msg;
  msg = error_of([&] { rerank::pull_model("test-org/ce-tiny", opts("v9")); });
  EXPECT_NE(msg.find("revision \"v9\" not found"), std::string::npos) << msg;
  msg = error_of([&] { rerank::resolve_model("nobody/nothing", opts()); });
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"nobody/nothing\" is not a directory"), std::string::npos) << msg;
  fs::path dir = data("encoders/models/ce-tiny");
  EXPECT_EQ(rerank::resolve_model(dir.string(), opts()), dir);
}

TEST_F(Hub, FileNamesFromTheRepoAreChecked) {
  fs::path evil = tmp_ / "evil";
  fs::create_directories(evil);
  for (const char* f : {"config.json", "tokenizer.json", "model.safetensors"})
    fs::copy_file(data("encoders/models/bi-tiny-mean") / f, evil / f);
  { std::ofstream(evil / "modules.json") << R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
    {"idx":1,"name":"1","path":"../../../escape","type":"sentence_transformers.models.Pooling"}])"; }
  hub_.add_repo("test-org/evil", evil);
  std::string msg = error_of([&] { rerank::pull_model("test-org/evil", opts()); });
  EXPECT_NE(msg.find("unsafe module path"), std::string::npos) << msg;

  fs::path evil2 = tmp_ / "evil2";
  fs::create_directories(evil2);
  for (const char* f : {"config.json", "tokenizer.json"}) fs::copy_file(data("encoders/models/bi-tiny-mean") / f, evil2 / f);
  { std::ofstream(evil2 / "model.safetensors.index.json") << R"({"weight_map": {"a": "/etc/passwd.safetensors"}})"; }
  hub_.add_repo("test-org/evil2", evil2);
  msg = error_of([&] { rerank::pull_model("test-org/evil2", opts()); });
  EXPECT_NE(msg.find("unsafe"), std::string::npos) << msg;

  fs::path noweights = tmp_ / "noweights";
  fs::create_directories(noweights);
  for (const char* f : {"config.json", "tokenizer.json"}) fs::copy_file(data("encoders/models/bi-tiny-mean") / f, noweights / f);
  hub_.add_repo("test-org/noweights", noweights);
  msg = error_of([&] { rerank::pull_model("test-org/noweights", opts()); });
  EXPECT_NE(msg.find("neither model.safetensors nor"), std::string::npos) << msg;
}

struct Cli {
  int status;
  std::string out, err;
};

Cli run(const std::string& env, const std::string& args, const fs::path& tmp, const std::string& input = "") {
  { std::ofstream(tmp / "in") << input; }
  std::string cmd = env + " " + RERANK_CLI + " " + args + " < " + (tmp / "in").string() + " > " + (tmp / "out").string() +
                    " 2> " + (tmp / "err").string();
  int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(tmp / "out"), slurp(tmp / "err")};
}

TEST_F(Hub, CliPullAndPredictWithAHubId) {
  std::string env = "HF_ENDPOINT=" + hub_.endpoint() + " HF_HOME=" + (tmp_ / "cli-hf").string();
  auto pull = run(env, "pull test-org/ce-tiny", tmp_);
  ASSERT_EQ(pull.status, 0) << pull.err;
  fs::path snap = tmp_ / "cli-hf" / "hub" / "models--test-org--ce-tiny" / "snapshots" / ce_commit_;
  EXPECT_EQ(pull.out, snap.string() + "\n");
  EXPECT_EQ(pull.err, "");  // quiet in pipes

  std::string pair = "{\"query\": \"reset password\", \"document\": \"Click Forgot Password.\"}\n";
  auto hubp = run(env + " HF_HUB_OFFLINE=1", "predict --model test-org/ce-tiny", tmp_, pair);
  ASSERT_EQ(hubp.status, 0) << hubp.err;
  auto local = run("", "predict --model " + data("encoders/models/ce-tiny").string(), tmp_, pair);
  EXPECT_EQ(hubp.out, local.out);
  auto bi = run(env, "embed --model test-org/bi-tiny-mean", tmp_, "{\"text\": \"hello\"}\n");
  EXPECT_EQ(bi.status, 0) << bi.err;

  auto bad = run(env, "pull not-a-repo-id", tmp_);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("ORG/NAME"), std::string::npos) << bad.err;
  auto off = run("HF_HOME=" + (tmp_ / "empty").string(), "pull test-org/ce-tiny --offline", tmp_);
  EXPECT_EQ(off.status, 1);
  EXPECT_NE(off.err.find("offline mode is on"), std::string::npos) << off.err;
  auto missing = run(env, "predict --model nobody/nothing", tmp_, pair);
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
}

// scripts/demo.sh (what `make demo` runs): the real model id through the Hub, else the fixture with one line why.
Cli run_demo(const std::string& env, const fs::path& tmp) {
  fs::path script = fs::path(RERANK_TEST_DATA).parent_path().parent_path() / "scripts" / "demo.sh";
  std::string cmd = "env -u RERANK_MODEL -u HF_HUB_OFFLINE -u HF_ENDPOINT RERANK_CLI=" + std::string(RERANK_CLI) + " " + env +
                    " bash " + script.string() + " > " + (tmp / "out").string() + " 2> " + (tmp / "err").string();
  int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(tmp / "out"), slurp(tmp / "err")};
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST_F(Hub, DemoFetchesTheDefaultModelFromTheHub) {
  const std::string id = "cross-encoder/ms-marco-MiniLM-L-6-v2";
  std::string commit = hub_.add_repo(id, data("encoders/models/ce-tiny"));
  std::string env = "HF_ENDPOINT=" + hub_.endpoint() + " HF_HOME=" + (tmp_ / "demo-hf").string();
  auto first = run_demo(env, tmp_);
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_EQ(first.out.find("NOTE"), std::string::npos) << first.out;  // no fallback line
  fs::path snap = tmp_ / "demo-hf" / "hub" / "models--cross-encoder--ms-marco-MiniLM-L-6-v2" / "snapshots" / commit;
  auto lines = lines_of(first.out);
  ASSERT_EQ(lines.size(), 5u) << first.out;  // Query, Reranked ... (model dir), three results
  EXPECT_EQ(lines[0], "Query: How do I reset my password?");
  EXPECT_NE(lines[1].find("(" + snap.string() + ")"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[2].rfind("  1. [", 0), 0u) << lines[2];
  EXPECT_GT(hub_.count("HEAD", "/" + id + "/resolve/"), 0u);
  EXPECT_GT(hub_.count("GET", "/cdn/"), 0u);  // the weights were downloaded

  // cached after the first run: offline, the same ranking from the cache, nothing asked of the Hub
  hub_.clear_log();
  auto cached = run_demo(env + " HF_HUB_OFFLINE=1", tmp_);
  ASSERT_EQ(cached.status, 0) << cached.err;
  EXPECT_EQ(hub_.log().size(), 0u);
  auto again = lines_of(cached.out);
  ASSERT_EQ(again.size(), 5u) << cached.out;
  EXPECT_EQ(again[1].substr(again[1].find('(')), lines[1].substr(lines[1].find('(')));
  for (size_t i = 2; i < 5; ++i) EXPECT_EQ(again[i], lines[i]);
}

TEST_F(Hub, DemoFallsBackWithOneLineWhenTheHubIsUnreachable) {
  std::string env = "HF_ENDPOINT=http://127.0.0.1:" + std::to_string(rerank::test::unused_port()) + " HF_HOME=" +
                    (tmp_ / "demo-hf").string();
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_demo(env, tmp_);
  double s = rerank::test::seconds_since(t0);
  ASSERT_EQ(r.status, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 6u) << r.out;  // the note, Query, Reranked ..., three results
  EXPECT_EQ(lines[0].rfind("NOTE: cross-encoder/ms-marco-MiniLM-L-6-v2 is unavailable (cannot reach http://127.0.0.1:", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("tests/data/encoders/models/ce-tiny"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("RERANK_MODEL=DIR make demo"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1], "Query: How do I reset my password?");
  for (size_t i = 3; i < 6; ++i) EXPECT_EQ(lines[i].rfind("  " + std::to_string(i - 2) + ". [", 0), 0u) << lines[i];
  EXPECT_LT(s, 20.0);  // no retries against a refused connection

  // HF_HUB_OFFLINE=1 with nothing cached: the fallback too, without a request
  auto off = run_demo("HF_HUB_OFFLINE=1 HF_ENDPOINT=" + hub_.endpoint() + " HF_HOME=" + (tmp_ / "demo-hf").string(), tmp_);
  ASSERT_EQ(off.status, 0) << off.err;
  EXPECT_EQ(off.out.rfind("NOTE: cross-encoder/ms-marco-MiniLM-L-6-v2 is unavailable (", 0), 0u) << off.out;
  EXPECT_NE(off.out.find("offline mode is on"), std::string::npos) << off.out;
  EXPECT_EQ(hub_.log().size(), 0u);

  // an explicit model is used as given, no note
  auto given = run_demo(env + " RERANK_MODEL=" + data("encoders/models/ce-tiny").string(), tmp_);
  ASSERT_EQ(given.status, 0) << given.err;
  EXPECT_EQ(given.out.find("NOTE"), std::string::npos) << given.out;
}

TEST_F(Hub, ResolveModelOrFallbackOnlyFallsBackWhenUnreachable) {
  fs::path fb = data("encoders/models/ce-tiny");
  auto o = opts();
  auto ok = rerank::resolve_model_or_fallback("test-org/bi-tiny-mean", fb, o);
  EXPECT_FALSE(ok.fell_back);
  EXPECT_EQ(ok.directory, repo_dir("bi-tiny-mean") / "snapshots" / bi_commit_);
  // a repo the Hub does not have is an error, not a fallback
  auto msg = error_of([&] { rerank::resolve_model_or_fallback("nobody/nothing", fb, o); });
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
  o.endpoint = "http://127.0.0.1:" + std::to_string(rerank::test::unused_port());
  auto down = rerank::resolve_model_or_fallback("test-org/ce-tiny", fb, o);
  EXPECT_TRUE(down.fell_back);
  EXPECT_EQ(down.directory, fb);
  EXPECT_EQ(down.reason.rfind("cannot reach " + o.endpoint, 0), 0u) << down.reason;
  msg = error_of([&] { rerank::resolve_model_or_fallback("test-org/ce-tiny", tmp_ / "none", o); });
  EXPECT_NE(msg.find("fallback model"), std::string::npos) << msg;
}

// A host that takes no connection (a listening socket whose accept queue is full: the kernel drops further SYNs) is
// unreachable after connect_timeout_seconds, without retries, and the fallback is taken.
TEST_F(Hub, ConnectTimeoutCountsAsUnreachable) {
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lfd, 0), 0);
  socklen_t len = sizeof a;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {  // fill the accept queue; later connects stay unanswered
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(c);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto o = opts();
  o.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  o.connect_timeout_seconds = 1;
  auto t0 = std::chrono::steady_clock::now();
  auto choice = rerank::resolve_model_or_fallback("test-org/ce-tiny", data("encoders/models/ce-tiny"), o);
  double s = rerank::test::seconds_since(t0);
  for (int c : fillers) ::close(c);
  ::close(lfd);
  EXPECT_TRUE(choice.fell_back);
  EXPECT_NE(choice.reason.find("could not connect within 1 s"), std::string::npos) << choice.reason;
  EXPECT_LT(s, 5.0);  // one attempt of 1 s, not max_attempts of the 30 s timeout
}

}  // namespace

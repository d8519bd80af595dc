// Models from the Hugging Face Hub into the Hugging Face cache layout (see include/rerank/hub.hpp).
//
// Per file, as huggingface_hub's hf_hub_download: HEAD {endpoint}/{repo}/resolve/{revision}/{file} without
// following redirects (relative ones are followed: renamed repos) gives X-Repo-Commit, the etag (X-Linked-Etag,
// else ETag) and the size (X-Linked-Size, else Content-Length); an absolute redirect's Location (the CDN, for LFS
// files) is where the bytes are fetched. The first HEAD pins the commit; every later file is asked for at that
// commit, so a snapshot never mixes two commits, and a file already in snapshots/<commit>/ needs no request.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "clients/http_client.hpp"
#include "hub/hash.hpp"
#include "hub/http.hpp"
#include "util/files.hpp"
#include "rerank/hub.hpp"

namespace fs = std::filesystem;

namespace rerank {
namespace {

using hub_detail::Http;
using hub_detail::HttpResponse;

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

bool truthy(const std::string& v) {
  std::string s;
  for (char c : v) s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return s == "1" || s == "true" || s == "yes" || s == "on";
}

fs::path expand_user(const std::string& p) {
  if (p == "~" || p.rfind("~/", 0) == 0) {
    if (auto home = env("HOME")) return fs::path(*home + p.substr(1));
  }
  return fs::path(p);
}

fs::path hf_home() {
  if (auto h = env("HF_HOME")) return expand_user(*h);
  if (auto x = env("XDG_CACHE_HOME")) return expand_user(*x) / "huggingface";
  if (auto home = env("HOME")) return fs::path(*home) / ".cache" / "huggingface";
  throw HubError("cannot locate the Hugging Face cache: set HF_HOME or HF_HUB_CACHE (HOME is not set)");
}

bool has_control(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

/// Printable and short, for server-provided text put into messages.
using http::sanitize;

bool is_hex(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
bool is_commit(const std::string& s) { return is_hex(s, 40); }

std::string endpoint_from(const PullOptions& o) {
  std::string e = !o.endpoint.empty() ? o.endpoint : env("HF_ENDPOINT").value_or("https://huggingface.co");
  while (!e.empty() && e.back() == '/') e.pop_back();
  if ((e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0) || has_control(e) || e.find(' ') != std::string::npos)
    throw HubError("HF_ENDPOINT \"" + sanitize(e) + "\" is not an http:// or https:// URL");
  return e;
}

/// scheme://host[:port] of a URL (lowercased), to decide where the token may be sent.
std::string origin(const std::string& url) {
  auto p = url.find("://");
  if (p == std::string::npos) return "";
  auto q = url.find('/', p + 3);
  std::string o = url.substr(0, q);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string token_from(const PullOptions& o) {
  std::string t = o.token, source = "the token option";
  if (t.empty()) {
    if (auto v = env("HF_TOKEN")) t = *v, source = "HF_TOKEN";
    else if (auto v2 = env("HUGGING_FACE_HUB_TOKEN")) t = *v2, source = "HUGGING_FACE_HUB_TOKEN";
  }
  if (t.empty()) {
    fs::path file = env("HF_TOKEN_PATH") ? expand_user(*env("HF_TOKEN_PATH")) : hf_home() / "token";
    std::error_code ec;
    if (fs::is_regular_file(file, ec)) {
      std::ifstream in(file, std::ios::binary);
      std::string s((std::istreambuf_iterator<char>(in)), {});
      if (s.size() > 4096) throw HubError("token file " + file.string() + " is too large to be a token");
      t = s, source = "token file " + file.string();
    }
  }
  size_t a = t.find_first_not_of(" \t\r\n"), b = t.find_last_not_of(" \t\r\n");
  t = a == std::string::npos ? "" : t.substr(a, b - a + 1);
  if (has_control(t) || t.find(' ') != std::string::npos)
    throw HubError(source + " contains spaces or control characters; it is not a valid token");
  return t;
}

/// Percent-encodes all but unreserved characters (and '/' when keep_slash), as huggingface_hub's quote().
std::string url_encode(const std::string& s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) out.push_back(static_cast<char>(c));
    else { out.push_back('%'); out.push_back(hex[c >> 4]); out.push_back(hex[c & 15]); }
  }
  return out;
}

/// A relative path inside the repo: no absolute path, "..", ".", empty component, backslash or control character.
bool safe_relative(const std::string& p) {
  if (p.empty() || p.size() > 1000 || has_control(p) || p.find('\\') != std::string::npos || p.front() == '/') return false;
  size_t start = 0;
  while (true) {
    size_t slash = p.find('/', start);
    std::string part = p.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

void validate_revision(const std::string& r) {
  if (r.empty() || r.size() > 255 || !safe_relative(r) || r.find(' ') != std::string::npos ||
      r.find_first_of("~^:?*[") != std::string::npos || r.find("@{") != std::string::npos)
    throw HubError("invalid revision \"" + sanitize(r) + "\": expected a branch, tag or 40-hex commit sha");
}

/// "W/\"abc\"" -> "abc". The etag names a file in blobs/, so it must be a plain token.
std::optional<std::string> normalize_etag(std::string e) {
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  if (e.empty() || e.size() > 200 || e.front() == '.' ||
      !std::all_of(e.begin(), e.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; }))
    return std::nullopt;
  return e;
}

bool parse_size(const std::string& s, uint64_t& out) {
  if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  out = std::stoull(s);
  return true;
}

std::string read_small_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string s;
  s.resize(4096);
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<size_t>(in.gcount()));
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

/// Writes `content` to `path` atomically (temporary file in the same directory, then rename).
void write_atomic(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(std::random_device{}());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw HubError("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw HubError("cannot create " + path.string() + ": " + ec.message());
  }
}

/// An exclusive advisory lock held for the object's lifetime (flock on a lock file).
class FileLock {
 public:
  explicit FileLock(const fs::path& path) {
    fs::create_directories(path.parent_path());
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd_ < 0) throw HubError("cannot create lock file " + path.string() + ": " + std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd_);
        throw HubError("cannot lock " + path.string() + ": " + std::strerror(errno));
      }
    }
  }
  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
 private:
  int fd_ = -1;
};

struct FileMeta {
  std::string commit, etag, location;
  std::optional<uint64_t> size;
};

/// A progress line on stderr for one file: "name  45%  12.3/27.1 MB  5.2 MB/s".
class ProgressLine {
 public:
  ProgressLine(bool on, std::string name, std::optional<uint64_t> total)
      : on_(on), name_(std::move(name)), total_(total), start_(std::chrono::steady_clock::now()) {}
  void update(uint64_t bytes, bool final = false) {
    if (!on_) return;
    auto now = std::chrono::steady_clock::now();
    if (!final && now - last_ < std::chrono::milliseconds(150)) return;
    last_ = now;
    double s = std::chrono::duration<double>(now - start_).count();
    double mb = bytes / 1e6;
    if (total_ && *total_ > 0)
      std::fprintf(stderr, "\rdownloading %s %3d%% %.1f/%.1f MB %.1f MB/s ", name_.c_str(),
                   static_cast<int>(100.0 * bytes / *total_), mb, *total_ / 1e6, s > 0 ? mb / s : 0.0);
    else
      std::fprintf(stderr, "\rdownloading %s %.1f MB %.1f MB/s ", name_.c_str(), mb, s > 0 ? mb / s : 0.0);
    if (final) std::fputc('\n', stderr);
    std::fflush(stderr);
  }
 private:
  bool on_;
  std::string name_;
  std::optional<uint64_t> total_;
  std::chrono::steady_clock::time_point start_, last_{};
};

class Puller {
 public:
  Puller(std::string repo_id, const PullOptions& o) : repo_(std::move(repo_id)), opt_(o), http_(o.timeout_seconds, o.connect_timeout_seconds) {
    if (!is_hub_repo_id(repo_))
      throw HubError("\"" + sanitize(repo_) + "\" is not a Hugging Face Hub model id of the form ORG/NAME");
    validate_revision(opt_.revision);
    if (opt_.max_attempts < 1) opt_.max_attempts = 1;
    offline_ = opt_.offline || truthy(env("HF_HUB_OFFLINE").value_or(""));
    cache_ = opt_.cache_dir.empty() ? hub_cache_dir() : opt_.cache_dir;
    std::string folder = "models--" + repo_.substr(0, repo_.find('/')) + "--" + repo_.substr(repo_.find('/') + 1);
    repo_dir_ = cache_ / folder;
    locks_dir_ = cache_ / ".locks" / folder;
    if (!offline_) {
      endpoint_ = endpoint_from(opt_);
      token_ = token_from(opt_);
    }
    switch (opt_.progress) {
      case PullOptions::ProgressBar::Always: progress_ = true; break;
      case PullOptions::ProgressBar::Never: progress_ = false; break;
      case PullOptions::ProgressBar::Auto: progress_ = ::isatty(STDERR_FILENO) == 1; break;
    }
  }

  PullResult run() {
    const std::string& rev = opt_.revision;
    std::optional<FileMeta> config_meta;
    if (is_commit(rev)) {
      commit_ = rev;
    } else {
      std::optional<std::string> cached = cached_commit(rev);
      if (offline_) {
        if (!cached) throw not_cached("revision \"" + rev + "\" is not in the cache");
        commit_ = *cached;
        cache_only_ = true;
      } else {
        try {
          auto m = metadata(rev, "config.json");
          if (!m) throw HubError(where() + " has no config.json (HTTP 404): not a model rerank can load");
          commit_ = m->commit;
          config_meta = m;
          if (!cached || *cached != commit_) write_atomic(repo_dir_ / "refs" / rev, commit_);
        } catch (const HubUnreachable& e) {
          if (!cached) throw;
          commit_ = *cached;  // the Hub is down: use what the cache has for this revision, as huggingface_hub does
          cache_only_ = true;
        }
      }
    }
    if (is_commit(rev) && offline_) cache_only_ = true;
    snapshot_ = repo_dir_ / "snapshots" / commit_;
    if (cache_only_ && !fs::is_directory(snapshot_)) throw not_cached("commit " + commit_ + " is not in the cache");

    ensure("config.json", true, config_meta);
    bool tok_json = ensure("tokenizer.json", false);
    ensure("tokenizer_config.json", false);
    ensure("special_tokens_map.json", false);
    bool vocab = ensure("vocab.txt", false);
    if (!tok_json && !vocab)
      throw HubError(where() + " has neither tokenizer.json nor vocab.txt" + (cache_only_ ? " in the cache" : ""));
    ensure("sentence_bert_config.json", false);
    ensure("config_sentence_transformers.json", false);
    if (ensure("modules.json", false)) {
      for (const auto& [path, type] : module_folders()) {
        ensure(path + "/config.json", false);
        if (type.find("Dense") != std::string::npos) ensure(path + "/model.safetensors", false);
      }
    }
    if (!ensure("model.safetensors", false)) {
      if (!ensure("model.safetensors.index.json", false))
        throw HubError(where() + " has neither model.safetensors nor model.safetensors.index.json" +
                       (cache_only_ ? " in the cache" : " (rerank reads safetensors weights only)"));
      for (const auto& shard : shards()) ensure(shard, true);
    }

    result_.snapshot = snapshot_;
    result_.commit = commit_;
    result_.requests = http_.requests();
    result_.from_cache_only = cache_only_;
    return result_;
  }

 private:
  std::string where() const { return repo_ + "@" + (commit_.empty() ? opt_.revision : commit_); }

  HubUnreachable not_cached(const std::string& what) const {
    std::string why = offline_ ? "offline mode is on (HF_HUB_OFFLINE or --offline)" : "the Hub could not be reached";
    return HubUnreachable("model " + repo_ + " (revision " + opt_.revision + "): " + what + " (" + repo_dir_.string() +
                    ") and " + why + "; run `rerank pull " + repo_ + (opt_.revision == "main" ? "" : " --revision " + opt_.revision) +
                    "` with network access first");
  }

  std::optional<std::string> cached_commit(const std::string& rev) const {
    fs::path ref = repo_dir_ / "refs" / rev;
    std::error_code ec;
    if (!fs::is_regular_file(ref, ec)) return std::nullopt;
    std::string c = read_small_file(ref);
    if (!is_commit(c)) throw HubError("cache file " + ref.string() + " does not hold a 40-hex commit sha; delete it");
    return c;
  }

  std::vector<std::string> auth_headers(const std::string& url) const {
    std::vector<std::string> h{"Accept-Encoding: identity"};
    if (!token_.empty() && origin(url) == origin(endpoint_)) h.push_back("Authorization: Bearer " + token_);
    return h;
  }

  std::string resolve_url(const std::string& rev, const std::string& file) const {
    return endpoint_ + "/" + repo_ + "/resolve/" + url_encode(rev, false) + "/" + url_encode(file, true);
  }

  void backoff(int attempt) const {
    double s = std::min(8.0, opt_.backoff_seconds * std::pow(2.0, attempt - 1));
    if (s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(s));
  }

  /// Throws the message for an HTTP error answer about `file`.
  [[noreturn]] void http_error(const HttpResponse& r, const std::string& rev, const std::string& file, const std::string& url) const {
    const std::string* code = r.header("x-error-code");
    const std::string* msg = r.header("x-error-message");
    std::string c = code ? *code : "";
    std::string detail = msg ? " (" + sanitize(*msg) + ")" : "";
    std::string hub = endpoint_;
    if (c == "GatedRepo")
      throw HubError(repo_ + " is a gated repository: accept its conditions at " + hub + "/" + repo_ +
                     (token_.empty() ? " and set HF_TOKEN" : "; the token sent has no access yet") + detail);
    if (c == "RepoNotFound" || (r.status == 401 && c.empty()))
      throw HubError("repository " + repo_ + " not found on " + hub + ", or it is private/gated" +
                     (token_.empty() ? ": set HF_TOKEN to a token with access" : " and the token sent has no access") +
                     " (HTTP " + std::to_string(r.status) + ")" + detail);
    if (c == "RevisionNotFound")
      throw HubError("revision \"" + rev + "\" not found in " + repo_ + " on " + hub + detail);
    if (r.status == 403)
      throw HubError("access to " + file + " of " + repo_ + " denied (HTTP 403): a gated or private repo? " +
                     (token_.empty() ? "set HF_TOKEN" : "check the token's permissions") + detail);
    if (r.status == 404)
      throw HubError(repo_ + "@" + rev + " has no file " + file + " (HTTP 404)" + detail);
    throw HubError("HTTP " + std::to_string(r.status) + " from " + url + detail +
                   (r.body.empty() ? "" : ": " + sanitize(r.body, 200)));
  }

  static bool retryable_status(long s) { return s == 429 || s >= 500; }

  /// HEAD for one file: its metadata, or nullopt when the repo does not have it (404 EntryNotFound).
  std::optional<FileMeta> metadata(const std::string& rev, const std::string& file) {
    std::string url = resolve_url(rev, file);
    for (int attempt = 1;; ++attempt) {
      std::string cur = url;
      HttpResponse r;
      int hops = 0;
      while (true) {
        r = http_.head(cur, auth_headers(cur));
        if (r.transport_failed || r.status < 300 || r.status > 399) break;
        const std::string* loc = r.header("location");
        if (!loc || loc->empty()) throw HubError("HTTP " + std::to_string(r.status) + " without Location from " + cur);
        if ((*loc)[0] != '/' || loc->rfind("//", 0) == 0) break;  // absolute: the CDN; metadata is in this answer
        if (++hops > 5) throw HubError("too many redirects for " + url);
        cur = origin(endpoint_) + *loc;  // relative: a renamed repo, follow it
      }
      if (r.transport_failed) {
        if (r.unreachable) throw HubUnreachable("cannot reach " + endpoint_ + " for " + repo_ + ": " + r.error);
        if (attempt >= opt_.max_attempts) throw HubError("no answer from " + url + " after " + std::to_string(attempt) + " attempts: " + r.error);
        backoff(attempt);
        continue;
      }
      if (retryable_status(r.status)) {
        if (attempt >= opt_.max_attempts) http_error(r, rev, file, url);
        backoff(attempt);
        continue;
      }
      if (r.status >= 400) {
        const std::string* code = r.header("x-error-code");
        if (r.status == 404 && (!code || *code == "EntryNotFound")) return std::nullopt;
        http_error(r, rev, file, url);
      }
      FileMeta m;
      const std::string* commit = r.header("x-repo-commit");
      if (!commit || !is_commit(*commit))
        throw HubError("the answer for " + url + " has no valid X-Repo-Commit header: is " + endpoint_ +
                       " (HF_ENDPOINT) a Hugging Face Hub?");
      m.commit = *commit;
      const std::string* etag = r.header("x-linked-etag");
      if (!etag) etag = r.header("etag");
      auto ne = etag ? normalize_etag(*etag) : std::nullopt;
      if (!ne) throw HubError("the answer for " + url + " has no usable ETag/X-Linked-Etag header" + (etag ? " (\"" + sanitize(*etag) + "\")" : ""));
      m.etag = *ne;
      const std::string* size = r.header("x-linked-size");
      if (!size) size = r.header("content-length");
      if (size) {
        uint64_t v;
        if (!parse_size(*size, v)) throw HubError("the answer for " + url + " has an invalid size \"" + sanitize(*size) + "\"");
        m.size = v;
      }
      if (r.status >= 300) {
        m.location = *r.header("location");
        if (m.location.rfind("//", 0) == 0) m.location = endpoint_.substr(0, endpoint_.find("://") + 1) + m.location;
        if ((m.location.rfind("http://", 0) != 0 && m.location.rfind("https://", 0) != 0) || has_control(m.location))
          throw HubError("the answer for " + url + " redirects to an unsupported location \"" + sanitize(m.location) + "\"");
      } else {
        m.location = cur;
      }
      return m;
    }
  }

  /// Makes `file` present in the snapshot. Returns false when the repo does not have it (optional files only).
  bool ensure(const std::string& file, bool required, std::optional<FileMeta> meta = std::nullopt) {
    if (!safe_relative(file)) throw HubError(where() + ": unsafe file name \"" + sanitize(file) + "\"");
    fs::path link = snapshot_ / file;
    std::error_code ec;
    if (fs::exists(link, ec)) {
      ++result_.files;
      return true;
    }
    fs::path no_exist = repo_dir_ / ".no_exist" / commit_ / file;
    if (cache_only_) {
      if (required) throw not_cached("file " + file + " of commit " + commit_ + " is not in the cache");
      return false;
    }
    if (!required && !meta && fs::exists(no_exist, ec)) return false;  // known absent at this commit
    if (!meta) meta = metadata(commit_, file);
    if (!meta) {
      if (required) throw HubError(where() + " has no file " + file + " (HTTP 404)");
      write_atomic(no_exist, "");
      return false;
    }
    if (meta->commit != commit_)
      throw HubError("asked " + endpoint_ + " for " + file + " of " + repo_ + " at commit " + commit_ + ", it answered commit " + meta->commit);
    fs::path blob = repo_dir_ / "blobs" / meta->etag;
    if (!fs::exists(blob, ec)) download(*meta, file, blob);
    // snapshots/<commit>/<a/b/file> -> ../../(../)blobs/<etag>
    std::string target;
    for (size_t i = 0, n = std::count(file.begin(), file.end(), '/'); i < n + 2; ++i) target += "../";
    target += "blobs/" + meta->etag;
    fs::create_directories(link.parent_path());
    fs::path tmp = link.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(std::random_device{}());
    fs::create_symlink(target, tmp, ec);
    if (!ec) fs::rename(tmp, link, ec);
    if (ec) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      throw HubError("cannot create " + link.string() + ": " + ec.message());
    }
    ++result_.files;
    return true;
  }

  void download(const FileMeta& m, const std::string& file, const fs::path& blob) {
    fs::create_directories(blob.parent_path());
    FileLock lock(locks_dir_ / (m.etag + ".lock"));
    std::error_code ec;
    if (fs::exists(blob, ec)) return;  // another process finished it while we waited
    fs::path part = blob.string() + ".incomplete";
    // never write through a symlink planted in the cache (the blob itself is renamed over, never opened)
    if (fs::is_symlink(part, ec)) fs::remove(part, ec);
    const bool lfs = is_hex(m.etag, 64);  // LFS etags are the sha256 of the content; git blob sha1s are not checked
    std::string last;
    for (int attempt = 1; attempt <= opt_.max_attempts; ++attempt) {
      if (attempt > 1) backoff(attempt - 1);
      uint64_t have = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
      if (ec) have = 0;
      if (m.size && have > *m.size) { fs::remove(part, ec); have = 0; }
      if (!m.size || have < *m.size) {
        int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) throw HubError("cannot create " + part.string() + ": " + std::strerror(errno));
        if (::lseek(fd, static_cast<off_t>(have), SEEK_SET) < 0 || ::ftruncate(fd, static_cast<off_t>(have)) != 0) {
          ::close(fd);
          throw HubError("cannot prepare " + part.string() + ": " + std::strerror(errno));
        }
        ProgressLine bar(progress_ && (!m.size || *m.size >= (1u << 20)), file, m.size);
        HttpResponse r = http_.get_to_file(m.location, auth_headers(m.location), fd, have, m.size,
                                           [&](uint64_t n) { bar.update(n); });
        bool closed = ::close(fd) == 0;
        result_.downloaded_bytes += r.received;
        if (r.received > 0 || r.restarted) bar.update((r.restarted ? 0 : have) + r.received, true);
        if (!closed) { last = "cannot write " + part.string(); continue; }
        if (r.transport_failed) {  // keep what arrived: the next attempt resumes with a Range request
          last = r.error;
          if (r.error.find("more bytes than") != std::string::npos || r.error.find("Content-Range") != std::string::npos) fs::remove(part, ec);
          continue;
        }
        if (r.status == 416) { fs::remove(part, ec); last = "HTTP 416 for a resumed download"; continue; }
        if (retryable_status(r.status)) { last = "HTTP " + std::to_string(r.status); continue; }
        if (r.status < 200 || r.status > 299) {
          fs::remove(part, ec);
          http_error(r, commit_, file, m.location);
        }
      }
      uint64_t got = fs::file_size(part, ec);
      if (ec) { last = "the download vanished: " + ec.message(); continue; }
      if (m.size && got != *m.size) {
        last = "got " + std::to_string(got) + " bytes, expected " + std::to_string(*m.size);
        if (got > *m.size) fs::remove(part, ec);
        continue;
      }
      if (lfs) {
        std::string sum = hub_detail::sha256_file_hex(part);
        if (sum != m.etag) {
          last = "sha256 " + sum + " does not match the Hub's " + m.etag + " (corrupted download, deleted)";
          fs::remove(part, ec);
          continue;
        }
      }
      ::chmod(part.c_str(), 0644 & ~current_umask());
      fs::rename(part, blob, ec);
      if (ec) throw HubError("cannot move " + part.string() + " to " + blob.string() + ": " + ec.message());
      ++result_.downloaded_files;
      return;
    }
    throw HubError("downloading " + file + " of " + where() + " failed after " + std::to_string(opt_.max_attempts) +
                   " attempts; last: " + last);
  }

  static mode_t current_umask() {
    static const mode_t m = [] { mode_t u = ::umask(022); ::umask(u); return u; }();
    return m;
  }

  /// modules.json -> (folder, type) for each module with a folder. Every folder name is checked.
  std::vector<std::pair<std::string, std::string>> module_folders() const {
    fs::path p = snapshot_ / "modules.json";
    nlohmann::json j;
    try {
      std::ifstream in(p, std::ios::binary);
      j = util::parse_json(std::string(std::istreambuf_iterator<char>(in), {}));
    } catch (const nlohmann::json::exception& e) {
      throw HubError(where() + ": modules.json is not valid JSON (" + std::string(e.what()) + ")");
    }
    if (!j.is_array() || j.size() > 100) throw HubError(where() + ": modules.json must be an array of at most 100 modules");
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& m : j) {
      if (!m.is_object() || !m.contains("path") || !m["path"].is_string())
        throw HubError(where() + ": modules.json entries must be objects with a string \"path\"");
      std::string path = m["path"].get<std::string>();
      std::string type = m.contains("type") && m["type"].is_string() ? m["type"].get<std::string>() : "";
      while (!path.empty() && path.back() == '/') path.pop_back();
      if (path.empty()) continue;  // the transformer module lives at the root
      if (!safe_relative(path)) throw HubError(where() + ": modules.json has an unsafe module path \"" + sanitize(path) + "\"");
      out.emplace_back(path, type);
    }
    return out;
  }

  /// model.safetensors.index.json -> the distinct shard files of its weight_map, each checked.
  std::vector<std::string> shards() const {
    fs::path p = snapshot_ / "model.safetensors.index.json";
    nlohmann::json j;
    try {
      std::ifstream in(p, std::ios::binary);
      j = util::parse_json(std::string(std::istreambuf_iterator<char>(in), {}));
    } catch (const nlohmann::json::exception& e) {
      throw HubError(where() + ": model.safetensors.index.json is not valid JSON (" + std::string(e.what()) + ")");
    }
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object() || j["weight_map"].empty())
      throw HubError(where() + ": model.safetensors.index.json has no \"weight_map\" object");
    std::set<std::string> files;
    for (const auto& [name, v] : j["weight_map"].items()) {
      if (!v.is_string()) throw HubError(where() + ": model.safetensors.index.json: weight_map[\"" + sanitize(name) + "\"] is not a string");
      std::string f = v.get<std::string>();
      if (!safe_relative(f) || f.size() < 12 || f.substr(f.size() - 12) != ".safetensors")
        throw HubError(where() + ": model.safetensors.index.json names an unsafe or non-safetensors shard \"" + sanitize(f) + "\"");
      files.insert(f);
    }
    if (files.size() > 10000) throw HubError(where() + ": model.safetensors.index.json names too many shards");
    return {files.begin(), files.end()};
  }

  std::string repo_;
  PullOptions opt_;
  Http http_;
  bool offline_ = false, cache_only_ = false, progress_ = false;
  fs::path cache_, repo_dir_, locks_dir_, snapshot_;
  std::string endpoint_, token_, commit_;
  PullResult result_;
};

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool valid_part(const std::string& p) {
  if (p.empty() || !word_char(p.front()) || !word_char(p.back())) return false;
  if (p.find("--") != std::string::npos || p.find("..") != std::string::npos) return false;
  return std::all_of(p.begin(), p.end(), [](char c) { return word_char(c) || c == '-' || c == '.'; });
}

}  // namespace

bool is_hub_repo_id(const std::string& id) {
  auto slash = id.find('/');
  if (id.size() > 96 || slash == std::string::npos || id.find('/', slash + 1) != std::string::npos) return false;
  return valid_part(id.substr(0, slash)) && valid_part(id.substr(slash + 1));
}

fs::path hub_cache_dir() {
  if (auto c = env("HF_HUB_CACHE")) return expand_user(*c);
  if (auto c = env("HUGGINGFACE_HUB_CACHE")) return expand_user(*c);
  return hf_home() / "hub";
}

PullResult pull_model(const std::string& repo_id, const PullOptions& options) {
  try {
    return Puller(repo_id, options).run();
  } catch (const fs::filesystem_error& e) {
    throw HubError("Hugging Face cache: " + std::string(e.what()));
  }
}

fs::path resolve_model(const std::string& id_or_path, const PullOptions& options) {
  std::error_code ec;
  if (fs::is_directory(id_or_path, ec)) return fs::path(id_or_path);
  if (fs::exists(id_or_path, ec)) throw HubError(id_or_path + " is a file, not a model directory");
  std::string id = id_or_path;
  PullOptions o = options;
  if (auto at = id.find('@'); at != std::string::npos) {
    o.revision = id.substr(at + 1);
    id = id.substr(0, at);
    if (o.revision.empty()) throw HubError("\"" + sanitize(id_or_path) + "\": empty revision after '@'");
  }
  if (!is_hub_repo_id(id))
    throw HubError("\"" + sanitize(id_or_path) + "\" is neither a model directory nor a Hugging Face Hub id ORG/NAME[@REVISION]");
  const std::string prefix = "\"" + sanitize(id_or_path) + "\" is not a directory; as a Hugging Face Hub model id: ";
  try {
    return pull_model(id, o).snapshot;
  } catch (const HubUnreachable& e) {
    throw HubUnreachable(prefix + e.what());
  } catch (const HubError& e) {
    throw HubError(prefix + e.what());
  }
}

ModelChoice resolve_model_or_fallback(const std::string& id_or_path, const fs::path& fallback, const PullOptions& options) {
  try {
    return {resolve_model(id_or_path, options), false, ""};
  } catch (const HubUnreachable& e) {
    std::error_code ec;
    if (!fs::is_directory(fallback, ec))
      throw HubError(std::string(e.what()) + "; and the fallback model " + fallback.string() + " is not a directory");
    std::string why = e.what();  // the part after resolve_model's prefix is the Hub's own message
    const std::string marker = "as a Hugging Face Hub model id: ";
    if (auto p = why.find(marker); p != std::string::npos) why = why.substr(p + marker.size());
    return {fallback, true, why};
  }
}

}  // namespace rerank

// Fuzz target: the Hugging Face Hub client's handling of the Hub's answers (status, X-Repo-Commit, ETag /
// X-Linked-Etag, sizes, Location redirects, Content-Range, error codes) and of the files it downloads and then
// reads (modules.json, model.safetensors.index.json), through pull_model with a fake transport (no socket).
// Input: byte 0 picks the revision; the rest is a list of answers separated by NUL bytes, each
// "STATUS\nName: value\n...\n\nBODY", handed out in request order (then 404 EntryNotFound for every request).
// The pull must end in a HubError or a snapshot whose every file resolves inside the cache.
#include <algorithm>

#include "clients/http_client.hpp"
#include "fuzz_common.hpp"
#include "rerank/hub.hpp"

namespace {

rerank::http::Response parse_answer(std::string_view a) {
  rerank::http::Response r;
  const size_t eol = a.find('\n');
  const std::string status(a.substr(0, std::min(eol, size_t{4})));
  r.status = std::all_of(status.begin(), status.end(), ::isdigit) && !status.empty() ? std::stol(status) : 200;
  a = eol == std::string_view::npos ? std::string_view() : a.substr(eol + 1);
  while (!a.empty()) {
    const size_t e = a.find('\n');
    const std::string_view line = a.substr(0, e);
    a = e == std::string_view::npos ? std::string_view() : a.substr(e + 1);
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers[name] = std::string(value);
  }
  r.body = std::string(a);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* revisions[] = {"main", "v1.0", "refs/pr/1", "0123456789abcdef0123456789abcdef01234567", "../../x"};
  const auto answers = fuzz::split(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), 64);
  size_t next = 0;
  rerank::http::set_fake_transport([&](const rerank::http::Request&) {
    if (next < answers.size()) return parse_answer(answers[next++]);
    rerank::http::Response r;
    r.status = 404;
    r.headers["x-error-code"] = "EntryNotFound";
    return r;
  });
  const auto cache = fuzz::fresh_dir();
  rerank::PullOptions o;
  o.revision = revisions[data[0] % (sizeof revisions / sizeof revisions[0])];
  o.endpoint = "https://hub.test";
  o.token = "hf_fuzz";
  o.cache_dir = cache;
  o.max_attempts = 2;
  o.backoff_seconds = 0;
  o.progress = rerank::PullOptions::ProgressBar::Never;
  fuzz::expect_typed_errors([&] {
    rerank::PullResult r = rerank::pull_model("fuzz-org/fuzz-model", o);
    const auto root = std::filesystem::weakly_canonical(cache).string() + "/";
    for (const auto& e : std::filesystem::recursive_directory_iterator(r.snapshot)) {
      std::error_code ec;
      const auto real = std::filesystem::weakly_canonical(e.path(), ec).string();
      if (!ec && real.rfind(root, 0) != 0) __builtin_trap();  // a snapshot file outside the cache
    }
  });
  rerank::http::set_fake_transport(nullptr);
  return 0;
}

// Helpers shared by the tests: data paths, JSON-lines reading, running the CLI.
#pragma once
#include <nlohmann/json.hpp>

#include <fcntl.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "rerank/collection.hpp"
#include "rerank/error.hpp"
#include "rerank/server.hpp"

namespace rerank::test {

inline std::filesystem::path data(const std::string& rel) { return std::filesystem::path(RERANK_TEST_DATA) / rel; }

inline std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

/// A query and documents for the server and remote-backend tests (three about passwords, four not).
inline const std::string kPasswordQuery = "How do I reset my password?";
inline const std::vector<std::string> kPasswordDocs = {
    "Click 'Forgot password' on the sign-in page and follow the link we e-mail you.",
    "Our office is open from nine to five on weekdays.",
    "To change your password, open Settings, then Security.",
    "The cafeteria serves lunch at noon.",
    "Password resets expire after 24 hours.",
    "Contact support if you cannot sign in.",
    "We moved to a new building in 2019.",
};

/// A fresh (removed) path in the temp directory: "<prefix>-<pid>-<name>".
inline std::filesystem::path temp_path(const std::string& prefix, const std::string& name) {
  std::filesystem::path p = std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(p);
  return p;
}

/// The documents of tests/data/retrieval/corpus.jsonl.
inline std::vector<Document> fixture_documents() {
  std::vector<Document> docs;
  for (const auto& j : read_jsonl(data("retrieval/corpus.jsonl"))) docs.push_back({j["_id"], j["title"], j["text"], ""});
  return docs;
}

/// The message of the exception of type E that `f` throws, or "(no error)".
template <class E = Error>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

/// Options for an in-process test server: `models`, an ephemeral loopback port, one engine thread, no access log.
inline ServerOptions server_options(std::vector<std::string> models) {
  ServerOptions o;
  o.models = std::move(models);
  o.port = 0;
  o.threads = 1;
  o.access_log = false;
  return o;
}

/// Starts the rerank CLI with `args` as a child process, its stdout and stderr appended to `log`; returns its pid
/// (wait for it with waitpid). In the child, a failure to start exits with status 127.
inline pid_t spawn_cli(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) _exit(127);
  std::vector<char*> argv = {const_cast<char*>(RERANK_CLI)};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(RERANK_CLI, argv.data());
  _exit(127);
}

struct RunResult {
  int status = -1;  // exit code, or 128 + signal
  std::string out, err;
};

/// Runs the rerank CLI with `args` (shell words, already quoted), feeding `input` on stdin.
inline RunResult run_cli(const std::string& args, const std::string& input) {
  namespace fs = std::filesystem;
  static int counter = 0;
  fs::path dir = fs::temp_directory_path() / ("rerank-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::create_directories(dir);
  { std::ofstream(dir / "in") << input; }
  std::string cmd = std::string(RERANK_CLI) + " " + args + " < " + (dir / "in").string() + " > " + (dir / "out").string() +
                    " 2> " + (dir / "err").string();
  int rc = std::system(cmd.c_str());
  RunResult r;
  if (WIFEXITED(rc)) r.status = WEXITSTATUS(rc);
  else if (WIFSIGNALED(rc)) r.status = 128 + WTERMSIG(rc);
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  fs::remove_all(dir);
  return r;
}

}  // namespace rerank::test

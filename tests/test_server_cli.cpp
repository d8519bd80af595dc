// `rerank serve` as a child process on a free port: a request over HTTP, then SIGTERM -> exit status 0.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "test_util.hpp"

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(ServerCli, ServesAndExitsCleanlyOnSigterm) {
  const int port = free_port();
  const std::string model = rerank::test::data("encoders/models/ce-tiny").string();
  const std::string log = (std::filesystem::temp_directory_path() / ("rerank-serve-" + std::to_string(::getpid()) + ".log")).string();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FILE* f = std::freopen(log.c_str(), "w", stderr);
    (void)f;
    const std::string p = std::to_string(port);
    ::execl(RERANK_CLI, RERANK_CLI, "serve", "-m", model.c_str(), "--port", p.c_str(), "--threads", "1",
            static_cast<char*>(nullptr));
    _exit(127);
  }
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(0, 200000);
  bool up = false;
  for (int i = 0; i < 300 && !up; ++i) {
    auto r = cli.Get("/health");
    up = r && r->status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(up) << "server did not come up";
  auto r = cli.Post("/v2/rerank", R"({"query": "reset password", "documents": ["Click Forgot Password.", "Office hours"], "top_n": 1})",
                    "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["results"].size(), 1u);
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("\"path\":\"/v2/rerank\""), std::string::npos) << text;  // the access log line
  EXPECT_NE(text.find("\"status\":200"), std::string::npos) << text;
  std::filesystem::remove(log);
}

}  // namespace

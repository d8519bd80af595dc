// `rerank serve` as a child process on a free port: a request over HTTP, then SIGTERM -> exit status 0; and the
// drain on SIGTERM: /ready 503 while requests are still served for --drain-seconds, then exit 0.
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
#include <vector>

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

// `rerank serve -m model --port port --threads 1 extra...` as a child process, its output in `log` (truncated first)
pid_t serve(const std::string& model, int port, const std::string& log, const std::vector<std::string>& extra) {
  std::filesystem::remove(log);
  std::vector<std::string> args = {"serve", "-m", model, "--port", std::to_string(port), "--threads", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return rerank::test::spawn_cli(args, log);
}

TEST(ServerCli, ServesAndExitsCleanlyOnSigterm) {
  const int port = free_port();
  const std::string model = rerank::test::data("encoders/models/ce-tiny").string();
  const std::string log = (std::filesystem::temp_directory_path() / ("rerank-serve-" + std::to_string(::getpid()) + ".log")).string();
  const pid_t pid = serve(model, port, log, {"--drain-seconds", "0"});
  ASSERT_GE(pid, 0);
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

TEST(ServerCli, SigtermDrainsBeforeExiting) {
  const int port = free_port();
  const std::string model = rerank::test::data("encoders/models/ce-tiny").string();
  const std::string log = (std::filesystem::temp_directory_path() / ("rerank-drain-" + std::to_string(::getpid()) + ".log")).string();
  const pid_t pid = serve(model, port, log, {"--drain-seconds", "1.5", "--quiet"});
  ASSERT_GE(pid, 0);
  auto get = [&](const char* path) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_connection_timeout(0, 200000);
    auto r = cli.Get(path);
    return r ? r->status : -1;
  };
  bool ready = false;
  for (int i = 0; i < 500 && !ready; ++i) {
    ready = get("/ready") == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(ready) << "server did not become ready";
  const auto t0 = std::chrono::steady_clock::now();
  ::kill(pid, SIGTERM);
  int ready_status = 200;
  for (int i = 0; i < 100 && ready_status == 200; ++i) {
    ready_status = get("/ready");
    if (ready_status == 200) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(ready_status, 503);
  EXPECT_EQ(get("/health"), 200);
  {  // a new connection during the drain is served, and asked to close
    httplib::Client cli("127.0.0.1", port);
    auto r = cli.Post("/v2/rerank", R"({"query": "reset password", "documents": ["Click Forgot Password.", "Office hours"]})",
                      "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Connection"), "close");
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_GE(secs, 1.4);   // the drain period
  EXPECT_LT(secs, 15.0);  // then it stops
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("draining for 1.5 s"), std::string::npos) << text;
  EXPECT_NE(text.find("rerank serve: stopped"), std::string::npos) << text;
  std::filesystem::remove(log);
}

}  // namespace

// server.cpp — rerank::Server: loads the models, starts one batching scheduler per model, and serves the routes
// on cpp-httplib with a pool of `max_concurrent` worker threads. Shutdown: stop accepting, let httplib finish the
// requests in flight (their schedulers keep running), then drain and stop the schedulers.
#include "rerank/server.hpp"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "server/http_setup.hpp"

namespace rerank {

struct Server::Impl {
  server::State st;
  httplib::Server http;
  std::mutex mu;
  bool bound = false;
  int port = -1;
  int listen_fd = -1;  // the listening socket, to raise its backlog after httplib's listen(fd, 5)
  std::atomic<bool> serving{false};
  std::atomic<bool> stopping{false};
  std::thread thread;

  void note(const std::string& line) const {  // operational messages: the log hook, else stderr
    if (st.options.log)
      st.options.log(line);
    else
      std::fprintf(stderr, "%s\n", line.c_str());
  }

  void stop_schedulers() {
    for (auto& m : st.models)
      if (m->scheduler) m->scheduler->stop();
  }
};

namespace server {

namespace {

// One short input the way a request makes it (the model's own pair template, Qwen's prompt, ...): the warm-up pass.
std::vector<Encoding> warmup_inputs(const ServedModel& m) {
  if (m.cross) {
    PairOptions po;
    po.predict.template_name = "auto";
    return make_pairs(m, "how do I reset my password?", {"Click 'Forgot password' on the sign-in page."}, po, 1u << 20)
        .pairs;
  }
  size_t tokens = 0;
  return make_texts(m, {"how do I reset my password?"}, true, 1u << 20, &tokens);
}

}  // namespace

void init_state(State& st, ServerOptions options) {
  if (options.max_concurrent == 0) options.max_concurrent = 1;
  if (options.max_queue == 0) options.max_queue = 1;
  if (options.max_documents == 0) options.max_documents = 1;
  st.options = std::move(options);
  st.models = load_models(st.options);
  st.collections = open_collection_pool(st.options);  // before the scheduler threads start: may throw
  for (auto& m : st.models) {
    SchedulerOptions so;
    so.max_batch_tokens = st.options.max_batch_tokens;
    so.max_queue = st.options.max_queue;
    so.batching = st.options.batching;
    so.threads = st.options.threads;
    so.precision = st.options.precision;
    so.before_batch = st.options.before_batch;
    if (st.options.warmup) so.warmup = warmup_inputs(*m);
    so.before_warmup = st.options.before_warmup;
    m->scheduler = std::make_unique<Scheduler>(m->name, m->model, so, st.metrics);
  }
  st.metrics.add_gauge("rerank_queue_depth", "Requests waiting for a model's scheduler.", [&st] {
    std::vector<std::pair<std::string, double>> v;
    for (const auto& m : st.models) v.emplace_back(m->name, static_cast<double>(m->scheduler->queue_depth()));
    return v;
  });
}

void register_routes(Routes& routes, State& st) {
  register_cohere_routes(routes, st);
  register_tei_routes(routes, st);
  register_openai_routes(routes, st);
  register_search_routes(routes, st);
  register_ready_routes(routes, st);
}

}  // namespace server

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  using namespace server;
  State& st = impl_->st;
  init_state(st, std::move(options));
  httplib::Server& http = impl_->http;
  const size_t workers = st.options.max_concurrent;
  http.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  http.set_keep_alive_max_count(1000);
  http.set_keep_alive_timeout(5);
  http.set_tcp_nodelay(true);
  // Debian's cpp-httplib listens with a backlog of 5: a burst of simultaneous connections (a client pool opening
  // 16-64 sockets at once) overflows the accept queue and the kernel drops SYNs. Remember the socket here (httplib
  // calls this for every socket it creates; the last one is the bound one) and listen again with SOMAXCONN in bind().
  http.set_socket_options([impl = impl_.get()](socket_t sock) {
    httplib::default_socket_options(sock);
    impl->listen_fd = sock;
  });
  install_limits(http, st);
  install_access_log(http, st);
  HttplibRoutes routes(http);
  register_routes(routes, st);
}

Server::~Server() {
  stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->stop_schedulers();
}

int Server::bind() {
  std::lock_guard<std::mutex> g(impl_->mu);
  if (impl_->bound) return impl_->port;
  const auto& o = impl_->st.options;
  int port = -1;
  if (o.port == 0)
    port = impl_->http.bind_to_any_port(o.host);
  else if (impl_->http.bind_to_port(o.host, o.port))
    port = o.port;
  if (port <= 0) throw Error("serve: cannot listen on " + o.host + ":" + std::to_string(o.port) + " (address in use or not local?)");
  if (impl_->listen_fd >= 0) ::listen(impl_->listen_fd, SOMAXCONN);  // Linux updates the backlog of a listening socket
  impl_->port = port;
  impl_->bound = true;
  return port;
}

void Server::serve() {
  bind();
  impl_->serving = true;
  while (!impl_->stopping) {
    errno = 0;
    if (impl_->http.listen_after_bind() || impl_->stopping) break;
    // httplib 0.11 ends listen on any accept() error but EMFILE (EINTR from a signal handler without SA_RESTART,
    // ECONNABORTED, ENFILE, ENOBUFS...) and closes the socket: a server nobody asked to stop listens again on its port.
    const std::string why = errno ? std::strerror(errno) : "unknown error";
    impl_->note("rerank serve: accept failed (" + why + "); listening again on port " + std::to_string(impl_->port));
    bool again = false;
    for (int i = 0; i < 100 && !again && !impl_->stopping; ++i) {
      again = impl_->http.bind_to_port(impl_->st.options.host, impl_->port);
      if (!again) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!again) {
      impl_->note("rerank serve: cannot listen on port " + std::to_string(impl_->port) + " again; stopping");
      break;
    }
    if (impl_->listen_fd >= 0) ::listen(impl_->listen_fd, SOMAXCONN);
  }
  impl_->stop_schedulers();
  impl_->serving = false;
}

int Server::start() {
  const int port = bind();
  impl_->thread = std::thread([this] { serve(); });
  while (!impl_->http.is_running() && !impl_->stopping) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port;
}

void Server::stop() {
  impl_->stopping = true;
  bool sent = false;
  while (impl_->serving) {
    if (!sent && impl_->http.is_running()) {
      impl_->http.stop();
      sent = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void Server::drain() { impl_->st.draining = true; }

bool Server::ready() const { return server::readiness(impl_->st).ready(); }

int Server::port() const { return impl_->port; }

Server::Stats Server::stats() const {
  Stats s;
  const auto& m = impl_->st.metrics;
  s.requests = m.requests();
  s.batches = m.batches();
  s.merged_batches = m.merged_batches();
  s.max_requests_per_batch = m.max_requests_per_batch();
  for (const auto& model : impl_->st.models) s.queue_depth += model->scheduler->queue_depth();
  return s;
}

}  // namespace rerank

// rerank/thread_pool.hpp — the one pool of worker threads the engine runs on, passed in explicitly.
//
//   auto pool = std::make_shared<rerank::ThreadPool>(2);
//   pool->parallel_for(n, [&](size_t begin, size_t end, size_t worker) { ... });
//
// parallel_for splits [0, n) into at most size() contiguous chunks and runs them on the pool; the calling thread
// takes part and the call returns when every chunk is done. Exceptions thrown by a chunk are rethrown in the caller.
// Thread safety: parallel_for may be called from one thread at a time per pool (a pool serves one Session at a
// time); give each concurrent Session its own pool, or serialize.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rerank {

class ThreadPool {
 public:
  /// `threads` = 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size() + 1; }

  using Chunk = std::function<void(size_t begin, size_t end, size_t worker)>;
  /// Runs fn over [0, n) in at most size() chunks of at least `grain` items each.
  void parallel_for(size_t n, const Chunk& fn, size_t grain = 1);

 private:
  void worker_loop(size_t index);
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_work_, cv_done_;
  const Chunk* job_ = nullptr;
  size_t job_n_ = 0, job_chunks_ = 0, generation_ = 0, pending_ = 0;
  std::exception_ptr error_;
  bool stop_ = false;
};

}  // namespace rerank

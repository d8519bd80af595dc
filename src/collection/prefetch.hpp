// Prefetch<T>: a producer thread and a bounded queue. The producer prepares items (reading, chunking, tokenizing)
// while the consumer works on earlier ones (embedding, writing); at most `depth` items wait, so memory is bounded.
//
//   Prefetch<Batch> q(2, [&](const Prefetch<Batch>::Emit& emit) { for (...) emit(make_batch()); });
//   while (auto b = q.next()) consume(*b);
//
// next() hands out every item the producer emitted, in order, then rethrows the producer's exception (so the
// items before a bad input are consumed first, as a sequential loop would). Destroying the Prefetch early (the
// consumer failed or stopped) cancels the producer: its emit() throws Cancelled, and the thread is joined.
#pragma once
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace rerank::collection {

template <class T>
class Prefetch {
 public:
  struct Cancelled {};
  using Emit = std::function<void(T&&)>;

  Prefetch(size_t depth, std::function<void(const Emit&)> produce) : depth_(depth ? depth : 1) {
    thread_ = std::thread([this, produce = std::move(produce)] {
      try {
        produce([this](T&& item) { push(std::move(item)); });
      } catch (const Cancelled&) {
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        error_ = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      cv_.notify_all();
    });
  }
  ~Prefetch() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
      cv_.notify_all();
    }
    thread_.join();
  }
  Prefetch(const Prefetch&) = delete;
  Prefetch& operator=(const Prefetch&) = delete;

  /// The next item, nullopt when the producer finished; rethrows its exception after the items before it.
  std::optional<T> next() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (queue_.empty()) {
      if (error_) std::rethrow_exception(error_);
      return std::nullopt;
    }
    T item = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return item;
  }

 private:
  void push(T&& item) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < depth_ || cancelled_; });
    if (cancelled_) throw Cancelled{};
    queue_.push_back(std::move(item));
    cv_.notify_all();
  }

  size_t depth_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> queue_;
  bool done_ = false, cancelled_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace rerank::collection

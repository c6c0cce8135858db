// A pool of writer threads for the power-cut tests: each writer calls
// write(writer, n) with n = 0, 1, 2, ... (one counter shared by all) and keeps
// what it returns, until a write fails (returns nothing): when the power goes.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace annals::testing {

template <typename Ack>
class WritersUntilFailure {
 public:
  using Write = std::function<std::optional<Ack>(int writer, int n)>;

  WritersUntilFailure(int writers, Write write) : writers_(writers), running_(writers) {
    for (int w = 0; w < writers; ++w) {
      threads_.emplace_back([this, w, write] {
        for (;;) {
          std::optional<Ack> ack = write(w, next_++);
          if (!ack) break;
          std::lock_guard lock(mu_);
          acked_.push_back(std::move(*ack));
          ++count_;
        }
        --running_;
      });
    }
  }
  ~WritersUntilFailure() { join(); }
  WritersUntilFailure(const WritersUntilFailure&) = delete;
  WritersUntilFailure& operator=(const WritersUntilFailure&) = delete;

  // How many writes were acknowledged so far.
  int acknowledged() const { return count_.load(); }
  // False once any writer has stopped (its write failed).
  bool all_running() const { return running_.load() == writers_; }
  // What was acknowledged so far, in the order it was.
  std::vector<Ack> acked() {
    std::lock_guard lock(mu_);
    return acked_;
  }
  // Waits for every writer to stop; they stop only when their writes fail.
  void join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  const int writers_;
  std::atomic<int> running_;
  std::atomic<int> next_{0};
  std::atomic<int> count_{0};
  std::mutex mu_;
  std::vector<Ack> acked_;  // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace annals::testing

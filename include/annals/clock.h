// Time as Annals sees it: UTC microseconds since the Unix epoch, from an
// injected Clock so that tests can freeze it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace annals {

using Micros = std::chrono::microseconds;
using Timestamp = std::chrono::sys_time<Micros>;

inline int64_t to_micros(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp from_micros(int64_t us) { return Timestamp(Micros(us)); }

// "2026-11-28T16:29:32.123456Z"
std::string format_timestamp(Timestamp t);

// Thread-safe: implementations may be called from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp now() override;
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start) : now_us_(to_micros(start)) {}
  Timestamp now() override { return from_micros(now_us_.load()); }
  void set(Timestamp t) { now_us_.store(to_micros(t)); }
  void advance(Micros d) { now_us_.fetch_add(d.count()); }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace annals

// What the crash test's child process writes: every command's content is a
// function of (run, thread, n), so the test checks each record the child
// acknowledged without being told what was written. Shared by
// journal_crash_child.cc (the writer) and journal_crash_test.cc (the checker).
#pragma once

#include <cstdint>
#include <string>

namespace annals::testing::crash {

inline constexpr int kThreads = 2;  // the child appends from this many threads
inline constexpr const char* kOrg = "crash-org";

inline int events_in_command(int thread, uint64_t n) {
  return 1 + static_cast<int>((n * 7 + thread) % 3);
}

inline std::string setting_key(int thread, uint64_t n) {
  return "k" + std::to_string(thread) + "-" + std::to_string(n);
}

inline std::string command_key(uint64_t run, int thread, uint64_t n) {
  return "crash-" + std::to_string(run) + "-" + std::to_string(thread) + "-" + std::to_string(n);
}

// Deterministic, of varying length (24..151 bytes), poorly compressible.
inline std::string setting_value(uint64_t run, int thread, uint64_t n, int index) {
  std::string v = "v" + std::to_string(run) + "." + std::to_string(thread) + "." +
                  std::to_string(n) + "." + std::to_string(index) + ":";
  uint64_t x = run * 0x9E3779B97F4A7C15ull ^ (n + 1) * 0xBF58476D1CE4E5B9ull ^
               static_cast<uint64_t>(thread * 4 + index + 1) * 0x94D049BB133111EBull;
  size_t length = 24 + x % 128;
  while (v.size() < length) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    v.push_back(static_cast<char>('a' + (x >> 33) % 26));
  }
  return v;
}

}  // namespace annals::testing::crash

// Progress of long work (rebuild, replay, verify) on stderr.
//
// On a terminal: one live line, redrawn at most ten times a second, with a
// bar, events/s and the time left. Otherwise (a log, CI): a plain line every
// few seconds ($ANNALS_PROGRESS_INTERVAL, default 5; 0: every batch) and one
// at the end of a phase that printed any. Ctrl-C asks the work to stop at its next batch boundary.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace annals::cli {

// Not thread-safe: one reporter per command.
class ProgressReporter {
 public:
  explicit ProgressReporter(std::FILE* out = stderr);
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // Reports `position` of `target` in `phase`. False once Ctrl-C was pressed.
  bool update(const std::string& phase, uint64_t position, uint64_t target);
  // Ends the current line (terminal) or prints the final figure (log).
  void finish();

 private:
  void print(bool final);

  std::FILE* out_;
  bool terminal_;
  std::chrono::milliseconds interval_;
  std::string phase_;
  uint64_t start_position_ = 0;
  uint64_t position_ = 0;
  uint64_t target_ = 0;
  std::chrono::steady_clock::time_point phase_start_;
  std::chrono::steady_clock::time_point last_print_;
  bool open_line_ = false;
  bool printed_ = false;  // this phase has printed a line
};

// "1.2k", "35.0k", "1.3M"
std::string human_count(double n);

}  // namespace annals::cli

#include "cli/progress.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>

namespace annals::cli {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int) { g_interrupted.store(true); }

std::string clock_text(double seconds) {
  if (seconds < 0 || seconds > 360000) return "--:--";
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

}  // namespace

std::string human_count(double n) {
  char buf[32];
  if (n >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.1fM", n / 1e6);
  } else if (n >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1fk", n / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", n);
  }
  return buf;
}

ProgressReporter::ProgressReporter(std::FILE* out)
    : out_(out), terminal_(::isatty(::fileno(out)) == 1), interval_(5000) {
  if (const char* env = std::getenv("ANNALS_PROGRESS_INTERVAL")) {
    interval_ = std::chrono::milliseconds(static_cast<long>(std::atof(env) * 1000));
  }
  if (terminal_) interval_ = std::chrono::milliseconds(100);
  g_interrupted.store(false);
  std::signal(SIGINT, on_interrupt);
}

ProgressReporter::~ProgressReporter() {
  finish();
  std::signal(SIGINT, SIG_DFL);
}

bool ProgressReporter::update(const std::string& phase, uint64_t position, uint64_t target) {
  auto now = std::chrono::steady_clock::now();
  if (phase != phase_) {
    finish();
    phase_ = phase;
    start_position_ = position;
    phase_start_ = now;
    last_print_ = now;
    position_ = position;
    target_ = target;
    printed_ = false;
    // A log hears of a phase only once it has run for an interval: quick
    // work stays quiet.
    if (terminal_ || interval_.count() == 0) print(false);
  }
  position_ = position;
  target_ = target;
  if (now - last_print_ >= interval_) {
    last_print_ = now;
    print(false);
  }
  return !g_interrupted.load();
}

void ProgressReporter::finish() {
  if (phase_.empty()) return;
  if (terminal_ || printed_) print(true);
  if (terminal_ && open_line_) std::fputc('\n', out_);
  open_line_ = false;
  phase_.clear();
  std::fflush(out_);
}

void ProgressReporter::print(bool final) {
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - phase_start_).count();
  double done = static_cast<double>(position_ - std::min(position_, start_position_));
  double rate = elapsed > 0 ? done / elapsed : 0;
  double left = static_cast<double>(target_ > position_ ? target_ - position_ : 0);
  double fraction = target_ == 0 ? 1.0 : static_cast<double>(position_) / target_;
  if (fraction > 1) fraction = 1;
  std::string eta = rate > 0 ? clock_text(left / rate) : "--:--";
  if (terminal_) {
    constexpr int kWidth = 24;
    int filled = static_cast<int>(fraction * kWidth);
    std::string bar(filled, '#');
    bar += std::string(kWidth - filled, '.');
    std::fprintf(out_, "\r\x1b[K%-16s [%s] %3.0f%%  %llu/%llu  %s events/s  ETA %s", phase_.c_str(),
                 bar.c_str(), fraction * 100, static_cast<unsigned long long>(position_),
                 static_cast<unsigned long long>(target_), human_count(rate).c_str(), eta.c_str());
    open_line_ = true;
  } else if (final) {
    std::fprintf(out_, "%s: done, position %llu of %llu, %s events/s, %.1f s\n", phase_.c_str(),
                 static_cast<unsigned long long>(position_),
                 static_cast<unsigned long long>(target_), human_count(rate).c_str(), elapsed);
  } else {
    std::fprintf(out_, "%s: position %llu of %llu (%.0f%%), %s events/s, ETA %s\n", phase_.c_str(),
                 static_cast<unsigned long long>(position_),
                 static_cast<unsigned long long>(target_), fraction * 100,
                 human_count(rate).c_str(), eta.c_str());
  }
  printed_ = true;
  std::fflush(out_);
}

}  // namespace annals::cli

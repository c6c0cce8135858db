#include "annals/clock.h"

#include <cstdio>
#include <ctime>

namespace annals {

Timestamp SystemClock::now() {
  return std::chrono::time_point_cast<Micros>(std::chrono::system_clock::now());
}

std::string format_timestamp(Timestamp t) {
  int64_t us = to_micros(t);
  int64_t secs = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
  int64_t frac = us - secs * 1000000;
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

}  // namespace annals

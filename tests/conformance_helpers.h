// Helpers of the toolset and MCP-server conformance tests: status checks that
// name the rule or field, and a race of N threads released at once.
#pragma once

#include <gtest/gtest.h>

#include <barrier>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "annals/status.h"

namespace annals::testing {

// The status must be kInvalidArgument naming `field`.
inline void expect_invalid(const Status& s, const std::string& field, const std::string& what) {
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << what << ": " << s.to_string();
  EXPECT_EQ(s.subject(), field) << what << ": " << s.to_string();
}

// The status must be kConflict naming `rule`.
inline void expect_conflict(const Status& s, const std::string& rule, const std::string& what) {
  EXPECT_EQ(s.code(), Code::kConflict) << what << ": " << s.to_string();
  EXPECT_EQ(s.subject(), rule) << what << ": " << s.to_string();
}

// Runs fn(0..n-1) on n threads released at once. Each call must succeed or be
// a conflict naming `rule`; returns the indexes of the calls that succeeded.
inline std::vector<int> race(const std::string& rule, int n, const std::function<Status(int)>& fn) {
  std::barrier start(n);
  std::vector<Status> results(n);
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      results[t] = fn(t);
    });
  }
  for (auto& th : threads) th.join();
  std::vector<int> winners;
  for (int t = 0; t < n; ++t) {
    if (results[t].is_ok()) {
      winners.push_back(t);
    } else {
      expect_conflict(results[t], rule, "thread " + std::to_string(t));
    }
  }
  return winners;
}

}  // namespace annals::testing

// kInvalidArgument naming `field`; a failure shows the call.
#define EXPECT_INVALID(expr, field) \
  ::annals::testing::expect_invalid((expr).status(), (field), #expr)

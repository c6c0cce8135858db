// One page of a list: its rows and how many rows match in all.
#pragma once

#include <cstdint>
#include <vector>

namespace annals::repositories {

// Pagination is 1-based; per_page is at most kMaxPerPage.
inline constexpr int64_t kMaxPerPage = 1000;

template <typename T>
struct Page {
  std::vector<T> rows;
  int64_t total = 0;  // all matching rows, not just this page
};

}  // namespace annals::repositories

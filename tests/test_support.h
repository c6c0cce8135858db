// Helpers shared by the tests: temporary folders and status matchers.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/status.h"

namespace annals::testing {

// A fresh folder under the system temp dir, removed when the object dies
// (kept when ANNALS_KEEP_TEST_DIRS is set, for post-mortems).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace annals::testing

#define ASSERT_OK(expr)                                                                \
  do {                                                                                 \
    const auto& annals_s_ = (expr);                                                    \
    ASSERT_TRUE(annals_s_.is_ok()) << #expr << ": " << annals_s_.status().to_string(); \
  } while (0)

#define EXPECT_OK(expr)                                                                \
  do {                                                                                 \
    const auto& annals_s_ = (expr);                                                    \
    EXPECT_TRUE(annals_s_.is_ok()) << #expr << ": " << annals_s_.status().to_string(); \
  } while (0)

// Asserts that a Status or Result failed with the given Code.
#define EXPECT_CODE(expr, expected_code)                        \
  do {                                                          \
    const auto& annals_s_ = (expr);                             \
    EXPECT_EQ(annals_s_.status().code(), (expected_code))       \
        << #expr << " gave " << annals_s_.status().to_string(); \
  } while (0)

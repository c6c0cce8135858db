#include "tests/test_support.h"

#include <cstdlib>
#include <random>

namespace annals::testing {

TempDir::TempDir() : TempDir(std::filesystem::temp_directory_path().string()) {}

TempDir::TempDir(const std::string& parent) {
  std::random_device rd;
  std::filesystem::path base(parent);
  for (;;) {
    auto candidate = base / ("annals-test-" + std::to_string(rd()) + std::to_string(rd()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate.string();
      return;
    }
  }
}

TempDir::~TempDir() {
  if (std::getenv("ANNALS_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace annals::testing

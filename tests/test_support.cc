#include "tests/test_support.h"

#include <cstdlib>
#include <random>

#include "journal/journal.h"
#include "repositories/reservation_rules.h"

namespace annals::testing {

std::string tests_source_dir() { return std::string(ANNALS_SOURCE_DIR) + "/tests"; }

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

void expect_reservations_follow_the_events(journal::Journal& journal) {
  // The state first: its head bounds the events folded.
  auto state = journal.snapshot_state();
  ASSERT_TRUE(state.is_ok()) << state.status().to_string();
  repositories::ReservationFold fold;
  for (uint64_t from = 1; from <= state->head;) {
    auto batch = journal.read(from, 1000);
    ASSERT_TRUE(batch.is_ok()) << batch.status().to_string();
    ASSERT_FALSE(batch->empty()) << "no event at position " << from;
    for (const auto& event : *batch) {
      if (event.position() > state->head) break;
      fold.apply(event);
    }
    from = batch->back().position() + 1;
  }
  for (const auto& d : repositories::compare_reservations(fold, state->reservations, 20)) {
    ADD_FAILURE() << "reservation " << d.key << ": " << d.what;
  }
}

}  // namespace annals::testing

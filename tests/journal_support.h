// Helpers for the tests that write to a journal: setting events, commands
// of them, and the fixture of the journal tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "journal/journal.h"
#include "tests/test_support.h"

namespace annals::testing {

// A settingUpserted event of `org`'s stream setting/`key`, by "tester".
inline events::NewEvent setting_event(std::string_view org, std::string_view key,
                                      std::string_view value) {
  events::NewEvent e(org, "setting/" + std::string(key), "tester");
  auto p = e.payload().initSettingUpserted();
  p.setKey(std::string(key));
  p.setValue(std::string(value));
  p.setValueType("string");
  return e;
}

// One command of `org`: a setting event for each key and value.
inline journal::AppendRequest command(std::string_view org,
                                      std::vector<std::pair<std::string, std::string>> kvs) {
  journal::AppendRequest r;
  r.org_id = std::string(org);
  for (auto& [k, v] : kvs) r.events.push_back(setting_event(org, k, v));
  return r;
}

// A journal in a temporary folder, reopened at will, on a manual clock.
class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen(journal::Durability durability = journal::Durability::kSync,
              std::chrono::milliseconds batch_interval = std::chrono::milliseconds(50)) {
    journal_.reset();
    journal::Options options;
    options.durability = durability;
    options.batch_sync_interval = batch_interval;
    options.clock = &clock_;
    auto opened = journal::Journal::open_rocksdb(dir_.sub("journal"), options);
    ASSERT_OK(opened);
    journal_ = std::move(opened).value();
  }

  std::vector<events::Event> read_all() {
    auto r = journal_->read(1, 1'000'000);
    EXPECT_OK(r);
    return r.is_ok() ? std::move(r).value() : std::vector<events::Event>{};
  }

  TempDir dir_;
  ManualClock clock_{from_micros(1'800'000'000'000'000)};
  std::unique_ptr<journal::Journal> journal_;
};

}  // namespace annals::testing

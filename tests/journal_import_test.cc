// The import of an export: running again or continuing a prefix, beside
// concurrent appends, and what it refuses without writing anything (gaps,
// repeats, split commands, a journal it does not continue, clashing or
// missing data keys, a further check's refusal, reservations the events do
// not imply).
#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "journal/export.h"
#include "journal/journal.h"
#include "repositories/reservation_rules.h"
#include "tests/journal_export_support.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using journal::Journal;
using testing::JournalImportErrorTest;

TEST_F(JournalImportErrorTest, RunningAgainOrContinuingAPrefixIsFine) {
  // The first five commands (positions 1..6) as their own export.
  {
    auto partial = Journal::open_rocksdb(dir_.sub("partial"), {});
    ASSERT_OK(partial);
    std::vector<std::string> prefix = {lines_[0]};
    for (int i = 3; i <= 8; ++i) prefix.push_back(lines_[i]);
    prefix[0].replace(prefix[0].find("\"head\":8"), 8, "\"head\":6");
    prefix[0].replace(prefix[0].find("\"org_keys\":2"), 12, "\"org_keys\":0");
    prefix[0].replace(prefix[0].find("\"reservations\":2"), 16, "\"reservations\":0");
    std::istringstream in(join(prefix));
    ASSERT_OK(journal::import_journal(*target_, in));
    EXPECT_EQ(target_->head(), 6u);
  }
  std::istringstream rest(join(lines_));
  auto report = journal::import_journal(*target_, rest);
  ASSERT_OK(report);
  EXPECT_EQ(report->already_present, 6u);
  EXPECT_EQ(report->events, 2u);
  EXPECT_EQ(report->head, 8u);
  std::istringstream again(join(lines_));
  report = journal::import_journal(*target_, again);
  ASSERT_OK(report);
  EXPECT_EQ(report->events, 0u);
  EXPECT_EQ(report->already_present, 8u);
}

TEST_F(JournalImportErrorTest, ImportBesideAppendsLeavesAConsistentJournal) {
  // Appends race the import for positions: whichever loses stops cleanly,
  // and the journal never holds a gap or a split command.
  std::atomic<bool> stop{false};
  std::thread appender([&] {
    for (int i = 0; i < 200 && !stop; ++i)
      append_setting(*target_, "other", "k" + std::to_string(i), 1);
  });
  std::istringstream in(join(lines_));
  auto result = journal::import_journal(*target_, in);
  stop = true;
  appender.join();
  if (!result.is_ok()) {
    EXPECT_TRUE(result.status().code() == Code::kInvalidArgument ||
                result.status().code() == Code::kUnavailable)
        << result.status().to_string();
  }
  auto events = target_->read(1, 100000);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), target_->head());
  for (size_t i = 0; i < events->size(); ++i) {
    const auto& e = (*events)[i];
    EXPECT_EQ(e.position(), i + 1);
    uint32_t index = e.envelope().getCommandIndex();
    if (index > 0) {
      ASSERT_GT(i, 0u);
      EXPECT_EQ((*events)[i - 1].envelope().getCommandIndex(), index - 1) << "position " << i + 1;
    }
  }
}

TEST_F(JournalImportErrorTest, GapIsRefusedNamingLineAndPosition) {
  auto lines = lines_;
  lines.erase(lines.begin() + 4);  // position 2
  Status s = import_fails(join(lines));
  expect_names(s, "line 5 (position 3)");
  expect_names(s, "position 2 is missing");
}

TEST_F(JournalImportErrorTest, DuplicatePositionIsRefused) {
  auto lines = lines_;
  lines.insert(lines.begin() + 5, lines[4]);  // position 2 twice
  Status s = import_fails(join(lines));
  expect_names(s, "line 6 (position 2)");
  expect_names(s, "comes again");
}

TEST_F(JournalImportErrorTest, SplitCommandIsRefused) {
  auto lines = lines_;
  lines.erase(lines.begin() + 8);  // the second event of the command at position 5
  Status s = import_fails(join(lines));
  expect_names(s, "line 9");
  // And a command cut at the end of the events.
  auto cut = lines_;
  cut.resize(8);
  cut[0].replace(cut[0].find("\"head\":8"), 8, "\"head\":5");
  s = import_fails(join(cut));
  expect_names(s, "1 of its 2 events");
}

TEST_F(JournalImportErrorTest, NonEmptyJournalThatDoesNotContinueIsRefused) {
  append_setting(*target_, "acme", "something-else", 1);
  Status s = import_fails(join(lines_));
  expect_names(s, "line 4 (position 1)");
  expect_names(s, "not a prefix");
}

TEST_F(JournalImportErrorTest, ClashingDataKeyIsRefused) {
  ASSERT_OK(target_->import_data_key("acme", "another wrapped key"));
  Status s = import_fails(join(lines_), Code::kConflict);
  expect_names(s, "line 2");
}

TEST_F(JournalImportErrorTest, SealedSecretsWithoutTheirOrgsKeyAreRefused) {
  // A journal whose events hold initech's sealed secret but not its key.
  auto keyless = Journal::open_rocksdb(dir_.sub("keyless"), {});
  ASSERT_OK(keyless);
  append_setting(**keyless, "initech", "plain", 1);
  journal::AppendRequest request;
  request.org_id = "initech";
  request.events.emplace_back("initech", "toolset/t1", "tester");
  auto toolset = request.events.back().payload().initToolset().initToolsetCreated();
  toolset.setId("t1");
  toolset.setUserId("user-1");
  toolset.getApiKey().setSealed("v1.c2VhbGVk");
  ASSERT_OK((*keyless)->append(std::move(request)));
  std::ostringstream out;
  ASSERT_OK(journal::export_journal(**keyless, out));

  Status s = import_fails(out.str());
  expect_names(s, "org 'initech' has sealed secrets");
  expect_names(s, "line 3 (position 2, event.payload.toolset.toolsetCreated.apiKey.sealed)");
  expect_names(s, "no data key");
  // Once the journal holds the key (or the org's tombstone), it goes in.
  ASSERT_OK(target_->import_data_key("initech", "forgotten at 1718000000000000"));
  std::istringstream in(out.str());
  auto report = journal::import_journal(*target_, in);
  ASSERT_OK(report);
  EXPECT_EQ(report->events, 2u);
}

// Records what it sees; refuses the event at `refuse_at`.
class RecordingCheck : public journal::ImportCheck {
 public:
  Status event(const events::Event& event) override {
    seen.push_back(event.position());
    if (event.position() == refuse_at) return Status::internal("refused for the test");
    return Status::ok();
  }
  uint64_t refuse_at = 0;
  std::vector<uint64_t> seen;
};

TEST_F(JournalImportErrorTest, AFurtherCheckSeesEveryEventAndItsRefusalIsNamed) {
  RecordingCheck check;
  check.refuse_at = 6;
  journal::ImportOptions options;
  options.checks = {&check};
  Status s = import_fails(join(lines_), Code::kInternal, options);
  expect_names(s, "line 9 (position 6): refused for the test");
  EXPECT_EQ(check.seen, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));

  // Events the journal holds already are seen too: the check needs the
  // whole history.
  auto lines = lines_;
  lines.resize(7);
  lines[0].replace(lines[0].find("\"head\":8"), 8, "\"head\":4");
  lines[0].replace(lines[0].find("\"reservations\":2"), 16, "\"reservations\":0");
  std::istringstream prefix(join(lines));
  ASSERT_OK(journal::import_journal(*target_, prefix));
  RecordingCheck all;
  options.checks = {&all};
  std::istringstream in(join(lines_));
  auto report = journal::import_journal(*target_, in, options);
  ASSERT_OK(report);
  EXPECT_EQ(report->already_present, 4u);
  EXPECT_EQ(all.seen, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST_F(JournalImportErrorTest, ReservationsTheEventsDoNotImplyAreRefused) {
  // The fixture's journal was written without the repositories: its settings
  // claim no key, and its token prefix belongs to no token.
  repositories::ImportReservationCheck check;
  journal::ImportOptions options;
  options.checks = {&check};
  Status s = import_fails(join(lines_), Code::kInvalidArgument, options);
  expect_names(s, "the export's reservations disagree with its events");
  expect_names(s,
               "line 13: token.prefix * 'bodhiapp_x': held by 'token/x' but claimed by no event");
  expect_names(s,
               "not in the export: settings.key acme 'key-0': missing; the events give it to "
               "stream 'setting/key-0' (position 1)");
  // The one reservation the events do imply is not named.
  EXPECT_EQ(s.message().find("'claimed'"), std::string::npos) << s.to_string();
}

}  // namespace
}  // namespace annals

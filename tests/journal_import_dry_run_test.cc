// The projections' dry run during an import: a history the read tables
// can hold goes in, one they cannot (a taken prefix, an update of a row
// never created, a clashing empty create) is refused before anything is
// written; and the dry run's scratch database has no readers.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "journal/export.h"
#include "journal/journal.h"
#include "projections/import_dry_run.h"
#include "projections/sqlite_database.h"
#include "tests/journal_export_support.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using journal::Journal;
using testing::JournalImportErrorTest;

// The projections' dry run: events no read table can hold are refused
// before the import writes anything.
class ImportDryRunTest : public JournalImportErrorTest {
 protected:
  static void append_token(Journal& journal, const std::string& id, const std::string& prefix) {
    journal::AppendRequest request;
    request.org_id = "acme";
    request.events.emplace_back("acme", "token/" + id, "tester");
    auto p = request.events.back().payload().initTokenCreated();
    p.setId(id);
    p.setUserId("user-1");
    p.setName("token " + id);
    p.setTokenPrefix(prefix);
    p.setTokenHash("hash-" + id);
    p.setScopes("scope_token_user");
    ASSERT_OK(journal.append(std::move(request)));
  }

  // An export of three tokens (positions 1-3) and an update of the first.
  std::vector<std::string> token_export() {
    auto opened = Journal::open_rocksdb(dir_.sub("tokens"), {});
    EXPECT_OK(opened);
    if (!opened.is_ok()) return {};
    Journal& journal = **opened;
    append_token(journal, "t1", "bodhiapp_aaaa");
    append_token(journal, "t2", "bodhiapp_bbbb");
    append_token(journal, "t3", "bodhiapp_cccc");
    journal::AppendRequest update;
    update.org_id = "acme";
    update.events.emplace_back("acme", "token/t1", "tester");
    auto p = update.events.back().payload().initTokenUpdated();
    p.setId("t1");
    p.setName("renamed");
    EXPECT_OK(journal.append(std::move(update)));
    std::ostringstream out;
    EXPECT_OK(journal::export_journal(journal, out));
    return split_lines(out.str());  // header, 4 events
  }

  journal::ImportOptions with_dry_run() {
    auto opened = projections::ImportDryRun::open();
    EXPECT_OK(opened);
    if (opened.is_ok()) dry_run_ = std::move(opened).value();
    journal::ImportOptions options;
    options.checks = {dry_run_.get()};
    return options;
  }

  std::unique_ptr<projections::ImportDryRun> dry_run_;
};

TEST_F(ImportDryRunTest, AHistoryTheTablesHoldGoesIn) {
  auto lines = token_export();
  ASSERT_EQ(lines.size(), 5u);
  std::istringstream in(join(lines));
  auto report = journal::import_journal(*target_, in, with_dry_run());
  ASSERT_OK(report);
  EXPECT_EQ(report->events, 4u);
  EXPECT_EQ(dry_run_->applied(), 4u);
  // And the settings history of the fixture, with its two orgs.
  auto other = Journal::open_rocksdb(dir_.sub("other"), {});
  ASSERT_OK(other);
  std::istringstream settings(join(lines_));
  auto imported = journal::import_journal(**other, settings, with_dry_run());
  ASSERT_OK(imported);
  EXPECT_EQ(dry_run_->applied(), 8u);
}

TEST_F(ImportDryRunTest, ATokenPrefixTakenTwiceIsRefused) {
  auto lines = token_export();
  ASSERT_EQ(lines.size(), 5u);
  Status s = import_fails(edit(lines, 3, "bodhiapp_cccc", "bodhiapp_aaaa"), Code::kInvalidArgument,
                          with_dry_run());
  expect_names(s, "line 4 (position 3)");
  expect_names(s, "projection 'tokens' cannot hold this event");
  EXPECT_EQ(dry_run_->applied(), 2u);
  // Without the dry run the journal would take it.
  std::istringstream in(edit(lines, 3, "bodhiapp_cccc", "bodhiapp_aaaa"));
  EXPECT_OK(journal::import_journal(*target_, in));
}

TEST_F(ImportDryRunTest, AnUpdateOfARowNeverCreatedIsRefused) {
  auto lines = token_export();
  ASSERT_EQ(lines.size(), 5u);
  Status s = import_fails(edit(lines, 4, "\"id\":\"t1\"", "\"id\":\"ghost\""),
                          Code::kInvalidArgument, with_dry_run());
  expect_names(s, "line 5 (position 4)");
  expect_names(s, "'ghost'");
}

TEST_F(ImportDryRunTest, AnEmptyCreateIsRefusedWhenItClashes) {
  auto lines = token_export();
  ASSERT_EQ(lines.size(), 5u);
  // Two creates stripped of every field: the second has the same (empty)
  // id and prefix as the first.
  auto stripped = lines;
  for (size_t i : {1, 2}) {
    size_t from = stripped[i].find("\"payload\":{");
    ASSERT_NE(from, std::string::npos) << stripped[i];
    from += std::strlen("\"payload\":{");
    size_t to = stripped[i].find('}', from);
    stripped[i].erase(from, to - from);
  }
  Status s = import_fails(join(stripped), Code::kInvalidArgument, with_dry_run());
  expect_names(s, "line 3 (position 2)");
  expect_names(s, "projection 'tokens'");
}

TEST(ImportDryRunScratch, TheScratchDatabaseHasNoReaders) {
  auto opened = projections::ImportDryRun::open();
  ASSERT_OK(opened);
  auto scratch = db::SqliteDatabase::open_scratch();
  ASSERT_OK(scratch);
  EXPECT_CODE((*scratch)->begin(db::Access::kRead), Code::kInternal);
  auto txn = (*scratch)->begin(db::Access::kWrite);
  ASSERT_OK(txn);
  EXPECT_OK((*txn)->execute_script("CREATE TABLE t (x INTEGER)"));
}

}  // namespace
}  // namespace annals

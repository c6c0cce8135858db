// The projector catching up: checkpoints, the abort policy's
// transactions, restarts, new projections, a read database ahead of its
// journal, deterministic rows, and failures that stop one projection.
#include <gtest/gtest.h>

#include <vector>

#include "projections/apply_loop.h"
#include "projections/projector.h"
#include "tests/journal_support.h"
#include "tests/projector_support.h"
#include "tests/test_support.h"

namespace annals::projections {
namespace {

using annals::testing::setting_event;
using annals::testing::TempDir;

TEST_P(ProjectorTest, CatchUpAppliesEverythingAndAdvancesCheckpoints) {
  append_settings(25);
  ProjectorOptions options;
  options.batch_size = 10;
  auto projector = make_projector(options);
  ASSERT_OK(projector->start());
  auto reached = projector->catch_up();
  ASSERT_OK(reached);
  EXPECT_EQ(*reached, 25u);
  EXPECT_EQ(projector->checkpoint(), 25u);
  for (const auto& [name, position] : projector->checkpoints()) EXPECT_EQ(position, 25u) << name;
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 25);
  EXPECT_EQ(count(*read_db_.admin, "settings"), 7);
  EXPECT_EQ(dump(*read_db_.admin,
                 "SELECT projection, position FROM projection_checkpoints"
                 " WHERE projection IN ('recording', 'settings', 'tokens') ORDER BY 1"),
            "recording|25|\nsettings|25|\ntokens|25|\n");
}

TEST_P(ProjectorTest, UnderAbortAFailureMidBatchChangesNeitherRowsNorCheckpoint) {
  append_settings(10);
  fail_at_ = 6;
  auto projector = make_projector(aborting());
  ASSERT_OK(projector->start());
  auto r = projector->catch_up();
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("position 6"), std::string::npos) << r.status().to_string();
  EXPECT_NE(r.status().message().find("recording"), std::string::npos);
  EXPECT_EQ(projector->checkpoint(), 0u);
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 0);  // positions 1..5 rolled back too
  EXPECT_EQ(count(*read_db_.admin, "settings"), 0);      // and the other projections' rows
  EXPECT_EQ(count(*read_db_.admin, "projection_checkpoints"), 0);
  EXPECT_FALSE(projector->last_error().is_ok());

  fail_at_ = 0;
  auto again = projector->catch_up();
  ASSERT_OK(again);
  EXPECT_EQ(*again, 10u);
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 10);
  EXPECT_TRUE(projector->last_error().is_ok());
}

TEST_P(ProjectorTest, UnderAbortEarlierBatchesStayWhenALaterBatchFails) {
  append_settings(10);
  fail_at_ = 8;
  auto projector = make_projector(aborting(3));
  ASSERT_OK(projector->start());
  EXPECT_FALSE(projector->catch_up().is_ok());
  EXPECT_EQ(projector->checkpoint(), 6u);  // batches 1-3 and 4-6 committed; 7-9 did not
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 6);
}

TEST_P(ProjectorTest, UnderAbortACommandIsNeverSplitAcrossTransactions) {
  // Three commands of four events each, read three events at a time.
  for (int c = 0; c < 3; ++c) {
    journal::AppendRequest r;
    r.org_id = "acme";
    for (int i = 0; i < 4; ++i) {
      r.events.push_back(
          setting_event("acme", "c" + std::to_string(c) + "-" + std::to_string(i), "v"));
    }
    ASSERT_OK(journal_->append(std::move(r)));
  }
  fail_at_ = 6;  // inside the second command
  auto projector = make_projector(aborting(3));
  ASSERT_OK(projector->start());
  EXPECT_FALSE(projector->catch_up().is_ok());
  EXPECT_EQ(projector->checkpoint(), 4u);  // the whole first command, none of the second
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 4);
  fail_at_ = 0;
  ASSERT_OK(projector->catch_up());
  EXPECT_EQ(projector->checkpoint(), 12u);
}

TEST_P(ProjectorTest, RestartContinuesFromTheCheckpointWithoutDuplicates) {
  append_settings(12);
  ProjectorOptions options;
  options.batch_size = 5;
  {
    auto projector = make_projector(options);
    ASSERT_OK(projector->start());
    ASSERT_OK(projector->catch_up());
  }
  append_settings(9);
  {
    // A fresh process: new database handles, new projector.
    open_database(*test_db_, &read_db_);
    auto projector = make_projector(options);
    ASSERT_OK(projector->start());
    EXPECT_EQ(projector->checkpoint(), 12u);
    auto r = projector->catch_up();
    ASSERT_OK(r);  // a re-applied event would violate test_applied's primary key
    EXPECT_EQ(*r, 21u);
  }
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 21);
  EXPECT_EQ(dump(*read_db_.admin, "SELECT MIN(position), MAX(position) FROM test_applied"),
            "1|21|\n");
}

TEST_P(ProjectorTest, ANewProjectionCatchesUpFromTheStartBesideTheOthers) {
  append_settings(8);
  {
    auto projector =
        std::make_unique<Projector>(*journal_, read_db_.projector(), standard_projections());
    ASSERT_OK(projector->start());
    ASSERT_OK(projector->catch_up());
  }
  auto projector = make_projector();  // adds "recording", at 0
  ASSERT_OK(projector->start());
  EXPECT_EQ(projector->checkpoint(), 0u);
  ASSERT_OK(projector->catch_up());
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 8);
  EXPECT_EQ(projector->checkpoints().at("settings"), 8u);
}

TEST_P(ProjectorTest, ReadDatabaseAheadOfTheJournalIsRefused) {
  append_settings(5);
  {
    auto projector = make_projector();
    ASSERT_OK(projector->start());
    ASSERT_OK(projector->catch_up());
  }
  // The same read database against an empty journal.
  TempDir other;
  auto empty = journal::Journal::open_rocksdb(other.sub("journal"), journal::Options{});
  ASSERT_OK(empty);
  Projector projector(**empty, read_db_.projector(), standard_projections());
  auto s = projector.start();
  EXPECT_CODE(s, Code::kInvalidArgument);
  EXPECT_NE(s.message().find("rebuild"), std::string::npos);
}

TEST_P(ProjectorTest, SameJournalGivesTheSameRows) {
  append_settings(20, "acme");
  append_settings(15, "globex");
  TempDir other_dir;
  std::string why;
  auto other_db = testing::TestDatabase::create(GetParam(), other_dir, &why);
  ASSERT_TRUE(other_db) << why;
  ReadDb second;
  open_database(*other_db, &second);
  ProjectorOptions small;
  small.batch_size = 4;
  auto p1 = make_projector();
  auto p2 = make_projector(second.projector(), small);  // other batch boundaries, same result
  ASSERT_OK(p1->start());
  ASSERT_OK(p2->start());
  ASSERT_OK(p1->catch_up());
  ASSERT_OK(p2->catch_up());
  const std::string sql = "SELECT * FROM settings ORDER BY org_id, key";
  EXPECT_EQ(dump(*read_db_.admin, sql), dump(*second.admin, sql));
  EXPECT_FALSE(dump(*read_db_.admin, sql).empty());
  EXPECT_EQ(dump(*read_db_.admin, "SELECT * FROM test_applied ORDER BY position"),
            dump(*second.admin, "SELECT * FROM test_applied ORDER BY position"));
}

TEST_P(ProjectorTest, AConstraintViolationStopsTheProjectionAtItsEvent) {
  // The error comes from the database, and on PostgreSQL only once the
  // deferred statement is sent: it is still pinned to its event.
  fail_by_constraint_ = true;
  append_settings(6);
  fail_at_ = 4;
  ProjectorOptions options;
  options.batch_size = 100;
  auto projector = make_projector(options);
  ASSERT_OK(projector->start());
  ASSERT_OK(projector->catch_up());
  auto states = projector->states();
  bool found = false;
  for (const auto& state : states) {
    if (state.name != "recording") continue;
    found = true;
    EXPECT_EQ(state.failed_at, 4u);
    EXPECT_EQ(state.position, 3u);
    EXPECT_NE(state.error.find("position 4"), std::string::npos) << state.error;
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(dump(*read_db_.admin, "SELECT position FROM test_applied ORDER BY 1"), "1|\n2|\n3|\n");
  EXPECT_EQ(count(*read_db_.admin, "settings"), 6);
}

TEST_P(ProjectorTest, AStoppedProjectionIsNotRetriedEvenWhenTheCauseIsGone) {
  append_settings(4);
  fail_at_ = 2;
  auto projector = make_projector();
  ASSERT_OK(projector->start());
  ASSERT_OK(projector->catch_up());  // not an error: the projection is stopped
  fail_at_ = 0;
  append_settings(2);
  ASSERT_OK(projector->catch_up());
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 1);
  EXPECT_EQ(count(*read_db_.admin, "settings"), 6);
  // Until the operator replays it (what `annals replay` does: its rows,
  // checkpoint and failure replaced, then the projector reloads).
  ASSERT_OK(projector->with_paused([&]() -> Status {
    ANNALS_ASSIGN_OR_RETURN(auto txn, read_db_.admin->begin(db::Access::kWrite));
    ANNALS_RETURN_IF_ERROR(txn->execute("DELETE FROM projection_failures").status());
    ANNALS_RETURN_IF_ERROR(
        txn->execute(
               "UPDATE projection_checkpoints SET position = 1 WHERE projection = 'recording'")
            .status());
    return txn->commit();
  }));
  ASSERT_OK(projector->catch_up());
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 6);
  EXPECT_OK(projector->wait_for(6, std::chrono::seconds(1)));
}

// The loop inside a transaction its caller holds (what replay uses): under
// kIsolate the failing projection still stops alone, and nothing is written
// until the caller commits.
TEST_P(ProjectorTest, InOneTransactionTheIsolatingLoopStopsOnlyTheFailingProjection) {
  append_settings(6);
  fail_at_ = 4;
  std::vector<std::unique_ptr<Projection>> projections = standard_projections();
  projections.push_back(std::make_unique<RecordingProjection>(&fail_at_));
  std::vector<ProjectionState> states(projections.size());
  for (size_t i = 0; i < projections.size(); ++i) states[i].name = projections[i]->name();
  ApplyLoop loop(*journal_, projections, FailurePolicy::kIsolate, /*batch_size=*/4);
  auto txn = read_db_.projector().begin(db::Access::kWrite);
  ASSERT_OK(txn);
  std::vector<uint64_t> batches;
  ProjectionState recording;
  auto reached =
      loop.run(**txn, states, 6, [&](const std::vector<ProjectionState>& now, uint64_t last) {
        batches.push_back(last);
        recording = now.back();
        return true;
      });
  ASSERT_OK(reached);
  EXPECT_EQ(*reached, 6u);  // the lowest of the projections still running
  EXPECT_EQ(batches, (std::vector<uint64_t>{4, 6}));
  EXPECT_EQ(recording.position, 3u);
  EXPECT_EQ(recording.failed_at, 4u);
  EXPECT_NE(recording.error.find("injected failure"), std::string::npos) << recording.error;
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 0);
  ASSERT_OK((*txn)->commit());
  EXPECT_EQ(dump(*read_db_.admin, "SELECT position FROM test_applied ORDER BY 1"), "1|\n2|\n3|\n");
  EXPECT_EQ(count(*read_db_.admin, "settings"), 6);
  EXPECT_EQ(dump(*read_db_.admin, "SELECT projection, position FROM projection_failures"),
            "recording|4|\n");
  EXPECT_EQ(dump(*read_db_.admin,
                 "SELECT projection, position FROM projection_checkpoints"
                 " WHERE projection IN ('recording', 'settings') ORDER BY 1"),
            "recording|3|\nsettings|6|\n");
}

TEST_P(ProjectorTest, CatchUpBeforeStartIsAnError) {
  auto projector = make_projector();
  EXPECT_CODE(projector->catch_up(), Code::kInternal);
}

INSTANTIATE_TEST_SUITE_P(Backends, ProjectorTest,
                         ::testing::Values(testing::Backend::kSqlite, testing::Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace annals::projections

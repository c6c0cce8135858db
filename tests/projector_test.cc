// The projector following the journal as writes arrive: only what is
// fsynced is applied, waits for a write, background mode, a failing
// projection stopping alone (inline and in the background), concurrent
// writers, and lost PostgreSQL connections.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "projections/projector.h"
#include "tests/journal_support.h"
#include "tests/projector_support.h"
#include "tests/test_support.h"

namespace annals::projections {
namespace {

using annals::testing::setting_event;

// Under kBatch a projection never applies what the journal has not fsynced:
// after a power cut the read database would be ahead of the journal. A
// write that waits to be visible has its position synced first.
TEST_P(ProjectorTest, NothingUnsyncedIsAppliedAndAWaitingWriteSyncsIt) {
  journal_.reset();
  journal::Options options;
  options.clock = &clock_;
  options.durability = journal::Durability::kBatch;
  options.batch_sync_interval = std::chrono::hours(1);
  auto reopened = journal::Journal::open_rocksdb(dir_.sub("journal"), options);
  ASSERT_OK(reopened);
  journal_ = std::move(reopened).value();
  auto projector = make_projector();
  ASSERT_OK(projector->start());
  append_settings(5);
  ASSERT_EQ(journal_->durable_head(), 0u);
  auto reached = projector->catch_up();
  ASSERT_OK(reached);
  EXPECT_EQ(*reached, 0u);
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 0);
  ASSERT_OK(projector->wait_for(3, std::chrono::milliseconds(1)));
  EXPECT_EQ(journal_->durable_head(), 5u);
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 5);
  projector.reset();

  ProjectorOptions background;
  background.mode = ProjectorMode::kBackground;
  background.idle_wait = std::chrono::milliseconds(10);
  projector = make_projector(background);
  ASSERT_OK(projector->start());
  append_settings(4);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 5) << "applied before the fsync";
  ASSERT_OK(projector->wait_for(9, std::chrono::seconds(20)));
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 9);
}

TEST_P(ProjectorTest, InlineWaitForCatchesUp) {
  auto projector = make_projector();
  ASSERT_OK(projector->start());
  append_settings(3);
  ASSERT_OK(projector->wait_for(3, std::chrono::milliseconds(1)));
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 3);
}

TEST_P(ProjectorTest, BackgroundModeFollowsTheJournal) {
  ProjectorOptions options;
  options.mode = ProjectorMode::kBackground;
  options.idle_wait = std::chrono::milliseconds(50);
  auto projector = make_projector(options);
  ASSERT_OK(projector->start());
  append_settings(40);
  ASSERT_OK(projector->wait_for(40, std::chrono::seconds(20)));
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 40);
  append_settings(5);
  ASSERT_OK(projector->wait_for(45, std::chrono::seconds(20)));
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 45);
}

// A projection that fails on one event stops there; the others carry on,
// writes that do not need it are not held up, and its failure survives a
// restart until a replay. Inline and background, both backends.
TEST_P(ProjectorTest, AFailingProjectionStopsAloneInline) {
  upserts_only_ = true;
  ProjectorOptions options;
  options.mode = ProjectorMode::kInline;
  options.batch_size = 4;
  auto projector = make_projector(options);
  ASSERT_OK(projector->start());
  append_settings(3);
  fail_at_ = 5;
  append_settings(4);  // positions 4..7; the recording projection fails at 5
  auto s =
      projector->wait_for(7, std::chrono::seconds(20), {events::PayloadType::SETTING_UPSERTED});
  EXPECT_CODE(s, Code::kTimedOut);
  EXPECT_NE(s.message().find("committed at position 7 but not visible"), std::string::npos)
      << s.to_string();
  EXPECT_NE(s.message().find("annals replay recording"), std::string::npos) << s.to_string();
  // Nothing of the failing command, everything before it; the others went on.
  EXPECT_EQ(dump(*read_db_.admin, "SELECT position FROM test_applied ORDER BY 1"),
            "1|\n2|\n3|\n4|\n");
  EXPECT_EQ(count(*read_db_.admin, "settings"), 7);
  auto states = projector->states();
  for (const auto& state : states) {
    if (state.name == "recording") {
      EXPECT_EQ(state.position, 4u);
      EXPECT_EQ(state.failed_at, 5u);
      EXPECT_NE(state.error.find("injected failure"), std::string::npos);
    } else {
      EXPECT_EQ(state.position, 7u) << state.name;
      EXPECT_EQ(state.failed_at, 0u) << state.name;
    }
  }
  EXPECT_EQ(dump(*read_db_.admin, "SELECT projection, position FROM projection_failures"),
            "recording|5|\n");
  EXPECT_EQ(dump(*read_db_.admin,
                 "SELECT position FROM projection_checkpoints WHERE projection = 'recording'"),
            "4|\n");
  EXPECT_EQ(projector->checkpoint(), 7u);  // the lowest of the running projections

  // A delete is not handled by the stopped projection: its write is visible.
  journal::AppendRequest del;
  del.org_id = "acme";
  events::NewEvent e("acme", "setting/k0", "tester");
  e.payload().initSettingDeleted().setKey("k0");
  del.events.push_back(std::move(e));
  auto appended = journal_->append(std::move(del));
  ASSERT_OK(appended);
  EXPECT_OK(projector->wait_for(appended->last_position, std::chrono::seconds(20),
                                {events::PayloadType::SETTING_DELETED}));
  EXPECT_EQ(count(*read_db_.admin, "settings"), 6);
  // Later upserts are refused at once, however long the timeout.
  fail_at_ = 0;
  append_settings(1);
  EXPECT_CODE(projector->wait_for(journal_->head(), std::chrono::seconds(20),
                                  {events::PayloadType::SETTING_UPSERTED}),
              Code::kTimedOut);

  // The stop survives a restart: a new projector does not run it again.
  projector.reset();
  auto restarted = make_projector(options);
  ASSERT_OK(restarted->start());
  ASSERT_OK(restarted->catch_up());
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 4);
  EXPECT_EQ(count(*read_db_.admin, "settings"), 7);  // 6, then the new upsert
}

TEST_P(ProjectorTest, AFailingProjectionStopsAloneInTheBackground) {
  upserts_only_ = true;
  ProjectorOptions options;
  options.mode = ProjectorMode::kBackground;
  options.idle_wait = std::chrono::milliseconds(20);
  options.batch_size = 5;
  auto projector = make_projector(options);
  ASSERT_OK(projector->start());
  fail_at_ = 9;
  append_settings(12);
  // Every write after the stop is refused at once, not after the timeout.
  auto started = std::chrono::steady_clock::now();
  auto s = projector->wait_for(12, std::chrono::seconds(60));
  EXPECT_CODE(s, Code::kTimedOut);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(50));
  EXPECT_NE(s.message().find("'recording' is stopped at position 9"), std::string::npos)
      << s.to_string();
  EXPECT_OK(
      projector->wait_for(12, std::chrono::seconds(20), {events::PayloadType::SETTING_DELETED}));
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 8);
  EXPECT_EQ(count(*read_db_.admin, "settings"), 7);
  append_settings(3);
  EXPECT_OK(
      projector->wait_for(15, std::chrono::seconds(20), {events::PayloadType::SETTING_DELETED}));
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 8);
}

TEST_P(ProjectorTest, ConcurrentInlineCatchUpsApplyEachEventOnce) {
  auto projector = make_projector();
  ASSERT_OK(projector->start());
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        journal::AppendRequest r;
        r.org_id = "acme";
        r.events.push_back(setting_event("acme", "t" + std::to_string(t), std::to_string(i)));
        auto a = journal_->append(std::move(r));
        if (!a.is_ok() ||
            !projector->wait_for(a->last_position, std::chrono::seconds(20)).is_ok()) {
          errors++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 200);
  EXPECT_EQ(dump(*read_db_.admin, "SELECT key, value FROM settings ORDER BY key"),
            "t0|49|\nt1|49|\nt2|49|\nt3|49|\n");
}

INSTANTIATE_TEST_SUITE_P(Backends, ProjectorTest,
                         ::testing::Values(testing::Backend::kSqlite, testing::Backend::kPostgres),
                         testing::BackendName);

// Only PostgreSQL has a server whose connections can be lost.
class PgProjectorTest : public ProjectorTest {
 protected:
  // Terminates every session of the projector's role; how many there were.
  int64_t terminate_projector_sessions() {
    auto txn = read_db_.admin->begin(db::Access::kRead);
    EXPECT_OK(txn);
    if (!txn.is_ok()) return -1;
    auto rows = (*txn)->query(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE usename = '" +
        std::string(db::kProjectorRole) +
        "' AND datname = current_database() AND pid <> pg_backend_pid()");
    EXPECT_OK(rows);
    return rows.is_ok() ? (*rows)[0].i64(0) : -1;
  }
};

// A backend killed under the projector is a lost connection, not a broken
// projection: the batch is retried on a new connection and nothing stops.
TEST_P(PgProjectorTest, ATerminatedBackendIsRetriedNotAFailure) {
  ProjectorOptions options;
  options.mode = ProjectorMode::kBackground;
  options.idle_wait = std::chrono::milliseconds(20);
  auto projector = make_projector(options);
  ASSERT_OK(projector->start());
  append_settings(10);
  ASSERT_OK(projector->wait_for(10, std::chrono::seconds(20)));
  for (int round = 0; round < 5; ++round) {
    EXPECT_GE(terminate_projector_sessions(), 1) << "round " << round;
    append_settings(10);
    ASSERT_OK(projector->wait_for(10 * (round + 2), std::chrono::seconds(30)));
  }
  for (const auto& state : projector->states()) {
    EXPECT_EQ(state.failed_at, 0u) << state.name << ": " << state.error;
    EXPECT_EQ(state.position, 60u) << state.name;
  }
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 60);
  EXPECT_EQ(dump(*read_db_.admin, "SELECT COUNT(*) FROM projection_failures"), "0|\n");
}

TEST_P(PgProjectorTest, AnInlineCatchUpAfterATerminatedBackendReconnects) {
  auto projector = make_projector();
  ASSERT_OK(projector->start());
  append_settings(5);
  ASSERT_OK(projector->wait_for(5, std::chrono::seconds(5)));
  EXPECT_GE(terminate_projector_sessions(), 1);
  append_settings(5);
  // The first try may meet the dead connection; the write is committed all
  // the same and a later catch-up applies it once.
  Status first = projector->wait_for(10, std::chrono::seconds(5));
  if (!first.is_ok()) {
    EXPECT_CODE(first, Code::kTimedOut);
    EXPECT_NE(first.message().find("the write is committed"), std::string::npos)
        << first.to_string();
    EXPECT_NE(first.message().find("connection"), std::string::npos) << first.to_string();
    ASSERT_OK(projector->wait_for(10, std::chrono::seconds(5)));
  }
  for (const auto& state : projector->states()) {
    EXPECT_EQ(state.failed_at, 0u) << state.name << ": " << state.error;
  }
  EXPECT_EQ(count(*read_db_.admin, "test_applied"), 10);
}

INSTANTIATE_TEST_SUITE_P(Postgres, PgProjectorTest, ::testing::Values(testing::Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace annals::projections

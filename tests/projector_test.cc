#include "projections/projector.h"
#include "journal/journal.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "projections/apply_loop.h"
#include "projections/migrate.h"
#include "projections/postgres_setup.h"
#include "projections/standard_projections.h"
#include "tests/test_support.h"

namespace annals::projections {
namespace {

using annals::testing::TempDir;

// Records every event it applies as a row keyed by position: applying an
// event twice violates the primary key, so a doubled effect cannot hide.
// With upserts_only, it handles settingUpserted events and nothing else.
class RecordingProjection final : public Projection {
 public:
  RecordingProjection(std::atomic<uint64_t>* fail_at, bool upserts_only = false,
                      bool fail_by_constraint = false)
      : fail_at_(fail_at), upserts_only_(upserts_only), fail_by_constraint_(fail_by_constraint) {}
  std::string name() const override { return "recording"; }
  std::vector<std::string> tables() const override { return {"test_applied"}; }
  bool handles(events::PayloadType type) const override {
    return !upserts_only_ || type == events::PayloadType::SETTING_UPSERTED;
  }
  Status apply(db::Transaction& txn, const events::Event& event) override {
    if (event.position() == fail_at_->load()) {
      if (!fail_by_constraint_) return Status::internal("injected failure");
      // A row the table cannot hold, sent deferred: on PostgreSQL the error
      // surfaces only when the statement is sent, after apply() returned.
      return txn.execute_deferred(
          "INSERT INTO test_applied (position, org_id, stream_version) VALUES (1, $1, 0)",
          {std::string(event.org_id())});
    }
    return txn
        .execute("INSERT INTO test_applied (position, org_id, stream_version) VALUES ($1, $2, $3)",
                 {static_cast<int64_t>(event.position()), std::string(event.org_id()),
                  static_cast<int64_t>(event.stream_version())})
        .status();
  }

 private:
  std::atomic<uint64_t>* fail_at_;
  bool upserts_only_;
  bool fail_by_constraint_;
};

events::NewEvent setting(std::string_view org, std::string key, std::string value) {
  events::NewEvent e(org, "setting/" + key, "tester");
  auto p = e.payload().initSettingUpserted();
  p.setKey(key);
  p.setValue(value);
  p.setValueType("string");
  return e;
}

// The read database of one test: `admin` sees every org (assertions);
// `projector` is what the Projector writes through (on PostgreSQL the
// annals_projector role, under row-level security).
struct ReadDb {
  std::unique_ptr<db::Database> admin;
  std::unique_ptr<db::Database> projector_role;
  db::Database& projector() { return projector_role ? *projector_role : *admin; }
};

const char* kSqliteTestTable =
    "CREATE TABLE test_applied (position INTEGER PRIMARY KEY,"
    " org_id TEXT NOT NULL, stream_version INTEGER NOT NULL) STRICT;";
const char* kPostgresTestTable =
    "CREATE TABLE annals.test_applied (position BIGINT PRIMARY KEY,"
    " org_id TEXT COLLATE \"C\" NOT NULL, stream_version BIGINT NOT NULL);"
    "CREATE INDEX test_applied_org ON annals.test_applied (org_id);"
    "ALTER TABLE annals.test_applied ENABLE ROW LEVEL SECURITY;"
    "ALTER TABLE annals.test_applied FORCE ROW LEVEL SECURITY;"
    "CREATE POLICY org_isolation ON annals.test_applied"
    " USING (org_id = (SELECT NULLIF(current_setting('app.current_org_id', true), '')))"
    " WITH CHECK (org_id = (SELECT NULLIF(current_setting('app.current_org_id', true), '')));"
    "GRANT SELECT, INSERT ON annals.test_applied TO annals_projector;";

// Every test body runs on SQLite and on PostgreSQL.
class ProjectorTest : public ::testing::TestWithParam<testing::Backend> {
 protected:
  void SetUp() override {
    journal::Options options;
    options.clock = &clock_;
    options.durability = journal::Durability::kNone;
    auto j = journal::Journal::open_rocksdb(dir_.sub("journal"), options);
    ASSERT_OK(j);
    journal_ = std::move(j).value();
    ANNALS_SETUP_BACKEND(test_db_, GetParam(), dir_);
    open_database(*test_db_, &read_db_);
  }

  // Opens (creating on first use) the test's read database with every
  // migration plus the test_applied table.
  void open_database(const testing::TestDatabase& target, ReadDb* out) {
    out->admin.reset();
    out->projector_role.reset();
    auto migrations =
        embedded_migrations(target.backend() == testing::Backend::kSqlite ? db::Dialect::kSqlite
                                                                          : db::Dialect::kPostgres);
    ASSERT_OK(migrations);
    auto all = std::move(migrations).value();
    bool sqlite = target.backend() == testing::Backend::kSqlite;
    all.push_back({static_cast<int>(all.size()) + 1, "test_applied",
                   sqlite ? kSqliteTestTable : kPostgresTestTable});
    db::DatabaseOptions admin_options;
    admin_options.require_unprivileged = false;
    if (sqlite) {
      auto d = db::Database::open(target.url());
      ASSERT_OK(d);
      ASSERT_OK(migrate(**d, all, clock_));
      out->admin = std::move(d).value();
      return;
    }
    if (set_up_.insert(target.url()).second) {
      ASSERT_OK(db::setup_postgres(target.url(), std::nullopt, clock_));
    }
    db::DatabaseOptions owner_options = admin_options;
    owner_options.session_role = db::kOwnerRole;
    auto owner = db::Database::open(target.url(), owner_options);
    ASSERT_OK(owner);
    ASSERT_OK(migrate(**owner, all, clock_));
    auto admin = db::Database::open(target.url(), admin_options);
    ASSERT_OK(admin);
    out->admin = std::move(admin).value();
    auto projector = db::Database::open(target.url_as(db::kProjectorRole));
    ASSERT_OK(projector);
    out->projector_role = std::move(projector).value();
  }

  std::unique_ptr<Projector> make_projector(ProjectorOptions options = {}) {
    return make_projector(read_db_.projector(), options);
  }

  std::unique_ptr<Projector> make_projector(db::Database& database, ProjectorOptions options = {}) {
    std::vector<std::unique_ptr<Projection>> projections = standard_projections();
    projections.push_back(
        std::make_unique<RecordingProjection>(&fail_at_, upserts_only_, fail_by_constraint_));
    return std::make_unique<Projector>(*journal_, database, std::move(projections), options);
  }

  void append_settings(int n, std::string_view org = "acme") {
    for (int i = 0; i < n; ++i) {
      journal::AppendRequest r;
      r.org_id = std::string(org);
      r.events.push_back(
          setting(org, "k" + std::to_string(counter_ % 7), "v" + std::to_string(counter_)));
      ++counter_;
      clock_.advance(Micros(1000));
      ASSERT_OK(journal_->append(std::move(r)));
    }
  }

  int64_t count(db::Database& database, const std::string& table) {
    auto txn = database.begin(db::Access::kRead);
    EXPECT_OK(txn);
    auto rows = (*txn)->query("SELECT COUNT(*) FROM " + table);
    EXPECT_OK(rows);
    return rows.is_ok() ? (*rows)[0].i64(0) : -1;
  }

  std::string dump(db::Database& database, const std::string& sql) {
    auto txn = database.begin(db::Access::kRead);
    EXPECT_OK(txn);
    auto rows = (*txn)->query(sql);
    EXPECT_OK(rows);
    std::string out;
    for (const auto& row : *rows) {
      for (size_t i = 0; i < row.size(); ++i) {
        if (row.is_null(i)) {
          out += "NULL";
        } else if (auto* s = std::get_if<std::string>(&row.at(i))) {
          out += *s;
        } else {
          out += std::to_string(row.i64(i));
        }
        out += '|';
      }
      out += '\n';
    }
    return out;
  }

  TempDir dir_;
  ManualClock clock_{from_micros(1'800'000'000'000'000)};
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<testing::TestDatabase> test_db_;
  ReadDb read_db_;
  std::set<std::string> set_up_;  // PostgreSQL databases already through setup
  std::atomic<uint64_t> fail_at_{0};
  bool upserts_only_ = false;
  bool fail_by_constraint_ = false;
  int counter_ = 0;
};

ProjectorOptions aborting(size_t batch_size = 1000) {
  ProjectorOptions options;
  options.on_failure = FailurePolicy::kAbort;
  options.batch_size = batch_size;
  return options;
}

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
      r.events.push_back(setting("acme", "c" + std::to_string(c) + "-" + std::to_string(i), "v"));
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
        r.events.push_back(setting("acme", "t" + std::to_string(t), std::to_string(i)));
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

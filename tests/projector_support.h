// The fixture of the projector tests: a journal, a read database on each
// backend with every migration plus a test_applied table, and a recording
// projection that can be made to fail at a chosen event.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "journal/journal.h"
#include "projections/migrate.h"
#include "projections/postgres_setup.h"
#include "projections/projector.h"
#include "projections/standard_projections.h"
#include "tests/journal_support.h"
#include "tests/test_support.h"

namespace annals::projections {

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

// The read database of one test: `admin` sees every org (assertions);
// `projector` is what the Projector writes through (on PostgreSQL the
// annals_projector role, under row-level security).
struct ReadDb {
  std::unique_ptr<db::Database> admin;
  std::unique_ptr<db::Database> projector_role;
  db::Database& projector() { return projector_role ? *projector_role : *admin; }
};

inline constexpr const char* kSqliteTestTable =
    "CREATE TABLE test_applied (position INTEGER PRIMARY KEY,"
    " org_id TEXT NOT NULL, stream_version INTEGER NOT NULL) STRICT;";
inline constexpr const char* kPostgresTestTable =
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
      r.events.push_back(testing::setting_event(org, "k" + std::to_string(counter_ % 7),
                                                "v" + std::to_string(counter_)));
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

  testing::TempDir dir_;
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

inline ProjectorOptions aborting(size_t batch_size = 1000) {
  ProjectorOptions options;
  options.on_failure = FailurePolicy::kAbort;
  options.batch_size = batch_size;
  return options;
}

}  // namespace annals::projections

#include "projections/migrate.h"

#include <gtest/gtest.h>

#include "tests/test_support.h"

namespace annals::projections {
namespace {

using annals::testing::TempDir;

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = db::Database::open("sqlite:" + dir_.sub("read.sqlite"));
    ASSERT_OK(opened);
    db_ = std::move(opened).value();
  }

  std::vector<Migration> two() {
    return {{1, "0001_a", "CREATE TABLE a (org_id TEXT NOT NULL, x INTEGER) STRICT;"},
            {2, "0002_b", "CREATE TABLE b (org_id TEXT NOT NULL, y TEXT) STRICT;"}};
  }

  std::vector<std::string> tables() {
    auto txn = db_->begin(db::Access::kRead);
    EXPECT_OK(txn);
    auto rows = (*txn)->query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    EXPECT_OK(rows);
    std::vector<std::string> out;
    for (const auto& r : *rows) out.push_back(r.text(0));
    return out;
  }

  TempDir dir_;
  ManualClock clock_{from_micros(1'800'000'000'000'000)};
  std::unique_ptr<db::Database> db_;
};

TEST_F(MigrateTest, AppliesEachMigrationOnceAndRecordsIt) {
  auto first = migrate(*db_, two(), clock_);
  ASSERT_OK(first);
  EXPECT_EQ(first->applied, 2);
  EXPECT_EQ(first->schema_version, 2);
  auto second = migrate(*db_, two(), clock_);
  ASSERT_OK(second);
  EXPECT_EQ(second->applied, 0);
  EXPECT_EQ(second->schema_version, 2);

  auto txn = db_->begin(db::Access::kRead);
  ASSERT_OK(txn);
  auto rows = (*txn)->query(
      "SELECT version, name, checksum, applied_at FROM annals_migrations ORDER BY version");
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].text(1), "0001_a");
  EXPECT_EQ((*rows)[0].text(2), two()[0].checksum());
  EXPECT_EQ((*rows)[0].text(2).size(), 64u);  // SHA-256, hex
  EXPECT_EQ((*rows)[1].i64(3), 1'800'000'000'000'000);
}

TEST_F(MigrateTest, NewMigrationsAreAppliedLater) {
  auto one = two();
  one.pop_back();
  ASSERT_OK(migrate(*db_, one, clock_));
  EXPECT_EQ(tables(), (std::vector<std::string>{"a", "annals_migrations"}));
  auto r = migrate(*db_, two(), clock_);
  ASSERT_OK(r);
  EXPECT_EQ(r->applied, 1);
  EXPECT_EQ(tables(), (std::vector<std::string>{"a", "annals_migrations", "b"}));
}

TEST_F(MigrateTest, AnEditedAppliedMigrationIsRefusedLoudly) {
  ASSERT_OK(migrate(*db_, two(), clock_));
  auto edited = two();
  edited[0].sql = "CREATE TABLE a (org_id TEXT NOT NULL, x INTEGER, z TEXT) STRICT;";
  edited.push_back({3, "0003_c", "CREATE TABLE c (org_id TEXT NOT NULL) STRICT;"});
  auto r = migrate(*db_, edited, clock_);
  EXPECT_CODE(r, Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("0001_a"), std::string::npos) << r.status().to_string();
  EXPECT_NE(r.status().message().find("must never change"), std::string::npos);
  // Nothing was applied: 0003 waits until the edit is undone.
  EXPECT_EQ(tables(), (std::vector<std::string>{"a", "annals_migrations", "b"}));
}

TEST_F(MigrateTest, ADatabaseFromANewerBuildIsRefused) {
  auto three = two();
  three.push_back({3, "0003_c", "CREATE TABLE c (org_id TEXT NOT NULL) STRICT;"});
  ASSERT_OK(migrate(*db_, three, clock_));
  auto r = migrate(*db_, two(), clock_);
  EXPECT_CODE(r, Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("does not know"), std::string::npos);
}

TEST_F(MigrateTest, GapsInVersionsAreRefused) {
  std::vector<Migration> gappy = {{1, "0001_a", "CREATE TABLE a (x INTEGER);"},
                                  {3, "0003_c", "CREATE TABLE c (x INTEGER);"}};
  EXPECT_CODE(migrate(*db_, gappy, clock_), Code::kInvalidArgument);
  EXPECT_TRUE(tables().empty());
}

TEST_F(MigrateTest, AFailingMigrationChangesNothing) {
  auto bad = two();
  bad.push_back({3, "0003_broken", "CREATE TABLE c (x INTEGER); THIS IS NOT SQL;"});
  auto r = migrate(*db_, bad, clock_);
  EXPECT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("0003_broken"), std::string::npos);
  EXPECT_TRUE(tables().empty());
  // The good ones still apply once the broken one is fixed.
  bad[2].sql = "CREATE TABLE c (x INTEGER);";
  ASSERT_OK(migrate(*db_, bad, clock_));
  EXPECT_EQ(tables().size(), 4u);
}

TEST_F(MigrateTest, EmbeddedMigrationsAreNumberedAndApply) {
  auto embedded = embedded_migrations(db::Dialect::kSqlite);
  ASSERT_OK(embedded);
  ASSERT_GE(embedded->size(), 3u);
  for (size_t i = 0; i < embedded->size(); ++i) {
    EXPECT_EQ((*embedded)[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE((*embedded)[i].sql.empty());
  }
  auto r = migrate(*db_, *embedded, clock_);
  ASSERT_OK(r);
  EXPECT_EQ(r->schema_version, static_cast<int>(embedded->size()));
  auto t = tables();
  for (const char* want : {"api_tokens", "projection_checkpoints", "settings"}) {
    EXPECT_NE(std::find(t.begin(), t.end(), want), t.end()) << want;
  }
}

TEST(Migrations, SqliteAndPostgresHaveTheSameVersions) {
  auto sqlite = embedded_migrations(db::Dialect::kSqlite);
  auto postgres = embedded_migrations(db::Dialect::kPostgres);
  ASSERT_OK(sqlite);
  ASSERT_OK(postgres);
  ASSERT_EQ(sqlite->size(), postgres->size()) << "migrations/sqlite and migrations/postgres differ";
  for (size_t i = 0; i < sqlite->size(); ++i) {
    EXPECT_EQ((*sqlite)[i].version, (*postgres)[i].version);
    EXPECT_EQ((*sqlite)[i].name, (*postgres)[i].name);
  }
}

TEST(Database, UnknownUrlSchemesAreRefused) {
  EXPECT_CODE(db::Database::open("mysql://x"), Code::kInvalidArgument);
  EXPECT_CODE(db::Database::open("sqlite:"), Code::kInvalidArgument);
}

TEST(Database, ParametersAreBoundNeverSpliced) {
  TempDir dir;
  auto database = db::Database::open("sqlite:" + dir.sub("x.sqlite"));
  ASSERT_OK(database);
  auto txn = (*database)->begin(db::Access::kWrite);
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->execute_script("CREATE TABLE t (v TEXT)"));
  std::string hostile = "x'); DROP TABLE t; --";
  ASSERT_OK((*txn)->execute("INSERT INTO t (v) VALUES ($1)", {hostile}));
  auto rows = (*txn)->query("SELECT v FROM t WHERE v = $1", {hostile});
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].text(0), hostile);
  // Too few parameters is a clear error, not a silent NULL.
  EXPECT_CODE((*txn)->query("SELECT v FROM t WHERE v = $2", {hostile}), Code::kInternal);
}

TEST(Database, UncommittedTransactionsRollBack) {
  TempDir dir;
  auto database = db::Database::open("sqlite:" + dir.sub("x.sqlite"));
  ASSERT_OK(database);
  {
    auto txn = (*database)->begin(db::Access::kWrite);
    ASSERT_OK(txn);
    ASSERT_OK((*txn)->execute_script("CREATE TABLE t (v INTEGER)"));
    ASSERT_OK((*txn)->commit());
  }
  {
    auto txn = (*database)->begin(db::Access::kWrite);
    ASSERT_OK(txn);
    ASSERT_OK((*txn)->execute("INSERT INTO t (v) VALUES ($1)", {int64_t{1}}));
  }  // no commit
  auto txn = (*database)->begin(db::Access::kRead);
  ASSERT_OK(txn);
  auto rows = (*txn)->query("SELECT COUNT(*) FROM t");
  ASSERT_OK(rows);
  EXPECT_EQ((*rows)[0].i64(0), 0);
}

}  // namespace
}  // namespace annals::projections

// Rebuilding read schemas from the journal on a live store, on SQLite and on
// PostgreSQL: the swap, reads during it, interruption and resumption, the
// determinism check, replaying one projection, and a schema change whose
// new column is filled from history.
#include "projections/rebuild.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "annals/clock.h"
#include "projections/migrate.h"
#include "repositories/operator.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using projections::Progress;
using projections::RebuildOptions;
using repositories::NewApiToken;
using repositories::Store;
using repositories::StoreOptions;
using repositories::TokenStatus;

const Timestamp kStart = from_micros(1'767'225'600'000'000);  // 2026-01-01T00:00:00Z

class RebuildTest : public ::testing::TestWithParam<testing::Backend> {
 protected:
  void SetUp() override {
    ANNALS_SETUP_BACKEND(db_, GetParam(), dir_);
    open();
  }
  void TearDown() override { store_.reset(); }

  void open() {
    store_.reset();
    StoreOptions options;
    options.data_dir = dir_.path();
    options.database_url = db_->url();
    options.setup_database = true;  // a superuser URL: set it up first
    options.clock = &clock_;
    auto store = Store::open(options);
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }

  // The store's rebuilder, given the superuser URL on PostgreSQL (the store
  // keeps none).
  projections::Rebuilder rebuilder(RebuildOptions options = {}) {
    if (GetParam() == testing::Backend::kPostgres) options.admin_url = db_->url();
    return store_->internals().rebuilder(std::move(options));
  }

  // Every org's rows, straight from the tables (a superuser on PostgreSQL).
  std::unique_ptr<db::Database> admin() {
    db::DatabaseOptions o;
    o.pool_size = 1;
    o.require_unprivileged = false;
    auto database = db::Database::open(db_->url(), o);
    EXPECT_OK(database);
    return database.is_ok() ? std::move(database).value() : nullptr;
  }

  std::map<std::string, projections::TableContents> tables() {
    auto database = admin();
    auto contents = projections::read_all_tables(*database, "annals");
    EXPECT_OK(contents);
    return contents.is_ok() ? *contents : std::map<std::string, projections::TableContents>{};
  }

  void exec(const std::string& sql) {
    auto database = admin();
    auto txn = database->begin(db::Access::kWrite);
    ASSERT_OK(txn);
    ASSERT_OK((*txn)->execute_script(sql));
    ASSERT_OK((*txn)->commit());
  }

  NewApiToken token(const std::string& id) {
    NewApiToken t;
    t.id = id;
    t.user_id = "user-1";
    t.name = "token " + id;
    t.token_prefix = "bodhiapp_" + id;
    t.token_hash = std::string(64, 'a');
    t.scopes = "scope_token_user";
    return t;
  }

  // A little of everything, in two orgs.
  void write_history(int tokens) {
    for (const char* org : {"org-a", "org-b"}) {
      for (int i = 0; i < tokens; ++i) {
        ASSERT_OK(store_->tokens().create(org, token(std::string(org) + "-" + std::to_string(i))));
        clock_.advance(std::chrono::milliseconds(1));
      }
      ASSERT_OK(store_->settings().upsert(org, "theme", "dark", "string"));
      ASSERT_OK(store_->settings().upsert(org, "theme", "light", "string"));
      ASSERT_OK(store_->tokens().update(org, "user-1", std::string(org) + "-0", "renamed",
                                        TokenStatus::kInactive));
    }
  }

  int64_t token_count(const std::string& org) {
    auto page = store_->tokens().list(org, "user-1", 1, 100);
    EXPECT_OK(page);
    return page.is_ok() ? page->total : -1;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestDatabase> db_;
  ManualClock clock_{kStart};
  std::unique_ptr<Store> store_;
};

TEST_P(RebuildTest, RebuildReplaysEverythingAndSwapsInIdenticalTables) {
  write_history(20);
  auto before = tables();
  ASSERT_FALSE(before.empty());
  ASSERT_GT(before["api_tokens"].rows.size(), 0u);

  auto report = rebuilder().rebuild();
  ASSERT_OK(report);
  EXPECT_EQ(report->position, store_->internals().journal().head());
  EXPECT_EQ(report->events_replayed, store_->internals().journal().head());
  EXPECT_FALSE(report->resumed);

  auto after = tables();
  bool truncated = false;
  auto differences = projections::compare_tables(before, after, 10, &truncated);
  for (const auto& d : differences) ADD_FAILURE() << d.table << " " << d.what << " " << d.key;
  EXPECT_EQ(before["api_tokens"].digest, after["api_tokens"].digest);

  // Nothing is left behind, and the store goes on working on the new schema.
  auto plan = rebuilder().plan();
  ASSERT_OK(plan);
  EXPECT_FALSE(plan->target_exists);
  ASSERT_OK(store_->tokens().create("org-a", token("after-swap")));
  EXPECT_EQ(token_count("org-a"), 21);
  auto by_prefix = store_->tokens().get_by_prefix("bodhiapp_after-swap");
  ASSERT_OK(by_prefix);
  EXPECT_EQ(by_prefix->org_id, "org-a");
}

TEST_P(RebuildTest, ReadsKeepWorkingAndWritesAreCaughtUpDuringARebuild) {
  write_history(30);
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::atomic<int> bad_reads{0};
  std::string first_error;
  std::thread reader([&] {
    while (!stop.load()) {
      auto page = store_->tokens().list("org-b", "user-1", 1, 5);
      if (!page.is_ok() || page->total < 30 || page->rows.empty()) {
        if (bad_reads.fetch_add(1) == 0) {
          first_error =
              page.is_ok() ? "total " + std::to_string(page->total) : page.status().to_string();
        }
      }
      reads.fetch_add(1);
    }
  });
  std::atomic<int> written{0};
  RebuildOptions options;
  options.batch_size = 7;
  // Appends in the middle of the replay: they must be in the swapped schema.
  options.progress = [&](const Progress& p) {
    if (p.phase == "replay" && written.load() < 5) {
      EXPECT_OK(store_->tokens().create("org-b", token("during-" + std::to_string(written++))));
    }
    return true;
  };
  auto report = rebuilder(options).rebuild();
  stop.store(true);
  reader.join();
  ASSERT_OK(report);
  EXPECT_EQ(written.load(), 5);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(bad_reads.load(), 0) << first_error;
  EXPECT_EQ(token_count("org-b"), 35);
  EXPECT_EQ(store_->internals().projector().checkpoint(), store_->internals().journal().head());
}

TEST_P(RebuildTest, AnInterruptedRebuildLeavesTheLiveSchemaAndResumes) {
  write_history(25);
  auto before = tables();
  RebuildOptions options;
  options.batch_size = 10;
  int batches = 0;
  options.progress = [&](const Progress&) { return ++batches < 3; };
  auto stopped = rebuilder(options).rebuild();
  EXPECT_CODE(stopped, Code::kUnavailable);
  EXPECT_NE(stopped.status().message().find("interrupted"), std::string::npos);

  // The live schema is untouched and serving.
  EXPECT_EQ(token_count("org-a"), 25);
  auto live = tables();
  EXPECT_EQ(before["api_tokens"].digest, live["api_tokens"].digest);
  ASSERT_OK(store_->tokens().create("org-a", token("while-stopped")));

  auto plan = rebuilder().plan();
  ASSERT_OK(plan);
  EXPECT_TRUE(plan->target_exists);
  EXPECT_GT(plan->target_checkpoint, 0u);
  EXPECT_LT(plan->target_checkpoint, store_->internals().journal().head());

  auto resumed = rebuilder().rebuild();
  ASSERT_OK(resumed);
  EXPECT_TRUE(resumed->resumed);
  EXPECT_EQ(resumed->from, plan->target_checkpoint + 1);
  EXPECT_EQ(resumed->events_replayed,
            store_->internals().journal().head() - plan->target_checkpoint);
  EXPECT_EQ(token_count("org-a"), 26);
}

TEST_P(RebuildTest, DiscardDropsAPartialRebuild) {
  write_history(5);
  RebuildOptions options;
  options.batch_size = 2;
  options.progress = [](const Progress& p) { return p.position < 4; };
  EXPECT_CODE(rebuilder(options).rebuild(), Code::kUnavailable);
  ASSERT_TRUE(rebuilder().plan()->target_exists);
  ASSERT_OK(rebuilder().discard());
  EXPECT_FALSE(rebuilder().plan()->target_exists);
  ASSERT_OK(rebuilder().discard());  // nothing to drop: fine
  auto fresh = rebuilder().rebuild();
  ASSERT_OK(fresh);
  EXPECT_FALSE(fresh->resumed);
}

TEST_P(RebuildTest, CheckFindsTheLiveSchemaIdenticalToAReplay) {
  write_history(10);
  auto report = rebuilder().check();
  ASSERT_OK(report);
  EXPECT_EQ(report->position, store_->internals().journal().head());
  EXPECT_TRUE(report->differences.empty());
  EXPECT_EQ(report->rows.at("api_tokens"), 20u);
  EXPECT_EQ(report->digests.at("api_tokens").size(), 64u);
  // The check schema is gone again.
  auto database = admin();
  auto txn = database->begin(db::Access::kRead);
  ASSERT_OK(txn);
  if (GetParam() == testing::Backend::kPostgres) {
    auto rows =
        (*txn)->query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'annals_check%'");
    ASSERT_OK(rows);
    EXPECT_TRUE(rows->empty());
  } else {
    EXPECT_FALSE(std::filesystem::exists(dir_.sub("read.sqlite.check")));
  }
}

TEST_P(RebuildTest, CheckReportsEachDifferenceByTableAndKey) {
  write_history(3);
  exec("UPDATE settings SET value = 'tampered' WHERE org_id = 'org-a' AND key = 'theme'");
  exec("DELETE FROM api_tokens WHERE org_id = 'org-b' AND id = 'org-b-2'");
  auto report = rebuilder().check();
  ASSERT_OK(report);
  ASSERT_EQ(report->differences.size(), 2u);
  std::map<std::string, projections::TableDifference> by_table;
  for (const auto& d : report->differences) by_table[d.table] = d;
  EXPECT_EQ(by_table["settings"].what, "differs");
  EXPECT_NE(by_table["settings"].key.find("'org-a'"), std::string::npos);
  EXPECT_NE(by_table["settings"].key.find("'theme'"), std::string::npos);
  EXPECT_EQ(by_table["api_tokens"].what, "only in rebuilt");
  EXPECT_NE(by_table["api_tokens"].key.find("'org-b-2'"), std::string::npos);
}

TEST_P(RebuildTest, ReplayRestoresOneProjectionAndLeavesTheOthers) {
  write_history(4);
  exec("UPDATE api_tokens SET name = 'tampered'");
  exec("UPDATE settings SET value = 'left alone' WHERE org_id = 'org-a'");
  auto reached = rebuilder().replay("tokens", 1);
  ASSERT_OK(reached);
  EXPECT_EQ(*reached, store_->internals().journal().head());
  auto got = store_->tokens().get("org-a", "user-1", "org-a-1");
  ASSERT_OK(got);
  EXPECT_EQ(got->name, "token org-a-1");
  auto setting = store_->settings().get("org-a", "theme");
  ASSERT_OK(setting);
  EXPECT_EQ(setting->value, "left alone");
  // The live projector carries on after the replay.
  ASSERT_OK(store_->tokens().create("org-a", token("after-replay")));
  EXPECT_EQ(token_count("org-a"), 5);
}

TEST_P(RebuildTest, AProjectionThatCannotHoldAnEventStopsAloneAndReplayResumesIt) {
  write_history(1);
  // The read table refuses one value (a constraint the projection cannot
  // satisfy), as a projection bug would.
  bool sqlite = GetParam() == testing::Backend::kSqlite;
  exec(sqlite ? "CREATE TRIGGER no_poison BEFORE INSERT ON api_tokens WHEN NEW.name = 'poison'"
                " BEGIN SELECT RAISE(ABORT, 'poisoned token'); END;"
              : "ALTER TABLE annals.api_tokens ADD CONSTRAINT no_poison CHECK (name <> 'poison')");
  NewApiToken poison = token("poison");
  poison.name = "poison";
  auto created = store_->tokens().create("org-a", poison);
  EXPECT_CODE(created, Code::kTimedOut);  // committed, not visible
  EXPECT_NE(created.status().message().find("projection 'tokens' is stopped"), std::string::npos)
      << created.status().to_string();
  uint64_t committed = store_->internals().journal().head();
  // The other projections carry on; later token writes are refused at once.
  ASSERT_OK(store_->settings().upsert("org-a", "theme", "blue", "string"));
  EXPECT_CODE(store_->tokens().create("org-a", token("later")), Code::kTimedOut);
  // Opening the store again works, and the projection stays stopped.
  open();
  auto setting = store_->settings().get("org-a", "theme");
  ASSERT_OK(setting);
  EXPECT_EQ(setting->value, "blue");
  bool stopped = false;
  for (const auto& state : store_->internals().projector().states()) {
    if (state.name == "tokens") {
      stopped = state.failed_at == committed;
      EXPECT_NE(state.error.find("poison"), std::string::npos) << state.error;
    }
  }
  EXPECT_TRUE(stopped);
  // Replay fails while the cause is there (and changes nothing)...
  EXPECT_FALSE(rebuilder().replay("tokens", 1).is_ok());
  EXPECT_EQ(token_count("org-a"), 1);
  // ...and, once it is fixed, resumes the projection with every token.
  exec(sqlite ? "DROP TRIGGER no_poison"
              : "ALTER TABLE annals.api_tokens DROP CONSTRAINT no_poison");
  ASSERT_OK(rebuilder().replay("tokens", 1));
  EXPECT_EQ(token_count("org-a"), 3);
  ASSERT_OK(store_->tokens().create("org-a", token("after-fix")));
  EXPECT_EQ(token_count("org-a"), 4);
  for (const auto& state : store_->internals().projector().states())
    EXPECT_EQ(state.failed_at, 0u) << state.name;
}

TEST_P(RebuildTest, ReplayRefusesBadInputAndChangesNothing) {
  write_history(2);
  exec("UPDATE api_tokens SET name = 'tampered'");
  auto before = tables();
  EXPECT_CODE(rebuilder().replay("no-such-projection", 1), Code::kNotFound);
  EXPECT_CODE(rebuilder().replay("", 1), Code::kNotFound);
  EXPECT_CODE(rebuilder().replay("tokens'; DROP TABLE api_tokens; --", 1), Code::kNotFound);
  EXPECT_CODE(rebuilder().replay("tokens", 0), Code::kInvalidArgument);
  EXPECT_CODE(rebuilder().replay("tokens", store_->internals().journal().head() + 2),
              Code::kInvalidArgument);
  RebuildOptions options;
  options.batch_size = 1;
  options.progress = [](const Progress&) { return false; };
  EXPECT_CODE(rebuilder(options).replay("tokens", 1), Code::kUnavailable);
  auto after = tables();
  EXPECT_EQ(before["api_tokens"].digest, after["api_tokens"].digest);
}

// A migration added after tokens were written: its column is NULL for the
// old rows until a rebuild replays their history.
TEST_P(RebuildTest, ARebuildFillsAColumnAddedAfterTheRowsWereWritten) {
  ASSERT_OK(store_->tokens().create("org-a", token("old")));
  clock_.advance(std::chrono::seconds(5));
  Timestamp deactivated = clock_.now();
  ASSERT_OK(store_->tokens().update("org-a", "user-1", "old", "old", TokenStatus::kInactive));
  clock_.advance(std::chrono::seconds(5));
  ASSERT_OK(store_->tokens().update("org-a", "user-1", "old", "renamed", TokenStatus::kInactive));
  store_.reset();

  // Make the read database what a build without migration 9 left behind.
  std::string table = GetParam() == testing::Backend::kPostgres ? "annals_meta.annals_migrations"
                                                                : "annals_migrations";
  exec("ALTER TABLE api_tokens DROP COLUMN last_deactivated_at; DELETE FROM " + table +
       " WHERE version = 9");
  open();  // applies migration 9 to the live schema
  auto old = store_->tokens().get("org-a", "user-1", "old");
  ASSERT_OK(old);
  EXPECT_FALSE(old->last_deactivated_at.has_value());

  ASSERT_OK(rebuilder().rebuild());
  old = store_->tokens().get("org-a", "user-1", "old");
  ASSERT_OK(old);
  ASSERT_TRUE(old->last_deactivated_at.has_value());
  EXPECT_EQ(*old->last_deactivated_at, deactivated);
  EXPECT_EQ(old->name, "renamed");
}

TEST(RetargetSchemaTest, RenamesSchemaQualifiedNamesOutsideFunctionBodies) {
  std::string sql =
      "CREATE TABLE annals.t (x TEXT);  -- annals.t in a comment\n"
      "GRANT SELECT ON annals_meta.c TO annals_query;\n"
      "CREATE FUNCTION annals.f() RETURNS SETOF annals.t LANGUAGE sql\n"
      "  SET search_path = annals, pg_temp AS $fn$ SELECT * FROM annals.t $fn$;\n"
      "SELECT 'annals.t', xannals.t;";
  std::string out = projections::retarget_schema(sql, "annals_rebuild");
  EXPECT_EQ(out,
            "CREATE TABLE annals_rebuild.t (x TEXT);  -- annals.t in a comment\n"
            "GRANT SELECT ON annals_rebuild_meta.c TO annals_query;\n"
            "CREATE FUNCTION annals_rebuild.f() RETURNS SETOF annals_rebuild.t LANGUAGE sql\n"
            "  SET search_path = annals, pg_temp AS $fn$ SELECT * FROM annals.t $fn$;\n"
            "SELECT 'annals.t', xannals.t;");
  EXPECT_EQ(projections::retarget_schema(sql, "annals"), sql);
}

// The operator tools an app reaches through Store alone (annals/rebuild.h),
// without the operator header.
TEST_P(RebuildTest, TheStoreRebuildsChecksAndReplaysThroughItsPublicApi) {
  write_history(5);
  uint64_t head = store_->internals().journal().head();
  repositories::RebuildRequest request;
  if (GetParam() == testing::Backend::kPostgres) request.admin_url = db_->url();
  int progress_calls = 0;
  request.progress = [&](const projections::Progress&) { return ++progress_calls > 0; };

  auto plan = store_->plan_rebuild(request);
  ASSERT_OK(plan);
  EXPECT_EQ(plan->journal_head, head);
  EXPECT_FALSE(plan->steps.empty());

  auto report = store_->rebuild(request);
  ASSERT_OK(report);
  EXPECT_EQ(report->position, head);
  EXPECT_GT(progress_calls, 0);
  auto found = store_->tokens().get_by_prefix("bodhiapp_org-a-3");
  ASSERT_OK(found);
  EXPECT_EQ(found->org_id, "org-a");

  auto check = store_->check_rebuild(request);
  ASSERT_OK(check);
  EXPECT_TRUE(check->differences.empty());
  EXPECT_EQ(check->rows["api_tokens"], 10u);

  auto replayed = store_->replay("tokens", 1, request);
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, head);
  EXPECT_OK(store_->discard_rebuild(request));
  EXPECT_OK(store_->tokens().get_by_prefix("bodhiapp_org-b-4"));
}

TEST_P(RebuildTest, TheStoresOperatorCallsRefuseBadInputAndChangeNothing) {
  write_history(2);
  auto before = tables();
  repositories::RebuildRequest request;
  if (GetParam() == testing::Backend::kPostgres) request.admin_url = db_->url();

  for (const char* name :
       {"", "no-such-projection", "tokens'; DROP TABLE api_tokens; --", "\xff\xfe"}) {
    SCOPED_TRACE(name);
    EXPECT_CODE(store_->replay(name, 1, request), Code::kNotFound);
  }
  repositories::RebuildRequest zero = request;
  zero.batch_size = 0;
  auto refused = store_->rebuild(zero);
  EXPECT_CODE(refused, Code::kInvalidArgument);
  EXPECT_EQ(refused.status().subject(), "batch_size");
  repositories::RebuildRequest huge = request;
  huge.batch_size = size_t{1} << 40;
  EXPECT_CODE(store_->check_rebuild(huge), Code::kInvalidArgument);

  // An interrupted rebuild leaves the live schema as it was.
  repositories::RebuildRequest interrupted = request;
  interrupted.progress = [](const projections::Progress&) { return false; };
  EXPECT_CODE(store_->rebuild(interrupted), Code::kUnavailable);
  EXPECT_OK(store_->discard_rebuild(request));

  auto after = tables();
  ASSERT_EQ(before.size(), after.size());
  for (const auto& [table, contents] : before) {
    EXPECT_EQ(after[table].digest, contents.digest) << table;
  }
  if (GetParam() == testing::Backend::kPostgres) {
    // PostgreSQL: without a superuser URL the rebuild is refused.
    EXPECT_FALSE(store_->rebuild({}).is_ok());
    EXPECT_OK(store_->tokens().get_by_prefix("bodhiapp_org-a-1"));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, RebuildTest,
                         ::testing::Values(testing::Backend::kSqlite, testing::Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace annals

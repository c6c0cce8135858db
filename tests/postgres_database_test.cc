// The PostgreSQL backend's own behaviour: error mapping, pooled connections
// that break (URL handling is in postgres_url_test.cc).
#include <gtest/gtest.h>

#include <map>

#include <pqxx/pqxx>

#include "projections/database.h"
#include "projections/postgres_setup.h"
#include "tests/test_support.h"

namespace annals::db {
namespace {

TEST(PostgresDatabase, AnUnreachableServerIsUnavailable) {
  // Port 1 on loopback: nothing listens there.
  auto r = Database::open("postgres://annals_query:topsecret@127.0.0.1:1/none?connect_timeout=2");
  EXPECT_CODE(r, Code::kUnavailable);
  EXPECT_TRUE(r.status().retryable());
  EXPECT_EQ(r.status().message().find("topsecret"), std::string::npos) << r.status().message();
}

class PostgresDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ANNALS_SETUP_BACKEND(db_, annals::testing::Backend::kPostgres, dir_);
    ASSERT_OK(setup_postgres(db_->url(), std::nullopt, clock_));
    DatabaseOptions admin;
    admin.require_unprivileged = false;
    admin.pool_size = 1;
    auto opened = Database::open(db_->url(), admin);
    ASSERT_OK(opened);
    database_ = std::move(opened).value();
    auto txn = database_->begin(Access::kWrite);
    ASSERT_OK(txn);
    ASSERT_OK(
        (*txn)->execute_script("CREATE TABLE public.t (k TEXT PRIMARY KEY, n BIGINT, b BOOLEAN)"));
    ASSERT_OK((*txn)->commit());
  }

  annals::testing::TempDir dir_;
  std::unique_ptr<annals::testing::TestDatabase> db_;
  ManualClock clock_{from_micros(0)};
  std::unique_ptr<Database> database_;
};

TEST_F(PostgresDatabaseTest, ValuesRoundTripWithTheirTypes) {
  auto txn = database_->begin(Access::kWrite);
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->execute("INSERT INTO public.t (k, n, b) VALUES ($1, $2, $3)",
                            {std::string("it's \"quoted\" 🎉"), int64_t{-9'000'000'000'000}, true}));
  ASSERT_OK((*txn)->execute("INSERT INTO public.t (k, n, b) VALUES ($1, $2, $3)",
                            {std::string("nulls"), Null{}, Null{}}));
  auto rows = (*txn)->query("SELECT k, n, b FROM public.t ORDER BY k");
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].text(0), "it's \"quoted\" 🎉");
  EXPECT_EQ((*rows)[0].i64(1), -9'000'000'000'000);
  EXPECT_TRUE((*rows)[0].boolean(2));
  EXPECT_TRUE((*rows)[1].is_null(1));
  EXPECT_TRUE((*rows)[1].is_null(2));
}

// Deferred statements travel as literals in one round trip: every hostile
// value must arrive byte for byte, in order, and an error must surface.
TEST_F(PostgresDatabaseTest, DeferredStatementsKeepValuesOrderAndErrors) {
  const std::vector<std::string> hostile = {"it's",
                                            "back\\slash \\' quote",
                                            "$1 $2 and $$dollar$$ quotes",
                                            "'; DROP TABLE public.t; --",
                                            "e'\\x41'",
                                            "tab\there\nnewline",
                                            "🎉 ünïcödé",
                                            "",
                                            std::string(5000, 'x')};
  {
    auto txn = database_->begin(Access::kWrite);
    ASSERT_OK(txn);
    for (size_t i = 0; i < hostile.size(); ++i) {
      ASSERT_OK((*txn)->execute_deferred("INSERT INTO public.t (k, n, b) VALUES ($1, $2, $3)",
                                         {hostile[i], int64_t(i) - 4, i % 2 == 0}));
    }
    // Order: the update runs after the inserts it follows.
    ASSERT_OK((*txn)->execute_deferred("UPDATE public.t SET n = $2 WHERE k = $1",
                                       {hostile[0], int64_t{-9'000'000'000'000}}));
    ASSERT_OK((*txn)->execute_deferred("INSERT INTO public.t (k, n) VALUES ('literal $1 kept', $1)",
                                       {int64_t{7}}));
    ASSERT_OK((*txn)->commit());
  }
  {
    auto txn = database_->begin(Access::kRead);
    ASSERT_OK(txn);
    auto rows = (*txn)->query("SELECT k, n, b FROM public.t");
    ASSERT_OK(rows);
    ASSERT_EQ(rows->size(), hostile.size() + 1);
    std::map<std::string, const Row*> by_key;
    for (const auto& r : *rows) by_key[r.text(0)] = &r;
    for (size_t i = 0; i < hostile.size(); ++i) {
      ASSERT_TRUE(by_key.count(hostile[i])) << hostile[i];
      EXPECT_EQ(by_key[hostile[i]]->i64(1), i == 0 ? -9'000'000'000'000 : int64_t(i) - 4);
      EXPECT_EQ(by_key[hostile[i]]->boolean(2), i % 2 == 0);
    }
    ASSERT_TRUE(by_key.count("literal $1 kept"));
    EXPECT_EQ(by_key["literal $1 kept"]->i64(1), 7);
  }

  // An error in a deferred statement fails the next call, and the
  // transaction changes nothing.
  {
    auto w = database_->begin(Access::kWrite);
    ASSERT_OK(w);
    ASSERT_OK((*w)->execute_deferred("INSERT INTO public.t (k) VALUES ($1)", {std::string("new")}));
    ASSERT_OK((*w)->execute_deferred("INSERT INTO public.t (k) VALUES ($1)", {hostile[0]}));
    EXPECT_CODE((*w)->commit(), Code::kConflict);
  }
  {
    auto after = database_->begin(Access::kRead);
    ASSERT_OK(after);
    auto count = (*after)->query("SELECT count(*) FROM public.t");
    ASSERT_OK(count);
    EXPECT_EQ((*count)[0].i64(0), static_cast<int64_t>(hostile.size() + 1));
  }
  auto w = database_->begin(Access::kWrite);
  ASSERT_OK(w);
  EXPECT_CODE((*w)->execute_deferred("INSERT INTO public.t (k) VALUES ($2)", {std::string("x")}),
              Code::kInternal);
}

TEST_F(PostgresDatabaseTest, UniqueViolationIsConflict) {
  auto txn = database_->begin(Access::kWrite);
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->execute("INSERT INTO public.t (k) VALUES ($1)", {std::string("a")}));
  auto again = (*txn)->execute("INSERT INTO public.t (k) VALUES ($1)", {std::string("a")});
  EXPECT_CODE(again, Code::kConflict);
  EXPECT_FALSE(again.status().retryable());
}

TEST_F(PostgresDatabaseTest, UncommittedWorkRollsBack) {
  {
    auto txn = database_->begin(Access::kWrite);
    ASSERT_OK(txn);
    ASSERT_OK((*txn)->execute("INSERT INTO public.t (k) VALUES ($1)", {std::string("gone")}));
  }
  auto txn = database_->begin(Access::kRead);
  ASSERT_OK(txn);
  auto rows = (*txn)->query("SELECT count(*) FROM public.t");
  ASSERT_OK(rows);
  EXPECT_EQ((*rows)[0].i64(0), 0);
}

TEST_F(PostgresDatabaseTest, AnIdleConnectionThatDiedIsReplacedAtBegin) {
  int64_t pid = 0;
  {
    auto txn = database_->begin(Access::kRead);
    ASSERT_OK(txn);
    auto rows = (*txn)->query("SELECT pg_backend_pid()");
    ASSERT_OK(rows);
    pid = (*rows)[0].i64(0);
  }
  {
    // The server ends the pooled connection behind our back.
    pqxx::connection killer(db_->url());
    pqxx::nontransaction tx(killer);
    tx.exec_params("SELECT pg_terminate_backend($1)", pid);
  }
  // Nothing had run on it yet: begin() drops it and connects anew.
  auto txn = database_->begin(Access::kRead);
  ASSERT_OK(txn);
  auto rows = (*txn)->query("SELECT pg_backend_pid()");
  ASSERT_OK(rows);
  EXPECT_NE((*rows)[0].i64(0), pid);
}

TEST_F(PostgresDatabaseTest, AConnectionDroppedMidTransactionIsUnavailableAndTheNextReconnects) {
  int64_t pid = 0;
  auto failed = [&]() -> Status {
    auto txn = database_->begin(Access::kRead);
    if (!txn.is_ok()) return txn.status();
    auto rows = (*txn)->query("SELECT pg_backend_pid()");
    if (!rows.is_ok()) return rows.status();
    pid = (*rows)[0].i64(0);
    {
      pqxx::connection killer(db_->url());
      pqxx::nontransaction tx(killer);
      tx.exec_params("SELECT pg_terminate_backend($1)", pid);
    }
    return (*txn)->query("SELECT 1").status();
  }();
  EXPECT_CODE(failed, Code::kUnavailable);
  EXPECT_TRUE(failed.retryable());

  auto txn = database_->begin(Access::kRead);
  ASSERT_OK(txn);
  auto rows = (*txn)->query("SELECT pg_backend_pid()");
  ASSERT_OK(rows);
  EXPECT_NE((*rows)[0].i64(0), pid);
}

TEST_F(PostgresDatabaseTest, SqlErrorsAreReportedWithTheStatement) {
  auto txn = database_->begin(Access::kRead);
  ASSERT_OK(txn);
  auto r = (*txn)->query("SELECT no_such_column FROM public.t");
  EXPECT_CODE(r, Code::kInternal);
  EXPECT_NE(r.status().message().find("no_such_column"), std::string::npos);
}

// A deferred statement's text holds its values as literals: when the batch
// fails, the error names the statements by verb and table, never by text.
TEST_F(PostgresDatabaseTest, AFailedDeferredStatementIsNamedWithoutItsValues) {
  const std::string secret = "sk-live-Do-Not-Echo-7f3a9c";
  {
    auto txn = database_->begin(Access::kWrite);
    ASSERT_OK(txn);
    ASSERT_OK((*txn)->execute_script(
        "ALTER TABLE public.t ADD CONSTRAINT t_short CHECK (length(k) < 10)"));
    ASSERT_OK((*txn)->commit());
  }
  auto txn = database_->begin(Access::kWrite);
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->execute_deferred("INSERT INTO public.t (k, n) VALUES ($1, $2)",
                                     {std::string("ok"), int64_t{1}}));
  ASSERT_OK((*txn)->execute_deferred("UPDATE public.t SET k = $1 WHERE k = $2",
                                     {secret, std::string("ok")}));
  Status failed = (*txn)->commit();
  ASSERT_FALSE(failed.is_ok());
  const std::string message = failed.to_string();
  EXPECT_EQ(message.find(secret), std::string::npos) << message;
  EXPECT_EQ(message.find("sk-live"), std::string::npos) << message;
  EXPECT_NE(message.find("t_short"), std::string::npos) << message;  // what failed
  EXPECT_NE(message.find("2 deferred statements: INSERT INTO public.t, UPDATE public.t"),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace annals::db

// PostgreSQL setup and least privilege: setup runs only when asked; a
// database never set up is refused with what to do.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "projections/postgres_setup.h"
#include "repositories/store.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using repositories::Store;
using repositories::StoreOptions;
using testing::TempDir;

std::string query_one(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  pqxx::result r = tx.exec(sql);
  return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].c_str();
}

void exec(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

// Setup is never implied: a superuser URL of a database never set up opens
// nothing and creates nothing, and says what to run.
TEST(PgSetup, ADatabaseNeverSetUpIsRefusedWithWhatToRun) {
  TempDir dir;
  std::unique_ptr<testing::TestDatabase> db;
  ANNALS_SETUP_BACKEND(db, testing::Backend::kPostgres, dir);
  const std::string schemas = "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'annals%'";
  ASSERT_EQ(query_one(db->url(), schemas), "0");

  ManualClock clock{from_micros(0)};
  StoreOptions options;
  options.data_dir = dir.path();
  options.database_url = db->url();
  options.clock = &clock;
  auto store = Store::open(options);
  ASSERT_FALSE(store.is_ok());
  EXPECT_NE(store.status().message().find("annals setup"), std::string::npos)
      << store.status().to_string();
  auto reader = repositories::open_postgres_read_only(db->url(), clock);
  ASSERT_FALSE(reader.is_ok());
  EXPECT_NE(reader.status().message().find("annals setup"), std::string::npos)
      << reader.status().to_string();
  EXPECT_EQ(query_one(db->url(), schemas), "0");
}

// A read that meets a missing table (a database set up by hand, or half
// set up) says what to run, not only what PostgreSQL said.
TEST(PgSetup, ARepositoryReadOfAMissingTableNamesSetup) {
  TempDir dir;
  std::unique_ptr<testing::TestDatabase> db;
  ANNALS_SETUP_BACKEND(db, testing::Backend::kPostgres, dir);
  ManualClock clock{from_micros(0)};
  StoreOptions options;
  options.data_dir = dir.path();
  options.database_url = db->url();
  options.setup_database = true;
  options.clock = &clock;
  auto store = Store::open(options);
  ASSERT_OK(store);
  exec(db->url(), "DROP TABLE annals.settings CASCADE");
  auto got = (*store)->settings().get("acme", "theme");
  ASSERT_FALSE(got.is_ok());
  EXPECT_NE(got.status().message().find("annals setup"), std::string::npos)
      << got.status().to_string();
}

}  // namespace
}  // namespace annals

// Runs the annals binary against PostgreSQL the way a user does: setup,
// then demo, status and verify as the runtime roles; status and verify
// change nothing in the catalog, and on a server never set up they say to
// run setup.
#include <gtest/gtest.h>

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "tests/cli_support.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using annals::testing::annals;
using annals::testing::CliRun;
using annals::testing::TempDir;

TEST(Cli, SetupDemoStatusAndVerifyOnPostgres) {
  TempDir dir;
  std::unique_ptr<testing::TestDatabase> db;
  ANNALS_SETUP_BACKEND(db, testing::Backend::kPostgres, dir);
  const std::string url = db->url();  // a superuser URL

  CliRun setup = annals("setup --database '" + url + "'");
  ASSERT_EQ(setup.exit_code, 0) << setup.out;
  EXPECT_NE(setup.out.find("annals_query"), std::string::npos) << setup.out;
  CliRun again = annals("setup --database '" + url + "'");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("0 migrations applied"), std::string::npos) << again.out;

  // Given the privileged URL, the demo serves as the runtime roles.
  CliRun demo =
      annals("demo --data " + dir.sub("data") + " --database '" + url + "' --commands 300");
  ASSERT_EQ(demo.exit_code, 0) << demo.out;
  EXPECT_NE(demo.out.find("postgres://annals_query@"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find("postgres://annals_projector@"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find("token by prefix"), std::string::npos) << demo.out;

  const std::string as_query = db->url_as("annals_query");
  CliRun status = annals("status --data " + dir.sub("data") + " --database '" + as_query + "'");
  ASSERT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("tokens"), std::string::npos) << status.out;
  EXPECT_EQ(annals("verify --data " + dir.sub("data") + " --database '" + as_query + "'").exit_code,
            0);

  // The runtime role can neither set up nor be mistaken for a privileged one.
  CliRun refused = annals("setup --database '" + as_query + "'");
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("superuser"), std::string::npos) << refused.out;
  CliRun sqlite_setup = annals("setup --database sqlite:/tmp/x.sqlite");
  EXPECT_EQ(sqlite_setup.exit_code, 2) << sqlite_setup.out;
}

// What setup decides in a database's catalog: the Annals roles with their
// attributes and password verifiers, the schemas with their owners and
// grants, and the migration record.
std::string catalog(const std::string& url) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  std::string out;
  auto add = [&](const std::string& sql) {
    for (const auto& row : tx.exec(sql)) {
      for (const auto& field : row) out += std::string(field.is_null() ? "-" : field.c_str()) + " ";
      out += "\n";
    }
  };
  add("SELECT rolname, rolsuper, rolbypassrls, rolcanlogin, rolinherit, rolpassword"
      " FROM pg_authid WHERE rolname IN ('annals_owner', 'annals_query', 'annals_projector')"
      " ORDER BY rolname");
  add("SELECT nspname, nspowner::regrole::text, nspacl::text FROM pg_namespace ORDER BY nspname");
  if (tx.exec("SELECT to_regclass('annals_meta.annals_migrations')")[0][0].is_null()) return out;
  add("SELECT version, checksum, applied_at FROM annals_meta.annals_migrations ORDER BY version");
  return out;
}

// The read-only commands change nothing, even given a superuser URL and a
// runtime password (which setup would set, locking out an app that uses
// the old one).
TEST(Cli, StatusAndVerifyGivenASuperuserUrlChangeNothing) {
  TempDir dir;
  std::unique_ptr<testing::TestDatabase> db;
  ANNALS_SETUP_BACKEND(db, testing::Backend::kPostgres, dir);
  const std::string url = db->url();
  const std::string data = dir.sub("data");
  // The test server trusts every login: passwords are stored, not checked.
  CliRun demo = annals("demo --data " + data + " --database '" + url + "' --commands 50",
                       "ANNALS_RUNTIME_PASSWORD=first");
  ASSERT_EQ(demo.exit_code, 0) << demo.out;
  EXPECT_NE(demo.out.find("setup          ran through"), std::string::npos) << demo.out;
  const std::string before = catalog(url);
  ASSERT_NE(before.find("SCRAM-SHA-256$"), std::string::npos) << before;
  for (const char* command : {"status", "verify"}) {
    CliRun run = annals(std::string(command) + " --data " + data + " --database '" + url + "'",
                        "ANNALS_RUNTIME_PASSWORD=second");
    EXPECT_EQ(run.exit_code, 0) << command << ": " << run.out;
    EXPECT_EQ(catalog(url), before) << command << " changed the catalog";
  }
}

// On a server where Annals was never set up, status and verify say to run
// setup, and create no role and no schema.
TEST(Cli, StatusAndVerifyOnADatabaseNeverSetUpSayToRunSetup) {
  testing::PrivatePgServer server;
  if (server.url().empty()) {
    if (testing::running_in_ci()) FAIL() << server.why();
    GTEST_SKIP() << "*** PostgreSQL unavailable: " << server.why();
  }
  TempDir dir;
  const std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --data " + data + " --commands 20").exit_code, 0);  // a journal
  const std::string before = catalog(server.url());
  for (const char* command : {"status", "verify"}) {
    CliRun run =
        annals(std::string(command) + " --data " + data + " --database '" + server.url() + "'");
    EXPECT_EQ(run.exit_code, 1) << command << ": " << run.out;
    EXPECT_NE(run.out.find("run `annals setup"), std::string::npos) << command << ": " << run.out;
    EXPECT_EQ(catalog(server.url()), before) << command << " changed the catalog";
  }
  EXPECT_EQ(before.find("annals"), std::string::npos) << before;
}

}  // namespace
}  // namespace annals

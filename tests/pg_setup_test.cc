// PostgreSQL setup and least privilege: setup runs only when asked, sends
// passwords only as SCRAM verifiers, and brings roles that already exist to
// Annals' attributes; a database never set up is refused with what to do.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "projections/postgres_setup.h"
#include "projections/postgres_url.h"
#include "repositories/operator.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using repositories::Store;
using repositories::StoreOptions;
using testing::PrivatePgServer;
using testing::TempDir;

#define ANNALS_REQUIRE_SERVER(server)                                   \
  do {                                                                  \
    if ((server).url().empty()) {                                       \
      if (testing::running_in_ci()) FAIL() << (server).why();           \
      GTEST_SKIP() << "*** PostgreSQL unavailable: " << (server).why(); \
    }                                                                   \
  } while (0)

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

// Sets server parameters and waits until new sessions see them.
void configure(const std::string& url, const std::string& name, const std::string& value) {
  exec(url, "ALTER SYSTEM SET " + name + " = '" + value + "'");
  exec(url, "SELECT pg_reload_conf()");
  for (int i = 0; i < 100 && query_one(url, "SHOW " + name) != value; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(query_one(url, "SHOW " + name), value);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(PgSetup, RuntimePasswordsAreSentOnlyAsScramVerifiers) {
  PrivatePgServer server;
  ANNALS_REQUIRE_SERVER(server);
  const std::string url = server.url();
  const std::string password = "Plain-Text-Password-4242";
  // Every statement is logged, and a password the server had to hash would
  // become an md5 one.
  configure(url, "log_statement", "all");
  configure(url, "password_encryption", "md5");
  // The query role logs in by password (the others keep trust).
  const std::string hba = query_one(url, "SHOW hba_file");
  const std::string rules = read_file(hba);
  ASSERT_FALSE(rules.empty()) << hba;
  {
    std::ofstream out(hba, std::ios::trunc);
    out << "host all annals_query 127.0.0.1/32 scram-sha-256\n" << rules;
  }
  exec(url, "SELECT pg_reload_conf()");

  ManualClock clock{from_micros(0)};
  ASSERT_OK(db::setup_postgres(url, password, clock));

  for (const char* role : {db::kQueryRole, db::kProjectorRole}) {
    std::string stored = query_one(
        url, std::string("SELECT rolpassword FROM pg_authid WHERE rolname = '") + role + "'");
    EXPECT_EQ(stored.rfind("SCRAM-SHA-256$", 0), 0u) << role << ": " << stored;
  }
  const std::string log = read_file(query_one(url, "SHOW data_directory") + "/server.log");
  EXPECT_NE(log.find("PASSWORD 'SCRAM-SHA-256$"), std::string::npos)
      << "the statement log should hold the setup's ALTER ROLE";
  EXPECT_EQ(log.find(password), std::string::npos) << "the plaintext password was sent";

  // The verifier is the password's: the role logs in with it, and only with it.
  EXPECT_NO_THROW(pqxx::connection(db::url_with_user(url, db::kQueryRole, password)));
  EXPECT_THROW(pqxx::connection(db::url_with_user(url, db::kQueryRole, std::string("wrong"))),
               pqxx::broken_connection);
}

TEST(PgSetup, RolesThatExistWithOtherAttributesAreBroughtIntoLine) {
  PrivatePgServer server;
  ANNALS_REQUIRE_SERVER(server);
  const std::string url = server.url();
  exec(url, "CREATE ROLE annals_owner LOGIN SUPERUSER CREATEDB CREATEROLE REPLICATION NOBYPASSRLS");
  exec(url, "CREATE ROLE annals_query LOGIN REPLICATION NOINHERIT");

  ManualClock clock{from_micros(0)};
  auto report = db::setup_postgres(url, std::nullopt, clock);
  ASSERT_OK(report);
  const auto& corrected = report->corrected_roles;
  EXPECT_NE(std::find(corrected.begin(), corrected.end(), "annals_owner"), corrected.end());
  EXPECT_NE(std::find(corrected.begin(), corrected.end(), "annals_query"), corrected.end());
  EXPECT_EQ(
      query_one(url,
                "SELECT rolcanlogin::text || rolsuper || rolcreatedb || rolcreaterole ||"
                " rolreplication || rolbypassrls FROM pg_roles WHERE rolname = 'annals_owner'"),
      "falsefalsefalsefalsefalsetrue");
  EXPECT_EQ(query_one(url,
                      "SELECT rolcanlogin::text || rolsuper || rolreplication || rolbypassrls"
                      " FROM pg_roles WHERE rolname = 'annals_query'"),
            "truefalsefalsefalse");

  // Nothing left to correct, and the store serves as the runtime roles.
  auto again = db::setup_postgres(url, std::nullopt, clock);
  ASSERT_OK(again);
  EXPECT_TRUE(again->corrected_roles.empty());
  TempDir dir;
  StoreOptions options;
  options.data_dir = dir.path();
  options.database_url = url;
  options.clock = &clock;
  EXPECT_OK(Store::open(options));
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

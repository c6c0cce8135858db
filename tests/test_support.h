// Helpers shared by the tests: temporary folders and status matchers.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "annals/status.h"
#include "journal/journal.h"

namespace annals::journal {
class Journal;
}

namespace annals::testing {

// Fails the test unless the journal's reservations are exactly those its
// events imply by the repositories' rules (what annals verify checks). The
// repository tests call it before closing their store, so every operation
// they make is held to it.
void expect_reservations_follow_the_events(journal::Journal& journal);

// The source tree's tests/ folder, where the committed fixtures and corpora
// live (an absolute path fixed at build time, wherever the test runs).
std::string tests_source_dir();

// A fresh folder under the system temp dir, removed when the object dies
// (kept when ANNALS_KEEP_TEST_DIRS is set, for post-mortems).
class TempDir {
 public:
  TempDir();
  explicit TempDir(const std::string& parent);  // under `parent` instead
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace annals::testing

#define ASSERT_OK(expr)                                                                \
  do {                                                                                 \
    const auto& annals_s_ = (expr);                                                    \
    ASSERT_TRUE(annals_s_.is_ok()) << #expr << ": " << annals_s_.status().to_string(); \
  } while (0)

#define EXPECT_OK(expr)                                                                \
  do {                                                                                 \
    const auto& annals_s_ = (expr);                                                    \
    EXPECT_TRUE(annals_s_.is_ok()) << #expr << ": " << annals_s_.status().to_string(); \
  } while (0)

// Asserts that a Status or Result failed with the given Code.
#define EXPECT_CODE(expr, expected_code)                        \
  do {                                                          \
    const auto& annals_s_ = (expr);                             \
    EXPECT_EQ(annals_s_.status().code(), (expected_code))       \
        << #expr << " gave " << annals_s_.status().to_string(); \
  } while (0)

namespace annals::testing {

// The read-database backends every backend-independent test body runs on.
enum class Backend { kSqlite, kPostgres };
std::string backend_name(Backend backend);
inline void PrintTo(Backend backend, std::ostream* os) { *os << backend_name(backend); }
inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return backend_name(info.param);
}

// The PostgreSQL server tests use: $ANNALS_TEST_PG_URL (a superuser URL);
// else the one ctest's fixture started for the run (its URL in the file
// $ANNALS_TEST_PG_URL_FILE, see tests/pg_fixture); else a throwaway server
// this process starts (scripts/pg-test-server) and stops at exit. Empty when none can be had; `why`
// then says why.
std::string pg_server_url(std::string* why);

// A fresh, empty read database for one test. For PostgreSQL, a new database
// on the test server, dropped again by the destructor.
class TestDatabase {
 public:
  // Fails the test when PostgreSQL is missing under CI=true; otherwise the
  // caller skips (see ANNALS_SETUP_BACKEND).
  static std::unique_ptr<TestDatabase> create(Backend backend, const TempDir& dir,
                                              std::string* why);
  ~TestDatabase();

  Backend backend() const { return backend_; }
  // What a Store is given: for PostgreSQL, a superuser URL of the new
  // database (with StoreOptions::setup_database the Store runs setup first;
  // it then serves as the runtime roles).
  const std::string& url() const { return url_; }
  // PostgreSQL: the same database as a given role (no password: trust auth).
  std::string url_as(const std::string& role) const;

 private:
  TestDatabase() = default;
  Backend backend_ = Backend::kSqlite;
  std::string url_;
  std::string admin_url_;  // PostgreSQL: the server's superuser URL (another db)
  std::string name_;
};

// A PostgreSQL server of one test's own (scripts/pg-test-server), for faults
// a shared server must not see, such as a restart. url() (a superuser URL)
// is empty, and why() says why, when none could be started.
class PrivatePgServer {
 public:
  PrivatePgServer();
  ~PrivatePgServer();
  PrivatePgServer(const PrivatePgServer&) = delete;
  PrivatePgServer& operator=(const PrivatePgServer&) = delete;
  const std::string& url() const { return url_; }
  const std::string& why() const { return why_; }
  // Stops the server (fast: every session is cut) and starts it again on the
  // same port; false (why() says why) when it did not come back.
  bool restart();

 private:
  std::string dir_;
  std::string url_;
  std::string why_;
};

// True when CI=true: a missing PostgreSQL is then a failure, never a skip.
bool running_in_ci();

}  // namespace annals::testing

// In SetUp(): `ANNALS_SETUP_BACKEND(db_, GetParam(), dir_);` makes db_ a fresh
// TestDatabase, or skips the test (fails it under CI=true) without PostgreSQL.
#define ANNALS_SETUP_BACKEND(db_var, backend, dir)                                    \
  do {                                                                                \
    std::string annals_why_;                                                          \
    db_var = ::annals::testing::TestDatabase::create((backend), (dir), &annals_why_); \
    if (!db_var) {                                                                    \
      if (::annals::testing::running_in_ci()) {                                       \
        FAIL() << "PostgreSQL is required under CI=true: " << annals_why_;            \
      }                                                                               \
      GTEST_SKIP() << "*** PostgreSQL unavailable, test skipped: " << annals_why_;    \
    }                                                                                 \
  } while (0)

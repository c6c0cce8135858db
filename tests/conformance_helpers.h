// What every repository test shares: one fixture (a Store over a fresh data
// folder and a fresh read database, SQLite or PostgreSQL under row-level
// security, with a frozen clock), status checks that name the rule or field,
// a check that a refused call appended nothing, and a race of N threads
// released at once.
#pragma once

#include <gtest/gtest.h>

#include <barrier>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "annals/store.h"
#include "events/event.h"
#include "journal/journal.h"
#include "repositories/operator.h"
#include "tests/test_support.h"

namespace annals::testing {

// 2026-01-01T00:00:00Z, where every fixture's clock starts.
inline const Timestamp kFixtureStart = from_micros(1'767'225'600'000'000);

// The status must have `code` and, when `subject` is not empty, name it.
inline void expect_status(const Status& s, Code code, const std::string& subject,
                          const std::string& what) {
  EXPECT_EQ(s.code(), code) << what << ": " << s.to_string();
  if (!subject.empty()) {
    EXPECT_EQ(s.subject(), subject) << what << ": " << s.to_string();
  }
}

// The status must be kInvalidArgument naming `field`.
inline void expect_invalid(const Status& s, const std::string& field, const std::string& what) {
  expect_status(s, Code::kInvalidArgument, field, what);
}

// The status must be kConflict naming `rule`.
inline void expect_conflict(const Status& s, const std::string& rule, const std::string& what) {
  expect_status(s, Code::kConflict, rule, what);
}

// Runs fn(0..n-1) on n threads released at once. Each call must succeed or be
// a conflict naming `rule`; returns the indexes of the calls that succeeded.
inline std::vector<int> race(const std::string& rule, int n, const std::function<Status(int)>& fn) {
  std::barrier start(n);
  std::vector<Status> results(n);
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      results[t] = fn(t);
    });
  }
  for (auto& th : threads) th.join();
  std::vector<int> winners;
  for (int t = 0; t < n; ++t) {
    if (results[t].is_ok()) {
      winners.push_back(t);
    } else {
      expect_conflict(results[t], rule, "thread " + std::to_string(t));
    }
  }
  return winners;
}

// Checks, when it goes out of scope, that the journal's head has not moved
// since it was made: whatever was refused in between wrote nothing.
class NothingAppended {
 public:
  NothingAppended(journal::Journal& journal, std::string what)
      : journal_(journal), what_(std::move(what)), before_(journal.head()) {}
  NothingAppended(const NothingAppended&) = delete;
  NothingAppended& operator=(const NothingAppended&) = delete;
  ~NothingAppended() { EXPECT_EQ(journal_.head(), before_) << what_ << " appended events"; }

 private:
  journal::Journal& journal_;
  std::string what_;
  uint64_t before_;
};

// The fixture of the repository tests: every test body runs on SQLite and on
// PostgreSQL (under row-level security); TearDown checks that the journal's
// reservations follow from its events. A test changes options() (master key,
// projector mode) and calls open() again to reopen the same data folder.
class RepositoryTest : public ::testing::TestWithParam<Backend> {
 protected:
  using Store = repositories::Store;
  using StoreOptions = repositories::StoreOptions;

  void SetUp() override {
    ANNALS_SETUP_BACKEND(db_, GetParam(), dir_);
    options_.data_dir = dir_.path();
    options_.database_url = db_->url();
    options_.setup_database = true;  // a superuser URL: set it up first
    options_.clock = &clock_;
    configure(options_);
    open();
  }

  void TearDown() override {
    if (store_) expect_reservations_follow_the_events(journal());
    close();
  }

  // Called once before the first open(): a fixture sets its options here.
  virtual void configure(StoreOptions& /*options*/) {}
  // Called after every successful open(): a fixture builds what it keeps on
  // top of the store here.
  virtual void opened() {}
  // Drops what opened() built and the store.
  virtual void close() { store_.reset(); }

  StoreOptions& options() { return options_; }

  // (Re)opens the store over the data folder with options().
  void open() {
    close();
    auto store = Store::open(options_);
    ASSERT_OK(store);
    store_ = std::move(store).value();
    opened();
  }

  // Reopens the store on a new, empty read database: the projections rebuild
  // every row from the journal.
  void rebuild_from_journal() {
    if (GetParam() == Backend::kSqlite) {
      options_.database_url =
          "sqlite:" + dir_.sub("rebuilt-" + std::to_string(++rebuilds_) + ".sqlite");
    } else {
      std::string why;
      rebuilt_dbs_.push_back(TestDatabase::create(GetParam(), dir_, &why));
      ASSERT_TRUE(rebuilt_dbs_.back()) << why;
      options_.database_url = rebuilt_dbs_.back()->url();
    }
    open();
  }

  Store& store() { return *store_; }
  journal::Journal& journal() { return store_->internals().journal(); }
  uint64_t head() { return journal().head(); }

  // A guard that fails the test if anything is appended while it lives.
  NothingAppended nothing_appended(std::string what = "a refused call") {
    return NothingAppended(journal(), std::move(what));
  }

  // Every event in the journal, in order.
  std::vector<events::Event> journalled() {
    auto events = journal().read(1, 100000);
    EXPECT_OK(events);
    if (!events.is_ok()) return {};
    return std::move(events).value();
  }

  TempDir dir_;
  std::unique_ptr<TestDatabase> db_;
  ManualClock clock_{kFixtureStart};
  std::unique_ptr<Store> store_;

 private:
  StoreOptions options_;
  std::vector<std::unique_ptr<TestDatabase>> rebuilt_dbs_;
  int rebuilds_ = 0;
};

}  // namespace annals::testing

// The call's status must be `code` naming `subject` ("" for any), and the
// call must append nothing. Inside a RepositoryTest.
#define EXPECT_REFUSED(expr, code, subject)                                      \
  do {                                                                           \
    const auto annals_guard_ = nothing_appended(#expr);                          \
    ::annals::testing::expect_status((expr).status(), (code), (subject), #expr); \
  } while (0)

// kInvalidArgument naming `field`; a failure shows the call.
#define EXPECT_INVALID(expr, field) \
  ::annals::testing::expect_invalid((expr).status(), (field), #expr)

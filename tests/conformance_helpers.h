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
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "annals/store.h"
#include "events/event.h"
#include "journal/journal.h"
#include "repositories/context.h"
#include "repositories/operator.h"
#include "tests/test_support.h"

namespace annals {

// Failed checks print a status code by its name.
inline void PrintTo(Code code, std::ostream* os) { *os << code_name(code); }

}  // namespace annals

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

// Valid text that a careless store would mangle: quotes, SQL against `table`,
// LIKE wildcards, multi-byte UTF-8, line breaks, a backslash, a placeholder
// and padding. Each must round-trip byte for byte. `more` is added at the end.
inline std::vector<std::string> hostile_text(const std::string& table,
                                             std::vector<std::string> more = {}) {
  std::vector<std::string> text = {"it's",
                                   "\"double\"",
                                   "'; DROP TABLE " + table + "; --",
                                   "%",
                                   "_",
                                   "100%_off",
                                   "emoji 🎉👩‍💻",
                                   "line1\nline2\r\n",
                                   "back\\slash",
                                   "$1",
                                   " padded "};
  text.insert(text.end(), more.begin(), more.end());
  return text;
}

// `page`, a listed page, must be read and hold no rows, of `total` in all.
template <typename PageResult>
void expect_empty_page(const PageResult& page, int64_t total, const std::string& what) {
  ASSERT_TRUE(page.is_ok()) << what << ": " << page.status().to_string();
  EXPECT_TRUE(page->rows.empty()) << what;
  EXPECT_EQ(page->total, total) << what;
}

// The ids of `rows`, in order.
template <typename Row>
auto ids_of(const std::vector<Row>& rows) {
  std::vector<std::decay_t<decltype(rows.front().id)>> out;
  for (const auto& r : rows) out.push_back(r.id);
  return out;
}

// Runs fn(0..n-1) on n threads released at once, and waits for them all.
inline void run_together(int n, const std::function<void(int)>& fn) {
  std::barrier start(n);
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      fn(t);
    });
  }
  for (auto& th : threads) th.join();
}

// Runs fn(0..n-1) on n threads released at once. Each call must succeed or be
// a conflict naming `rule`; returns the indexes of the calls that succeeded.
inline std::vector<int> race(const std::string& rule, int n, const std::function<Status(int)>& fn) {
  std::vector<Status> results(n);
  run_together(n, [&](int t) { results[t] = fn(t); });
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

  // One call of concurrent_rounds(): the thread that made it and its round.
  struct RoundCall {
    int thread;
    int round;
  };
  struct RoundsOutcome {
    std::vector<RoundCall> succeeded;  // in the order they returned
    int retryable = 0;
  };

  // Runs `rounds` rounds of fn(thread, round) on `threads` threads released
  // together in each round: concurrent writers of one row. Each call must
  // succeed or be a retryable kConcurrencyConflict, each round must have a
  // winner (the first write to reach the journal), and each success must
  // append one event.
  RoundsOutcome concurrent_rounds(int threads, int rounds,
                                  const std::function<Status(int thread, int round)>& fn) {
    const uint64_t before = head();
    std::barrier round_start(threads);
    std::mutex mu;
    RoundsOutcome outcome;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int i = 0; i < rounds; ++i) {
          round_start.arrive_and_wait();
          const Status s = fn(t, i);
          std::lock_guard lock(mu);
          if (s.is_ok()) {
            outcome.succeeded.push_back({t, i});
          } else if (s.code() == Code::kConcurrencyConflict && s.retryable()) {
            ++outcome.retryable;
          } else {
            ADD_FAILURE() << "thread " << t << ", round " << i << ": " << s.to_string();
          }
        }
      });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(static_cast<int>(outcome.succeeded.size()) + outcome.retryable, threads * rounds);
    EXPECT_GE(outcome.succeeded.size(), static_cast<size_t>(rounds));
    EXPECT_EQ(head(), before + outcome.succeeded.size());
    return outcome;
  }

  // race() of n writers of one unique value: exactly one wins and appends one
  // event, every other call is a conflict naming `rule`. Returns the winner.
  int one_winner(const std::string& rule, int n, const std::function<Status(int)>& fn) {
    const uint64_t before = head();
    const auto winners = race(rule, n, fn);
    EXPECT_EQ(winners.size(), 1u);
    EXPECT_EQ(head(), before + 1);
    return winners.empty() ? -1 : winners.front();
  }

  // What `read()` gives must succeed, and be the same before and after the
  // store is reopened.
  template <typename Read>
  void expect_same_after_reopening(const Read& read) {
    auto before = read();
    ASSERT_OK(before);
    open();
    auto after = read();
    ASSERT_OK(after);
    EXPECT_EQ(*after, *before);
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

// A RepositoryTest that builds its own repository with `make` over every store
// it opens, on a context with the store's journal, database, projector, clock
// and secrets.
template <typename Repository,
          std::unique_ptr<Repository> (*make)(repositories::RepositoryContext&)>
class OwnRepositoryTest : public RepositoryTest {
 protected:
  void opened() override {
    context_ = std::make_unique<repositories::RepositoryContext>(
        store().internals().journal(), store().internals().database(),
        store().internals().projector(), store().clock(), repositories::RepositoryOptions{},
        store().internals().secrets());
    repo_ = make(*context_);
  }

  void close() override {
    repo_.reset();
    context_.reset();
    RepositoryTest::close();
  }

  Repository& repository() { return *repo_; }
  repositories::RepositoryContext& context() { return *context_; }

 private:
  std::unique_ptr<repositories::RepositoryContext> context_;
  std::unique_ptr<Repository> repo_;
};

}  // namespace annals::testing

// Runs every TEST_P of `suite` (a RepositoryTest) on SQLite and on PostgreSQL.
#define INSTANTIATE_ON_BOTH_BACKENDS(suite)                                          \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                          \
                           ::testing::Values(::annals::testing::Backend::kSqlite,    \
                                             ::annals::testing::Backend::kPostgres), \
                           ::annals::testing::BackendName)

// The listed page must be read and hold no rows, of `total` in all.
#define EXPECT_EMPTY_PAGE(expr, total) ::annals::testing::expect_empty_page((expr), (total), #expr)

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

// A PostgreSQL server that restarts under a running Store: every connection
// the Store holds (the projector's and the readers' pool) dies at once. Once
// the server is back, writes and reads go on as if nothing happened: a dead
// pooled connection is dropped at its BEGIN and the next one taken, and the
// projector never records a failure. Runs on a server of its own,
// so the restart touches no other test.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "repositories/operator.h"
#include "tests/test_support.h"

namespace annals::repositories {
namespace {

using annals::testing::PrivatePgServer;
using annals::testing::TempDir;

// Calls `op` until it succeeds or `limit` passes; the failures it met.
template <typename Op>
int until_ok(Op op, std::chrono::seconds limit, Status* last) {
  int failures = 0;
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    Status s = op();
    if (s.is_ok()) return failures;
    *last = s;
    ++failures;
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

class PgRestartTest : public ::testing::TestWithParam<projections::ProjectorMode> {};

TEST_P(PgRestartTest, TheProjectorAndTheReadsComeBackAfterTheServerRestarts) {
  PrivatePgServer server;
  if (server.url().empty()) {
    if (annals::testing::running_in_ci()) FAIL() << server.why();
    GTEST_SKIP() << server.why();
  }
  TempDir dir;
  StoreOptions options;
  options.data_dir = dir.path();
  options.database_url = server.url();
  options.setup_database = true;  // a superuser URL: set it up first
  options.projector_mode = GetParam();
  auto opened = Store::open(options);
  ASSERT_OK(opened);
  auto store = std::move(opened).value();
  SettingsRepository& settings = store->settings();
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK(settings.upsert("acme", "before-" + std::to_string(i), "v", "string"));
  }

  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(server.restart()) << server.why();
    // Every write after the restart goes through: the pool drops each
    // connection the restart killed when its BEGIN fails (nothing has run on
    // it yet) and takes the next, or a new one; the projector does the same.
    int refused = 0;
    for (int i = 0; i < 10; ++i) {
      std::string key = "after-" + std::to_string(round) + "-" + std::to_string(i);
      auto written = settings.upsert("acme", key, "v" + std::to_string(i), "string");
      if (!written.is_ok()) {
        ++refused;
        ADD_FAILURE() << key << ": " << written.status().to_string();
      }
    }
    EXPECT_EQ(store->internals().journal().head(), 10u + 10u * (round + 1));
    // Every write is visible and reads work.
    Status last;
    int failures = until_ok(
        [&]() -> Status {
          auto all = settings.list("acme");
          if (!all.is_ok()) return all.status();
          if (all->size() != 10u + 10u * (round + 1)) {
            return Status::unavailable("holds " + std::to_string(all->size()) + " settings");
          }
          return Status::ok();
        },
        std::chrono::seconds(60), &last);
    ASSERT_GE(failures, 0) << "reads did not come back: " << last.to_string();
    EXPECT_EQ(failures, 0) << last.to_string();
    std::printf("restart %d: %d of 10 writes answered not yet visible, %d reads failed\n", round,
                refused, failures);
  }
  auto get = settings.get("acme", "after-1-9");
  ASSERT_OK(get);
  EXPECT_EQ(get->value, "v9");
  for (const auto& state : store->internals().projector().states()) {
    EXPECT_EQ(state.failed_at, 0u) << state.name << ": " << state.error;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, PgRestartTest,
                         ::testing::Values(projections::ProjectorMode::kInline,
                                           projections::ProjectorMode::kBackground),
                         [](const auto& info) {
                           return info.param == projections::ProjectorMode::kInline
                                      ? std::string("Inline")
                                      : std::string("Background");
                         });

}  // namespace
}  // namespace annals::repositories

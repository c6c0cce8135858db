// The journal under concurrent writers and across fsyncs: group commit
// and its queue, gap-free positions, expectations, idempotency and
// reservations raced by many threads, the durable head, reopening.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "journal/journal.h"
#include "tests/journal_support.h"
#include "tests/test_support.h"

namespace annals::journal {
namespace {

using annals::testing::command;
using annals::testing::JournalTest;
using annals::testing::TempDir;

TEST_F(JournalTest, ConcurrentWritersExpectingTheSameVersionOnlyOneWins) {
  constexpr int kThreads = 8;
  std::atomic<int> wins{0}, conflicts{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      AppendRequest r = command("acme", {{"shared", std::to_string(t)}});
      r.expectations.push_back({"setting/shared", ExpectedVersion::no_stream()});
      auto result = journal_->append(std::move(r));
      if (result.is_ok()) {
        wins++;
      } else if (result.status().code() == Code::kConcurrencyConflict) {
        conflicts++;
      } else {
        other++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(journal_->head(), 1u);
}

TEST_F(JournalTest, ConcurrentRetriesOfOneCommandAppendItOnce) {
  constexpr int kThreads = 8;
  std::vector<uint64_t> firsts(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      AppendRequest r = command("acme", {{"a", "1"}, {"b", "1"}});
      r.idempotency_key = "same";
      auto result = journal_->append(std::move(r));
      ASSERT_OK(result);
      firsts[t] = result->first_position;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(journal_->head(), 2u);
  for (auto f : firsts) EXPECT_EQ(f, 1u);
}

TEST_F(JournalTest, ReservationsHoldUnderConcurrentAppenders) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  constexpr int kValues = 40;
  std::atomic<int> wins{0}, conflicts{0};
  std::mutex mu;
  std::map<std::string, std::string> winners;  // value -> owner
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string value = "v" + std::to_string((t * 7 + i) % kValues);
        std::string owner = "o" + std::to_string(t) + "-" + std::to_string(i);
        AppendRequest r = command("acme", {{owner, value}});
        r.reservations.push_back(Reservation::claim("unique.value", value, owner));
        auto result = journal_->append(std::move(r));
        if (result.is_ok()) {
          wins++;
          std::lock_guard lock(mu);
          EXPECT_TRUE(winners.emplace(value, owner).second) << value << " claimed twice";
        } else {
          EXPECT_EQ(result.status().code(), Code::kConflict) << result.status().to_string();
          conflicts++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), kValues);
  EXPECT_EQ(wins.load() + conflicts.load(), kThreads * kPerThread);
  EXPECT_EQ(journal_->head(), static_cast<uint64_t>(kValues));
}

TEST_F(JournalTest, ConcurrentAppendersGetGapFreeDistinctPositions) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::mutex mu;
  std::set<uint64_t> positions;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int n = 1 + (i % 3);
        std::vector<std::pair<std::string, std::string>> kvs;
        for (int k = 0; k < n; ++k) kvs.push_back({"t" + std::to_string(t), std::to_string(i)});
        auto r = journal_->append(command("acme", kvs));
        ASSERT_OK(r);
        ASSERT_EQ(r->last_position - r->first_position + 1, static_cast<uint64_t>(n));
        std::lock_guard lock(mu);
        for (uint64_t p = r->first_position; p <= r->last_position; ++p) {
          ASSERT_TRUE(positions.insert(p).second) << "position " << p << " given twice";
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_FALSE(positions.empty());
  EXPECT_EQ(*positions.begin(), 1u);
  EXPECT_EQ(*positions.rbegin(), positions.size());
  EXPECT_EQ(journal_->head(), positions.size());
  EXPECT_EQ(read_all().size(), positions.size());
  // Each thread's stream saw its versions in order, without gaps.
  for (int t = 0; t < kThreads; ++t) {
    uint64_t total = 0;
    for (int i = 0; i < kPerThread; ++i) total += 1 + (i % 3);
    EXPECT_EQ(*journal_->stream_version("acme", "setting/t" + std::to_string(t)), total);
  }
}

TEST_F(JournalTest, DurableHeadFollowsTheFsyncs) {
  for (Durability d : {Durability::kSync, Durability::kNone}) {
    reopen(d);
    ASSERT_OK(journal_->append(command("acme", {{"k", "1"}, {"l", "2"}})));
    EXPECT_EQ(journal_->durable_head(), journal_->head()) << durability_name(d);
    ASSERT_OK(journal_->sync_to(journal_->head()));
  }
  // kBatch with a background fsync that never comes within the test.
  reopen(Durability::kBatch, std::chrono::hours(1));
  const uint64_t before = journal_->head();
  EXPECT_EQ(journal_->durable_head(), before);  // what a reopen finds is on disk
  for (int i = 0; i < 5; ++i) ASSERT_OK(journal_->append(command("acme", {{"k", "b"}})));
  EXPECT_EQ(journal_->head(), before + 5);
  EXPECT_EQ(journal_->durable_head(), before);
  EXPECT_EQ(journal_->wait_for_durable_head(before, std::chrono::milliseconds(20)), before);
  // One fsync covers everything written before it.
  ASSERT_OK(journal_->sync_to(before + 2));
  EXPECT_EQ(journal_->durable_head(), before + 5);
  ASSERT_OK(journal_->append(command("acme", {{"k", "c"}})));
  EXPECT_EQ(journal_->durable_head(), before + 5);
  // A waiter wakes when a sync moves it.
  auto waiter = std::async(std::launch::async, [&] {
    return journal_->wait_for_durable_head(before + 5, std::chrono::seconds(20));
  });
  std::vector<std::thread> syncers;
  for (int t = 0; t < 4; ++t) {
    syncers.emplace_back([&] { EXPECT_OK(journal_->sync_to(before + 6)); });
  }
  for (auto& t : syncers) t.join();
  EXPECT_EQ(waiter.get(), before + 6);
  ASSERT_OK(journal_->sync());
  EXPECT_EQ(journal_->durable_head(), journal_->head());
  // Past the head is a caller's mistake, not a wait.
  EXPECT_CODE(journal_->sync_to(journal_->head() + 1), Code::kInvalidArgument);
}

TEST_F(JournalTest, ReopenKeepsEveryAcknowledgedAppend) {
  for (Durability d : {Durability::kSync, Durability::kBatch, Durability::kNone}) {
    reopen(d);
    uint64_t before = journal_->head();
    for (int i = 0; i < 50; ++i)
      ASSERT_OK(journal_->append(command("acme", {{"k", std::to_string(i)}})));
    reopen(d);
    EXPECT_EQ(journal_->head(), before + 50) << durability_name(d);
  }
  auto all = read_all();
  ASSERT_EQ(all.size(), 150u);
  EXPECT_EQ(all.back().stream_version(), 150u);
  // Appends continue after the old head.
  auto next = journal_->append(command("acme", {{"k", "x"}}));
  ASSERT_OK(next);
  EXPECT_EQ(next->first_position, 151u);
}

TEST_F(JournalTest, AFailedCommandInAGroupDoesNotHoldBackTheOthers) {
  // Many writers at once: those whose precondition fails get their error,
  // the rest are appended, and positions stay gap-free.
  ASSERT_OK(journal_->append(command("acme", {{"taken", "1"}})));
  constexpr int kThreads = 16;
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      AppendRequest r = command("acme", {{"w" + std::to_string(t), "1"}});
      if (t % 2 == 0) r.expectations.push_back({"setting/taken", ExpectedVersion::no_stream()});
      auto result = journal_->append(std::move(r));
      (result.is_ok() ? ok : refused)++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads / 2);
  EXPECT_EQ(refused.load(), kThreads / 2);
  EXPECT_EQ(journal_->head(), 1u + kThreads / 2);
  EXPECT_EQ(read_all().size(), 1u + kThreads / 2);
}

TEST_F(JournalTest, WaitForHeadWakesOnAppend) {
  std::thread appender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_OK(journal_->append(command("acme", {{"a", "1"}})));
  });
  uint64_t head = journal_->wait_for_head(0, std::chrono::seconds(10));
  appender.join();
  EXPECT_EQ(head, 1u);
  EXPECT_EQ(journal_->wait_for_head(1, std::chrono::milliseconds(1)), 1u);
}

TEST(JournalQueue, AnExceptionWhileStagingFailsOnlyThatCommandAndNoWriterHangs) {
  // A command whose staging throws (Cap'n Proto, bad_alloc) fails alone:
  // nothing of it is written, the other writers of its group and the ones
  // queued behind it are appended, and positions stay gap-free.
  TempDir dir;
  Options options;
  options.stage_hook = [](const AppendRequest& r) {
    if (r.events.size() == 2) throw std::bad_alloc();
  };
  auto opened = Journal::open_rocksdb(dir.sub("journal"), options);
  ASSERT_OK(opened);
  Journal& journal = **opened;
  constexpr int kThreads = 24;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::pair<std::string, std::string>> kvs = {{"k" + std::to_string(t), "1"}};
      if (t % 3 == 0) kvs.push_back({"x" + std::to_string(t), "2"});  // this one throws
      auto result = journal.append(command("acme", kvs));
      if (result.is_ok()) {
        ok++;
      } else {
        EXPECT_EQ(result.status().code(), Code::kInternal) << result.status().to_string();
        EXPECT_NE(result.status().message().find("could not be staged"), std::string::npos);
        failed++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), kThreads / 3);
  EXPECT_EQ(ok.load(), kThreads - kThreads / 3);
  EXPECT_EQ(journal.head(), static_cast<uint64_t>(ok.load()));
  auto all = journal.read(1, 1000);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), static_cast<size_t>(ok.load()));
  for (size_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ((*all)[i].position(), i + 1);
    EXPECT_EQ((*all)[i].envelope().getCommandEvents(), 1u);  // no part of a failed command
  }
  // And the journal goes on accepting commands.
  ASSERT_OK(journal.append(command("acme", {{"after", "1"}})));
}

TEST(JournalQueue, ImportWaitsItsTurnBehindABusyAppendInsteadOfGivingUp) {
  // The source: two commands.
  TempDir dir;
  ManualClock clock{from_micros(1'800'000'000'000'000)};
  Options source_options;
  source_options.clock = &clock;
  auto source = Journal::open_rocksdb(dir.sub("source"), source_options);
  ASSERT_OK(source);
  ASSERT_OK((*source)->append(command("acme", {{"a", "1"}})));
  ASSERT_OK((*source)->append(command("acme", {{"b", "2"}})));
  auto records = (*source)->read_records(2, 1);
  ASSERT_OK(records);

  // The target: an append that holds the queue far longer than any polling
  // import would wait, and the import of the source's second command
  // queued behind it.
  std::promise<void> entered;
  std::atomic<bool> first{true};
  Options options;
  options.clock = &clock;
  options.stage_hook = [&](const AppendRequest&) {
    if (first.exchange(false)) {
      entered.set_value();
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    }
  };
  auto target = Journal::open_rocksdb(dir.sub("target"), options);
  ASSERT_OK(target);
  std::thread appender([&] { EXPECT_OK((*target)->append(command("acme", {{"a", "1"}}))); });
  entered.get_future().wait();
  auto imported = (*target)->import_command(std::move(records).value());
  appender.join();
  ASSERT_OK(imported);
  EXPECT_EQ(imported->first_position, 2u);
  EXPECT_EQ((*target)->head(), 2u);
  // Appends queued after the import follow it.
  auto next = (*target)->append(command("acme", {{"c", "3"}}));
  ASSERT_OK(next);
  EXPECT_EQ(next->first_position, 3u);
}

}  // namespace
}  // namespace annals::journal

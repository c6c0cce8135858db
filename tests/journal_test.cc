#include "journal/journal.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "tests/test_support.h"

namespace annals::journal {
namespace {

using annals::testing::TempDir;

events::NewEvent setting_event(std::string_view org, std::string_view key, std::string_view value) {
  events::NewEvent e(org, "setting/" + std::string(key), "tester");
  auto p = e.payload().initSettingUpserted();
  p.setKey(std::string(key));
  p.setValue(std::string(value));
  p.setValueType("string");
  return e;
}

AppendRequest command(std::string_view org, std::vector<std::pair<std::string, std::string>> kvs) {
  AppendRequest r;
  r.org_id = std::string(org);
  for (auto& [k, v] : kvs) r.events.push_back(setting_event(org, k, v));
  return r;
}

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen(Durability durability = Durability::kSync,
              std::chrono::milliseconds batch_interval = std::chrono::milliseconds(50)) {
    journal_.reset();
    Options options;
    options.durability = durability;
    options.batch_sync_interval = batch_interval;
    options.clock = &clock_;
    auto opened = Journal::open_rocksdb(dir_.sub("journal"), options);
    ASSERT_OK(opened);
    journal_ = std::move(opened).value();
  }

  std::vector<events::Event> read_all() {
    auto r = journal_->read(1, 1'000'000);
    EXPECT_OK(r);
    return r.is_ok() ? std::move(r).value() : std::vector<events::Event>{};
  }

  TempDir dir_;
  ManualClock clock_{from_micros(1'800'000'000'000'000)};
  std::unique_ptr<Journal> journal_;
};

TEST_F(JournalTest, EmptyJournalHasHeadZero) {
  EXPECT_EQ(journal_->head(), 0u);
  auto r = journal_->read(1, 10);
  ASSERT_OK(r);
  EXPECT_TRUE(r->empty());
}

TEST_F(JournalTest, AppendAssignsContiguousPositionsAndStampsEnvelope) {
  auto a = journal_->append(command("acme", {{"a", "1"}, {"b", "2"}}));
  ASSERT_OK(a);
  EXPECT_EQ(a->first_position, 1u);
  EXPECT_EQ(a->last_position, 2u);
  EXPECT_FALSE(a->replayed);
  clock_.advance(Micros(10));
  auto b = journal_->append(command("acme", {{"c", "3"}}));
  ASSERT_OK(b);
  EXPECT_EQ(b->first_position, 3u);
  EXPECT_EQ(journal_->head(), 3u);

  auto all = read_all();
  ASSERT_EQ(all.size(), 3u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].position(), i + 1);
    EXPECT_EQ(all[i].org_id(), "acme");
    EXPECT_EQ(all[i].stream_version(), 1u);
    EXPECT_EQ(all[i].actor(), "tester");
  }
  EXPECT_EQ(all[0].recorded_at_micros(), 1'800'000'000'000'000);
  EXPECT_EQ(all[2].recorded_at_micros(), 1'800'000'000'000'010);
  EXPECT_EQ(events::Event::view(all[1].payload().getSettingUpserted().getKey()), "b");
}

TEST_F(JournalTest, RecordedAtNeverGoesBackwards) {
  ASSERT_OK(journal_->append(command("acme", {{"a", "1"}})));
  clock_.advance(Micros(-1'000'000));  // the wall clock stepped back
  ASSERT_OK(journal_->append(command("acme", {{"b", "1"}})));
  auto all = read_all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_GE(all[1].recorded_at_micros(), all[0].recorded_at_micros());
}

TEST_F(JournalTest, ReadFromMiddleAndBounded) {
  for (int i = 0; i < 10; ++i)
    ASSERT_OK(journal_->append(command("acme", {{"k" + std::to_string(i), "v"}})));
  auto r = journal_->read(4, 3);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].position(), 4u);
  EXPECT_EQ((*r)[2].position(), 6u);
  auto past = journal_->read(11, 5);
  ASSERT_OK(past);
  EXPECT_TRUE(past->empty());
}

TEST_F(JournalTest, HugeReadLimitsDoNotOverflow) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(journal_->append(command("acme", {{"k", "v"}})));
  auto r = journal_->read(2, SIZE_MAX);
  ASSERT_OK(r);
  EXPECT_EQ(r->size(), 4u);
  auto none = journal_->read(UINT64_MAX, SIZE_MAX);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  auto org = journal_->read_org("acme", 3, SIZE_MAX);
  ASSERT_OK(org);
  EXPECT_EQ(org->size(), 3u);
}

TEST_F(JournalTest, StreamVersionsCountPerStream) {
  AppendRequest r = command("acme", {{"a", "1"}, {"a", "2"}, {"b", "1"}});
  ASSERT_OK(journal_->append(std::move(r)));
  auto all = read_all();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].stream_version(), 1u);
  EXPECT_EQ(all[1].stream_version(), 2u);
  EXPECT_EQ(all[2].stream_version(), 1u);
  EXPECT_EQ(*journal_->stream_version("acme", "setting/a"), 2u);
  EXPECT_EQ(*journal_->stream_version("acme", "setting/b"), 1u);
  EXPECT_EQ(*journal_->stream_version("acme", "setting/none"), 0u);
  // Streams belong to an org: the same id elsewhere is another stream.
  EXPECT_EQ(*journal_->stream_version("globex", "setting/a"), 0u);
}

TEST_F(JournalTest, ExpectedVersionMismatchIsAConcurrencyConflictAndAppendsNothing) {
  AppendRequest first = command("acme", {{"a", "1"}});
  first.expectations.push_back({"setting/a", ExpectedVersion::no_stream()});
  ASSERT_OK(journal_->append(std::move(first)));

  AppendRequest again = command("acme", {{"a", "2"}});
  again.expectations.push_back({"setting/a", ExpectedVersion::no_stream()});
  auto r = journal_->append(std::move(again));
  EXPECT_CODE(r, Code::kConcurrencyConflict);
  EXPECT_TRUE(r.status().retryable());
  EXPECT_EQ(journal_->head(), 1u);

  AppendRequest right = command("acme", {{"a", "2"}});
  right.expectations.push_back({"setting/a", ExpectedVersion::exactly(1)});
  ASSERT_OK(journal_->append(std::move(right)));

  AppendRequest stale = command("acme", {{"a", "3"}});
  stale.expectations.push_back({"setting/a", ExpectedVersion::exactly(1)});
  EXPECT_CODE(journal_->append(std::move(stale)), Code::kConcurrencyConflict);
  EXPECT_EQ(journal_->head(), 2u);
  EXPECT_EQ(*journal_->stream_version("acme", "setting/a"), 2u);
}

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

TEST_F(JournalTest, IdempotentRetryReturnsSamePositionsAndAppendsNothing) {
  AppendRequest r = command("acme", {{"a", "1"}, {"b", "2"}});
  r.idempotency_key = "cmd-1";
  auto first = journal_->append(std::move(r));
  ASSERT_OK(first);
  ASSERT_OK(journal_->append(command("acme", {{"c", "3"}})));

  AppendRequest retry = command("acme", {{"a", "1"}, {"b", "2"}});
  retry.idempotency_key = "cmd-1";
  auto second = journal_->append(std::move(retry));
  ASSERT_OK(second);
  EXPECT_TRUE(second->replayed);
  EXPECT_EQ(second->first_position, first->first_position);
  EXPECT_EQ(second->last_position, first->last_position);
  EXPECT_EQ(journal_->head(), 3u);

  // The key is the org's: another org may use the same key.
  AppendRequest other = command("globex", {{"a", "1"}});
  other.idempotency_key = "cmd-1";
  auto third = journal_->append(std::move(other));
  ASSERT_OK(third);
  EXPECT_FALSE(third->replayed);
  EXPECT_EQ(journal_->head(), 4u);
}

TEST_F(JournalTest, IdempotencySurvivesReopen) {
  AppendRequest r = command("acme", {{"a", "1"}});
  r.idempotency_key = "cmd-1";
  ASSERT_OK(journal_->append(std::move(r)));
  reopen();
  AppendRequest retry = command("acme", {{"a", "1"}});
  retry.idempotency_key = "cmd-1";
  auto again = journal_->append(std::move(retry));
  ASSERT_OK(again);
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->first_position, 1u);
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

TEST_F(JournalTest, ReservationConflictNamesTheRuleAndAppendsNothing) {
  AppendRequest a = command("acme", {{"a", "1"}});
  a.reservations.push_back(Reservation::claim("settings.key", "a", "setting/a"));
  ASSERT_OK(journal_->append(std::move(a)));

  AppendRequest b = command("acme", {{"b", "1"}});
  b.reservations.push_back(Reservation::claim("settings.key", "a", "setting/b"));
  auto r = journal_->append(std::move(b));
  EXPECT_CODE(r, Code::kConflict);
  EXPECT_EQ(r.status().subject(), "settings.key");
  EXPECT_EQ(journal_->head(), 1u);

  // The owner may claim again; another org has its own namespace.
  AppendRequest again = command("acme", {{"a", "2"}});
  again.reservations.push_back(Reservation::claim("settings.key", "a", "setting/a"));
  ASSERT_OK(journal_->append(std::move(again)));
  AppendRequest other_org = command("globex", {{"a", "1"}});
  other_org.reservations.push_back(Reservation::claim("settings.key", "a", "setting/b"));
  ASSERT_OK(journal_->append(std::move(other_org)));
}

TEST_F(JournalTest, AcrossOrgReservationHoldsInEveryOrg) {
  AppendRequest a = command("acme", {{"a", "1"}});
  a.reservations.push_back(Reservation::claim("token.prefix", "pfx", "token/1", true));
  ASSERT_OK(journal_->append(std::move(a)));
  AppendRequest b = command("globex", {{"a", "1"}});
  b.reservations.push_back(Reservation::claim("token.prefix", "pfx", "token/2", true));
  auto r = journal_->append(std::move(b));
  EXPECT_CODE(r, Code::kConflict);
  EXPECT_EQ(r.status().subject(), "token.prefix");
}

TEST_F(JournalTest, ReleasedReservationCanBeClaimedAgainAndOnlyItsOwnerReleases) {
  AppendRequest a = command("acme", {{"a", "1"}});
  a.reservations.push_back(Reservation::claim("rule", "v", "owner-1"));
  ASSERT_OK(journal_->append(std::move(a)));

  // Someone else's release does nothing.
  AppendRequest foreign = command("acme", {{"b", "1"}});
  foreign.reservations.push_back(Reservation::release("rule", "v", "owner-2"));
  ASSERT_OK(journal_->append(std::move(foreign)));
  AppendRequest still = command("acme", {{"c", "1"}});
  still.reservations.push_back(Reservation::claim("rule", "v", "owner-2"));
  EXPECT_CODE(journal_->append(std::move(still)), Code::kConflict);

  AppendRequest release = command("acme", {{"a", "2"}});
  release.reservations.push_back(Reservation::release("rule", "v", "owner-1"));
  ASSERT_OK(journal_->append(std::move(release)));
  AppendRequest claim = command("acme", {{"c", "1"}});
  claim.reservations.push_back(Reservation::claim("rule", "v", "owner-2"));
  EXPECT_OK(journal_->append(std::move(claim)));
}

TEST_F(JournalTest, RenameReleasesAndClaimsInOneCommand) {
  AppendRequest a = command("acme", {{"a", "1"}});
  a.reservations.push_back(Reservation::claim("slug", "old", "s1"));
  ASSERT_OK(journal_->append(std::move(a)));
  AppendRequest rename = command("acme", {{"a", "2"}});
  rename.reservations.push_back(Reservation::release("slug", "old", "s1"));
  rename.reservations.push_back(Reservation::claim("slug", "new", "s1"));
  ASSERT_OK(journal_->append(std::move(rename)));
  AppendRequest reuse = command("acme", {{"b", "1"}});
  reuse.reservations.push_back(Reservation::claim("slug", "old", "s2"));
  EXPECT_OK(journal_->append(std::move(reuse)));
  AppendRequest clash = command("acme", {{"c", "1"}});
  clash.reservations.push_back(Reservation::claim("slug", "new", "s3"));
  EXPECT_CODE(journal_->append(std::move(clash)), Code::kConflict);
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

TEST_F(JournalTest, ReadOrgSeesOnlyThatOrg) {
  for (int i = 0; i < 30; ++i) {
    std::string org = i % 3 == 0 ? "acme" : (i % 3 == 1 ? "globex" : "initech");
    ASSERT_OK(journal_->append(command(org, {{"k" + std::to_string(i), "v"}})));
  }
  auto acme = journal_->read_org("acme", 1, 100);
  ASSERT_OK(acme);
  ASSERT_EQ(acme->size(), 10u);
  for (const auto& e : *acme) EXPECT_EQ(e.org_id(), "acme");
  EXPECT_EQ((*acme)[1].position(), 4u);
  auto later = journal_->read_org("acme", 5, 3);
  ASSERT_OK(later);
  ASSERT_EQ(later->size(), 3u);
  EXPECT_EQ((*later)[0].position(), 7u);
  auto none = journal_->read_org("nobody", 1, 100);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(JournalTest, BadCommandsAreRefusedAndAppendNothing) {
  AppendRequest no_events;
  no_events.org_id = "acme";
  EXPECT_CODE(journal_->append(std::move(no_events)), Code::kInvalidArgument);

  EXPECT_CODE(journal_->append(command("", {{"a", "1"}})), Code::kInvalidArgument);
  EXPECT_CODE(journal_->append(command("bad org", {{"a", "1"}})), Code::kInvalidArgument);
  EXPECT_CODE(journal_->append(command(std::string(65, 'o'), {{"a", "1"}})),
              Code::kInvalidArgument);

  AppendRequest mixed = command("acme", {{"a", "1"}});
  mixed.events.push_back(setting_event("globex", "b", "1"));
  auto r = journal_->append(std::move(mixed));
  EXPECT_CODE(r, Code::kInvalidArgument);
  EXPECT_EQ(r.status().subject(), "events");

  AppendRequest no_payload;
  no_payload.org_id = "acme";
  no_payload.events.emplace_back("acme", "s", "a");
  EXPECT_CODE(journal_->append(std::move(no_payload)), Code::kInvalidArgument);

  AppendRequest empty_stream;
  empty_stream.org_id = "acme";
  empty_stream.events.push_back(setting_event("acme", "a", "1"));
  empty_stream.events.back().envelope().setStreamId("");
  EXPECT_CODE(journal_->append(std::move(empty_stream)), Code::kInvalidArgument);

  AppendRequest bad_key = command("acme", {{"a", "1"}});
  bad_key.idempotency_key = std::string(300, 'k');
  EXPECT_CODE(journal_->append(std::move(bad_key)), Code::kInvalidArgument);

  AppendRequest bad_rule = command("acme", {{"a", "1"}});
  bad_rule.reservations.push_back(Reservation::claim("bad rule!", "v", "o"));
  EXPECT_CODE(journal_->append(std::move(bad_rule)), Code::kInvalidArgument);

  AppendRequest twice = command("acme", {{"a", "1"}});
  twice.expectations.push_back({"setting/a", ExpectedVersion::any()});
  twice.expectations.push_back({"setting/a", ExpectedVersion::no_stream()});
  EXPECT_CODE(journal_->append(std::move(twice)), Code::kInvalidArgument);

  AppendRequest huge = command("acme", {{"a", std::string(events::kMaxEventBytes, 'x')}});
  auto too_big = journal_->append(std::move(huge));
  EXPECT_CODE(too_big, Code::kInvalidArgument);

  // Each event within its limit, the command over its own.
  std::vector<std::pair<std::string, std::string>> large;
  for (size_t i = 0; i * (events::kMaxEventBytes / 2) <= kMaxCommandBytes; ++i) {
    large.push_back({"k" + std::to_string(i), std::string(events::kMaxEventBytes / 2, 'x')});
  }
  auto too_big_together = journal_->append(command("acme", large));
  EXPECT_CODE(too_big_together, Code::kInvalidArgument);
  EXPECT_NE(too_big_together.status().message().find("bytes"), std::string::npos);
  std::vector<std::string> envelopes(kMaxCommandBytes / events::kMaxEventBytes + 1,
                                     std::string(events::kMaxEventBytes, 'x'));
  auto imported_too_big = journal_->import_command(std::move(envelopes));
  EXPECT_CODE(imported_too_big, Code::kInvalidArgument);
  EXPECT_NE(imported_too_big.status().message().find("bytes"), std::string::npos);

  EXPECT_EQ(journal_->head(), 0u);
  EXPECT_TRUE(read_all().empty());
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

TEST_F(JournalTest, ReadOnlyOpenSeesDataAndRefusesWrites) {
  ASSERT_OK(journal_->append(command("acme", {{"a", "1"}})));
  ASSERT_OK(journal_->sync());
  Options ro;
  ro.read_only = true;
  auto reader = Journal::open_rocksdb(dir_.sub("journal"), ro);
  ASSERT_OK(reader);
  EXPECT_EQ((*reader)->head(), 1u);
  EXPECT_CODE((*reader)->append(command("acme", {{"b", "1"}})), Code::kInvalidArgument);
}

TEST(JournalOpen, MissingFolderWithoutCreateIsNotFound) {
  TempDir dir;
  Options options;
  options.create_if_missing = false;
  EXPECT_CODE(Journal::open_rocksdb(dir.sub("nothing"), options), Code::kNotFound);
  EXPECT_CODE(Journal::open_rocksdb("", Options{}), Code::kInvalidArgument);
}

TEST(JournalOpen, SecondWriterOnTheSameFolderIsUnavailable) {
  TempDir dir;
  auto first = Journal::open_rocksdb(dir.sub("j"), Options{});
  ASSERT_OK(first);
  auto second = Journal::open_rocksdb(dir.sub("j"), Options{});
  EXPECT_CODE(second, Code::kUnavailable);
}

TEST(JournalOpen, ARocksDbFolderThatIsNotAJournalIsRefusedUntouched) {
  TempDir dir;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.sub("other"), &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), "k", "v").ok());
    delete raw;
  }
  auto r = Journal::open_rocksdb(dir.sub("other"), Options{});
  EXPECT_CODE(r, Code::kInvalidArgument);
  std::vector<std::string> families;
  ASSERT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.sub("other"), &families).ok());
  EXPECT_EQ(families, std::vector<std::string>{"default"});
}

TEST(JournalOpen, DurabilityNamesParse) {
  EXPECT_EQ(*parse_durability("sync"), Durability::kSync);
  EXPECT_EQ(*parse_durability("batch"), Durability::kBatch);
  EXPECT_EQ(*parse_durability("none"), Durability::kNone);
  EXPECT_CODE(parse_durability("fsync"), Code::kInvalidArgument);
  EXPECT_CODE(parse_durability(""), Code::kInvalidArgument);
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

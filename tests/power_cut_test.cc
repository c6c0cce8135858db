// Power cuts: the journal runs on a file system that remembers how much of
// each file was synced. At a random moment, with writers in flight, the
// power goes: every later write and sync fails, and once the journal is gone
// every file is cut back to what was synced (what a disk holds after the
// power returns). The journal then reopens on the real file system and must
// hold everything it acknowledged (kSync) or everything acknowledged before
// the last sync() (kBatch, and kNone, which never syncs by itself), with its
// derived families consistent, and go on
// appending. The same folder takes every cut in turn, so later cuts land on
// a journal that already went through earlier ones.
//
// ANNALS_POWER_CUT_SEED=<n> replays the timings of an earlier run.
#include <rocksdb/env.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "journal/journal.h"
#include "tests/power_cut_fs.h"
#include "tests/test_support.h"
#include "tests/writers_until_failure.h"

namespace annals::journal {
namespace {

using annals::testing::PowerCutFs;
using annals::testing::TempDir;

constexpr int kCuts = 100;
constexpr int kWriters = 2;

// --- the workload ---------------------------------------------------------------

struct Acked {
  uint64_t first = 0;
  uint64_t last = 0;
  std::string key;  // the command's idempotency key
};

AppendRequest command(const std::string& key, int events) {
  AppendRequest r;
  r.org_id = key.back() % 2 == 0 ? "acme" : "globex";
  r.idempotency_key = key;
  for (int i = 0; i < events; ++i) {
    std::string setting = key + "." + std::to_string(i);
    events::NewEvent e(r.org_id, "setting/" + setting, "tester");
    auto p = e.payload().initSettingUpserted();
    p.setKey(setting);
    p.setValue(std::string(50 + (i * 37) % 400, 'v'));
    p.setValueType("string");
    r.events.push_back(std::move(e));
  }
  return r;
}

uint64_t seed_from_env() {
  if (const char* s = std::getenv("ANNALS_POWER_CUT_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

class PowerCutTest : public ::testing::TestWithParam<Durability> {
 protected:
  // One cut: writers append until the power goes after about `appends`
  // acknowledged commands. Returns what was acknowledged, and (kBatch, kNone) how
  // many of those a sync() made durable before the cut.
  void run_until_cut(int cut, std::mt19937_64& rng) {
    auto fs = std::make_shared<PowerCutFs>(rocksdb::FileSystem::Default());
    std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
    Options options;
    options.durability = GetParam();
    options.batch_sync_interval = std::chrono::milliseconds(20);
    options.env = env.get();
    auto opened = Journal::open_rocksdb(dir_.sub("journal"), options);
    ASSERT_OK(opened);
    std::unique_ptr<Journal> journal = std::move(opened).value();

    const int target = static_cast<int>(rng() % 40);
    // kBatch and kNone: an explicit sync() at a random point makes what was
    // acknowledged before it durable.
    const int sync_at = GetParam() != Durability::kSync ? static_cast<int>(rng() % 40) : -1;
    testing::WritersUntilFailure<Acked> writers(
        kWriters, [&](int w, int n) -> std::optional<Acked> {
          std::string key =
              "cut" + std::to_string(cut) + "-w" + std::to_string(w) + "-" + std::to_string(n);
          auto r = journal->append(command(key, 1 + n % 3));
          if (!r.is_ok()) return std::nullopt;  // the power is off
          return Acked{r->first_position, r->last_position, key};
        });
    size_t durable_before = 0;  // kBatch, kNone: acked entries a sync() covered
    // Half the cuts come after a number of acknowledged commands, half
    // right after a write reached a file and before its sync.
    const bool between_write_and_sync = rng() % 2 == 0;
    if (between_write_and_sync) fs->cut_after_appends(1 + static_cast<int64_t>(rng() % 120));
    while (!fs->off() && writers.acknowledged() < target && writers.all_running()) {
      std::this_thread::yield();
    }
    if (between_write_and_sync) {
      while (!fs->off() && writers.all_running()) std::this_thread::yield();
    }
    if (!writers.all_running() && !fs->off()) {
      fs->cut();
      writers.join();
      FAIL() << "a write failed before the power was cut";
    }
    if (sync_at >= 0 && sync_at <= target && !fs->off()) {
      const size_t covered = writers.acked().size();
      Status synced = journal->sync();
      if (synced.is_ok()) {
        durable_before = covered;
      } else {
        EXPECT_TRUE(fs->off()) << synced.to_string();  // only the cut may fail it
      }
    }
    fs->cut();
    writers.join();
    const std::vector<Acked> acked = writers.acked();
    journal.reset();  // its closing writes fail: the power is off
    fs->restore_synced();
    files_cut_ += fs->files_cut();

    std::vector<Acked> must_hold;
    if (GetParam() == Durability::kSync) {
      must_hold = acked;
    } else {
      must_hold.assign(acked.begin(), acked.begin() + static_cast<long>(durable_before));
    }
    for (auto& a : acked) all_acked_.push_back(a);
    for (auto& a : must_hold) durable_.push_back(a);
    acked_ += acked.size();
  }

  // After the power returns: the journal opens on the real file system and
  // holds what it must.
  void check_after_cut(int cut) {
    Options options;
    options.durability = Durability::kSync;
    auto opened = Journal::open_rocksdb(dir_.sub("journal"), options);
    ASSERT_TRUE(opened.is_ok()) << "after cut " << cut << ": " << opened.status().to_string();
    auto journal = std::move(opened).value();
    uint64_t head = journal->head();
    auto all = journal->read(1, 10'000'000);
    ASSERT_OK(all);
    ASSERT_EQ(all->size(), head) << "positions are not 1..head after cut " << cut;
    for (const auto& d : durable_) {
      ASSERT_LE(d.last, head) << d.key << " was acknowledged and lost at cut " << cut;
      const auto& first = (*all)[d.first - 1];
      EXPECT_EQ(events::Event::view(first.envelope().getIdempotencyKey()), d.key)
          << "position " << d.first << " after cut " << cut;
    }
    // Whatever survived of the rest is whole commands, each where it was
    // acknowledged (a prefix of the history is what a cut may leave).
    for (const auto& a : all_acked_) {
      if (a.last > head) continue;
      EXPECT_EQ(events::Event::view((*all)[a.first - 1].envelope().getIdempotencyKey()), a.key)
          << "position " << a.first << " after cut " << cut;
      EXPECT_EQ(events::Event::view((*all)[a.last - 1].envelope().getIdempotencyKey()), a.key);
    }
    auto differences = journal->verify_families(10);
    ASSERT_OK(differences);
    ASSERT_TRUE(differences->empty())
        << "after cut " << cut << ": " << (*differences)[0].family << " " << (*differences)[0].key
        << ": " << (*differences)[0].what;
    // Commands the cut lost are forgotten: acknowledged history is what
    // counts from here on.
    std::erase_if(all_acked_, [&](const Acked& a) { return a.last > head; });
    durable_ = all_acked_;
    // And it goes on.
    auto more = journal->append(command("after-cut" + std::to_string(cut), 2));
    ASSERT_TRUE(more.is_ok()) << "after cut " << cut << ": " << more.status().to_string();
    EXPECT_EQ(more->first_position, head + 1);
    all_acked_.push_back(
        {more->first_position, more->last_position, "after-cut" + std::to_string(cut)});
    durable_.push_back(all_acked_.back());
  }

  TempDir dir_;
  std::vector<Acked> all_acked_;  // acknowledged and not lost to a cut
  std::vector<Acked> durable_;    // what the next reopen must hold
  size_t acked_ = 0;
  int files_cut_ = 0;
};

TEST_P(PowerCutTest, EveryCutKeepsWhatWasDurableAndTheJournalGoesOn) {
  uint64_t seed = seed_from_env();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("ANNALS_POWER_CUT_SEED=" + std::to_string(seed));
  for (int cut = 0; cut < kCuts; ++cut) {
    ASSERT_NO_FATAL_FAILURE(run_until_cut(cut, rng));
    ASSERT_NO_FATAL_FAILURE(check_after_cut(cut));
  }
  // The cuts did drop unsynced bytes, or this test proved nothing.
  EXPECT_GT(files_cut_, 0);
  EXPECT_GT(acked_, static_cast<size_t>(kCuts));
  std::printf("%d power cuts, %zu commands acknowledged, %d files cut back to their synced size\n",
              kCuts, acked_, files_cut_);
}

INSTANTIATE_TEST_SUITE_P(Durabilities, PowerCutTest,
                         ::testing::Values(Durability::kSync, Durability::kBatch,
                                           Durability::kNone),
                         [](const auto& info) {
                           switch (info.param) {
                             case Durability::kSync:
                               return std::string("Sync");
                             case Durability::kBatch:
                               return std::string("Batch");
                             default:
                               return std::string("None");
                           }
                         });

}  // namespace
}  // namespace annals::journal

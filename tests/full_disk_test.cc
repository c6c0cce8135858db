// A full disk: the failing call gets a clear kUnavailable ("no space left on
// ..."), the process never aborts, nothing acknowledged is lost, and once
// space is free the same process goes on. Runs on a small tmpfs mounted for
// the test; where mounting is impossible (not root, no CAP_SYS_ADMIN) it is
// skipped, and with CI=true that is a failure.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "journal/journal.h"
#include "tests/cli_support.h"
#include "tests/small_disk.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using testing::SmallDisk;
using testing::TempDir;

journal::AppendRequest big_command(int i) {
  journal::AppendRequest r;
  r.org_id = "acme";
  events::NewEvent e("acme", "setting/k" + std::to_string(i), "tester");
  auto p = e.payload().initSettingUpserted();
  p.setKey("k" + std::to_string(i));
  std::string value(4000, 'a');
  for (size_t k = 0; k < value.size(); ++k) value[k] = static_cast<char>('a' + (k * 7 + i) % 26);
  p.setValue(value);
  p.setValueType("string");
  r.events.push_back(std::move(e));
  return r;
}

// Appends until a write fails; that failure, and the last acknowledged
// position in `acked`.
Status fill(journal::Journal& journal, uint64_t* acked) {
  for (int i = 0; i < 20000; ++i) {
    auto r = journal.append(big_command(i));
    if (!r.is_ok()) return r.status();
    *acked = r->last_position;
  }
  return Status::ok();
}

// The journal holds positions 1..head, every one readable, and its derived
// entries agree with its events.
void expect_gap_free_to(journal::Journal& journal, uint64_t head) {
  EXPECT_EQ(journal.head(), head);
  auto all = journal.read(1, 100000);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), head);
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].position(), i + 1);
  auto differences = journal.verify_families(10);
  ASSERT_OK(differences);
  EXPECT_TRUE(differences->empty());
}

TEST(FullDisk, TheJournalSaysNoSpaceLosesNothingAndGoesOnAfterARestart) {
  TempDir dir;
  SmallDisk disk(dir.sub("disk"), 4);
  ANNALS_REQUIRE_MOUNT(disk);
  std::string path = dir.sub("disk") + "/journal";
  uint64_t acked = 0;
  {
    auto opened = journal::Journal::open_rocksdb(path, journal::Options{});
    ASSERT_OK(opened);
    journal::Journal& journal = **opened;
    Status failure = fill(journal, &acked);
    ASSERT_FALSE(failure.is_ok()) << "a 4 MB disk never filled up";
    EXPECT_EQ(failure.code(), Code::kUnavailable) << failure.to_string();
    EXPECT_NE(failure.message().find("no space left"), std::string::npos) << failure.to_string();
    EXPECT_GT(acked, 10u);
    // Further writes fail the same way; reads still work.
    EXPECT_CODE(journal.append(big_command(-1)), Code::kUnavailable);
    auto all = journal.read(1, 100000);
    ASSERT_OK(all);
    EXPECT_EQ(all->size(), acked);

    // Closing on a full disk neither aborts nor loses what was acknowledged.
  }
  // Space comes back: a restart goes on where the journal stopped.
  ASSERT_TRUE(disk.grow(64));
  {
    auto opened = journal::Journal::open_rocksdb(path, journal::Options{});
    ASSERT_OK(opened);
    EXPECT_EQ((*opened)->head(), acked);
    auto after = (*opened)->append(big_command(-2));
    ASSERT_OK(after);
    EXPECT_EQ(after->first_position, acked + 1);
    acked = after->last_position;
  }
  // And after a restart every acknowledged command is there, gap-free.
  auto reopened = journal::Journal::open_rocksdb(path, journal::Options{});
  ASSERT_OK(reopened);
  expect_gap_free_to(**reopened, acked);
}

TEST(FullDisk, TheSameProcessGoesOnOnceSpaceIsFree) {
  TempDir dir;
  SmallDisk disk(dir.sub("disk"), 4);
  ANNALS_REQUIRE_MOUNT(disk);
  std::string path = dir.sub("disk") + "/journal";
  auto opened = journal::Journal::open_rocksdb(path, journal::Options{});
  ASSERT_OK(opened);
  journal::Journal& journal = **opened;
  uint64_t acked = 0;
  Status failure = fill(journal, &acked);
  ASSERT_FALSE(failure.is_ok()) << "a 4 MB disk never filled up";
  EXPECT_CODE(journal.append(big_command(-1)), Code::kUnavailable);

  // Space comes back; the journal goes on without a restart. RocksDB
  // resumes writing by itself once there is room for a flush (about 64 MB
  // free; with less it keeps answering "recovering", kUnavailable, retry).
  ASSERT_TRUE(disk.grow(256));
  Result<journal::AppendResult> after = Status::internal("not tried");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int retries = 0;
  for (;;) {
    after = journal.append(big_command(-2));
    if (after.is_ok() || std::chrono::steady_clock::now() > deadline) break;
    EXPECT_CODE(after, Code::kUnavailable);
    ++retries;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_OK(after);
  std::printf("the journal went on after %d refused retries\n", retries);
  EXPECT_EQ(after->first_position, acked + 1);
  for (int i = 0; i < 20; ++i) ASSERT_OK(journal.append(big_command(100000 + i)));
  ASSERT_OK(journal.sync());
  expect_gap_free_to(journal, acked + 21);
}

TEST(FullDisk, DemoOnAFullDiskExitsWithAClearErrorAndRunsAgainOnceSpaceIsFree) {
  TempDir dir;
  SmallDisk disk(dir.sub("disk"), 6);
  ANNALS_REQUIRE_MOUNT(disk);
  std::string data = dir.sub("disk") + "/data";
  auto full = testing::annals("demo --data " + data + " --commands 50000");
  EXPECT_EQ(full.exit_code, 1) << full.out;  // not 134: no abort
  EXPECT_NE(full.out.find("no space left"), std::string::npos) << full.out;
  ASSERT_TRUE(disk.grow(256));
  auto again = testing::annals("demo --data " + data + " --commands 200");
  EXPECT_EQ(again.exit_code, 0) << again.out;
  auto verify = testing::annals("verify --data " + data);
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

}  // namespace
}  // namespace annals

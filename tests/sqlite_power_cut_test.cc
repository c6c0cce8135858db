// Power cuts across the whole write path: the journal runs on a RocksDB file
// system that remembers what was synced (tests/power_cut_fs.h) and the
// SQLite read database on a VFS that keeps unsynced writes in a simulated
// page cache (tests/power_cut_vfs.h). Two writers create tokens through the
// repository while a third connection checkpoints the WAL now and then
// (and, under kBatch, a third writer appends settings straight to the
// journal, acknowledged before their sync, so the journal's head runs ahead
// of what is durable); the power of both goes at the same instant, at a random point: between
// commands, mid-command in the journal (a write before its sync), after a
// number of SQLite syncs, or instead of a SQLite write. Every file is cut
// back to what was synced and the Store reopens on the same folders. Before
// the projector catches up, the read database's checkpoints must not be
// past the journal's head (the projector never commits what the journal
// has not synced) and SQLite's integrity check must pass; after it, every
// acknowledged token is readable and the tables equal a rebuild from the
// journal. The same folders take every cut in turn. A first, small test
// checks the simulated disk itself: a cut keeps what SQLite synced and
// nothing else.
//
// ANNALS_POWER_CUT_SEED=<n> replays the choices of an earlier run (thread
// timings still vary).
#include <rocksdb/env.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "journal/journal.h"
#include "repositories/operator.h"
#include "tests/power_cut_fs.h"
#include "tests/power_cut_vfs.h"
#include "tests/test_support.h"
#include "tests/writers_until_failure.h"

namespace annals::repositories {
namespace {

using annals::testing::PowerCutFs;
using annals::testing::PowerCutVfs;
using annals::testing::TempDir;

constexpr int kCuts = 100;
constexpr int kWriters = 2;
// A round whose chosen cut point never comes is cut after this many commands.
constexpr int kMostCommandsPerRound = 60;

struct Acked {
  std::string org;
  std::string id;
  std::string prefix;
};

NewApiToken token(const std::string& id, const std::string& prefix) {
  NewApiToken t;
  t.id = id;
  t.user_id = "user-" + std::to_string(id.size() % 3);
  t.name = "laptop " + id;
  t.token_prefix = prefix;
  t.token_hash = "sha256:" + prefix + ":hash";
  t.scopes = "scope_token_user";
  return t;
}

// The simulated disks decide what a cut keeps; real fsyncs under them only
// cost time, so the folders go to memory when the machine has /dev/shm.
std::string scratch_parent() {
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec)) return "/dev/shm";
  return std::filesystem::temp_directory_path().string();
}

// A command of two settings, appended straight to the journal.
journal::AppendRequest settings_command(const std::string& key) {
  journal::AppendRequest r;
  r.org_id = key.back() % 2 == 0 ? "acme" : "globex";
  r.idempotency_key = key;
  for (int i = 0; i < 2; ++i) {
    std::string setting = key + "." + std::to_string(i);
    events::NewEvent e(r.org_id, "setting/" + setting, "tester");
    auto p = e.payload().initSettingUpserted();
    p.setKey(setting);
    p.setValue(std::string(50 + i * 37, 'v'));
    p.setValueType("string");
    r.events.push_back(std::move(e));
  }
  return r;
}

uint64_t seed_from_env() {
  if (const char* s = std::getenv("ANNALS_POWER_CUT_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

// A raw connection on the simulated disk that neither checkpoints nor
// deletes the WAL when it closes, so reading leaves the files as they are.
struct RawDb {
  sqlite3* db = nullptr;
  RawDb(const std::string& path, const std::string& vfs) {
    int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, vfs.c_str());
    if (rc == SQLITE_OK) {
      sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
      sqlite3_busy_timeout(db, 10000);
    }
  }
  ~RawDb() { sqlite3_close_v2(db); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // The rows of a query, each as "col|col|...".
  std::vector<std::string> rows(const std::string& sql, std::string* error) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      *error = sqlite3_errmsg(db);
      return out;
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        row += (c ? "|" : "") + std::string(text ? text : "");
      }
      out.push_back(row);
    }
    if (rc != SQLITE_DONE) *error = sqlite3_errmsg(db);
    sqlite3_finalize(stmt);
    return out;
  }
};

struct Param {
  journal::Durability durability;
  projections::ProjectorMode mode;
  // A third writer appends settings straight to the journal, which under
  // kBatch acknowledges them before their sync: the projector then follows
  // a journal whose head runs ahead of what is durable, and must stay behind
  // the durable head.
  bool unsynced_writer = false;
};
void PrintTo(const Param& p, std::ostream* os) {
  *os << journal::durability_name(p.durability) << ", "
      << (p.mode == projections::ProjectorMode::kInline ? "inline" : "background")
      << (p.unsynced_writer ? ", unsynced appends" : "");
}

class SqlitePowerCutTest : public ::testing::TestWithParam<Param> {
 protected:
  std::string read_db() const { return dir_.sub("read.sqlite"); }

  // The disks as the power left them, before the projector starts: the read
  // database's checkpoints are not past the journal's head (on the journal
  // the Store has just opened), and SQLite finds its file sound.
  void check_disks(int cut) {
    const uint64_t head = store_->internals().journal().head();
    RawDb raw(read_db(), vfs_.name());
    ASSERT_NE(raw.db, nullptr);
    std::string error;
    // The cut may have come before the first migration reached the disk.
    auto tables = raw.rows(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'projection_checkpoints'",
        &error);
    ASSERT_EQ(error, "") << "after cut " << cut;
    std::vector<std::string> checkpoints;
    if (!tables.empty()) {
      checkpoints = raw.rows("SELECT projection, position FROM projection_checkpoints", &error);
      ASSERT_EQ(error, "") << "after cut " << cut;
    }
    uint64_t highest = 0;
    for (const auto& row : checkpoints) {
      uint64_t position = std::strtoull(row.substr(row.find('|') + 1).c_str(), nullptr, 10);
      highest = std::max(highest, position);
      ASSERT_LE(position, head) << "after cut " << cut << " the read database holds " << row
                                << " but the journal's head is " << head;
    }
    if (highest > 0) ++cuts_read_db_kept_rows_;
    if (highest < head) ++cuts_replayed_;
    auto integrity = raw.rows("PRAGMA integrity_check", &error);
    ASSERT_EQ(error, "") << "after cut " << cut;
    ASSERT_EQ(integrity, std::vector<std::string>{"ok"}) << "after cut " << cut;
  }

  // The Store reopened (the projector has caught up): every acknowledged
  // token is there and the tables are what a rebuild makes of the journal.
  void check_store(int cut) {
    for (const auto& a : acked_) {
      auto got = store_->tokens().get_by_prefix(a.prefix);
      ASSERT_TRUE(got.is_ok()) << a.prefix << " was acknowledged and is not readable after cut "
                               << cut << ": " << got.status().to_string();
      EXPECT_EQ(got->id, a.id);
      EXPECT_EQ(got->org_id, a.org);
    }
    auto report = store_->internals().rebuilder().check();
    ASSERT_OK(report);
    ASSERT_TRUE(report->differences.empty())
        << "after cut " << cut << ": " << report->differences[0].table << " "
        << report->differences[0].key << ": " << report->differences[0].what;
    EXPECT_EQ(report->position, store_->internals().journal().head()) << "after cut " << cut;
    auto txn = store_->internals().database().begin(db::Access::kRead);
    ASSERT_OK(txn);
    auto integrity = (*txn)->query("PRAGMA integrity_check");
    ASSERT_OK(integrity);
    ASSERT_EQ(integrity->size(), 1u);
    EXPECT_EQ((*integrity)[0].text(0), "ok") << "after cut " << cut;
  }

  // The projector is started by the caller, once the disks are checked.
  void open_store(rocksdb::Env* env, int cut) {
    StoreOptions options;
    options.data_dir = dir_.path();
    options.durability = GetParam().durability;
    options.projector_mode = GetParam().mode;
    OperatorOptions hooks;
    hooks.journal_env = env;
    hooks.sqlite_vfs = vfs_.name();
    hooks.start_projector = false;
    auto opened = StoreInternals::open(options, hooks);
    ASSERT_TRUE(opened.is_ok()) << "after cut " << cut << ": " << opened.status().to_string();
    store_ = std::move(opened).value();
  }

  // One round: the Store opens on fresh simulated disks, is checked, takes
  // commands until the power goes, and is taken down.
  void round(int cut, std::mt19937_64& rng, bool last) {
    auto fs = std::make_shared<PowerCutFs>(rocksdb::FileSystem::Default());
    std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
    fs->on_cut = [this] { vfs_.cut(); };
    vfs_.on_cut = [fs] { fs->cut(); };
    struct Unhook {
      PowerCutVfs& vfs;
      ~Unhook() { vfs.on_cut = nullptr; }
    } unhook{vfs_};
    ASSERT_NO_FATAL_FAILURE(open_store(env.get(), cut));
    if (cut > 0) {
      ASSERT_NO_FATAL_FAILURE(check_disks(cut - 1));
    }
    // What Store::open does when it starts the projector.
    ASSERT_OK(store_->internals().projector().start());
    ASSERT_OK(store_->internals().projector().catch_up());
    if (cut > 0) {
      ASSERT_NO_FATAL_FAILURE(check_store(cut - 1));
    }
    if (last) {
      store_.reset();
      return;
    }

    // A connection that checkpoints the WAL every few milliseconds, so that
    // SQLite syncs (and cuts after them) come often.
    std::atomic<bool> stop_checkpoints{false};
    const int checkpoint_every_ms = 1 + static_cast<int>(rng() % 10);
    std::thread checkpointer([&] {
      RawDb raw(read_db(), vfs_.name());
      std::string error;
      raw.rows("SELECT count(*) FROM sqlite_master", &error);  // opens the WAL
      while (!stop_checkpoints.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(checkpoint_every_ms));
        sqlite3_wal_checkpoint_v2(raw.db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
    });

    std::mutex error_mu;
    std::string last_error;  // guarded by error_mu
    testing::WritersUntilFailure<Acked> writers(
        kWriters, [&](int w, int n) -> std::optional<Acked> {
          // Each acknowledged token syncs the journal: leave the unsynced
          // appends time to run ahead.
          if (GetParam().unsynced_writer && n >= kWriters) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
          }
          std::string id =
              "c" + std::to_string(cut) + "-w" + std::to_string(w) + "-" + std::to_string(n);
          std::string org = n % 2 == 0 ? "acme" : "globex";
          std::string prefix = "p" + id;
          auto r = store_->tokens().create(org, token(id, prefix));
          if (!r.is_ok()) {
            std::lock_guard lock(error_mu);
            last_error = r.status().to_string();
            return std::nullopt;  // the power is off
          }
          return Acked{org, id, prefix};
        });

    std::atomic<bool> stop_appends{false};
    std::atomic<size_t> appends{0};
    std::thread appender;
    if (GetParam().unsynced_writer) {
      appender = std::thread([&] {
        for (int n = 0; !stop_appends.load(); ++n) {
          std::string key = "s" + std::to_string(cut) + "-" + std::to_string(n);
          auto r = store_->internals().journal().append(settings_command(key));
          if (!r.is_ok()) return;  // the power is off
          ++appends;
          std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
      });
    }

    const int how = static_cast<int>(rng() % 4);
    const int target = static_cast<int>(rng() % 20);
    switch (how) {
      case 0:  // between commands, after `target` acknowledged ones
        break;
      case 1:  // the journal: a write reached a file, its sync did not
        fs->cut_after_appends(1 + static_cast<int64_t>(rng() % 120));
        break;
      case 2:  // SQLite: right after a sync
        vfs_.cut_after_syncs(1 + static_cast<int64_t>(rng() % 12));
        break;
      default:  // SQLite: instead of a write (mid-transaction, mid-checkpoint)
        vfs_.cut_after_writes(1 + static_cast<int64_t>(rng() % 300));
        break;
    }
    const int limit = how == 0 ? target : kMostCommandsPerRound;
    while (!fs->off() && writers.acknowledged() < limit && writers.all_running()) {
      std::this_thread::yield();
    }
    bool failed_with_power_on = !writers.all_running() && !fs->off();
    if (how != 0 && !fs->off()) ++cuts_forced_;
    vfs_.cut();  // both disks at once (and nothing when the power is already off)
    // Background mode: writers waiting to see their write give up now.
    store_->internals().projector().stop();
    writers.join();
    stop_checkpoints = true;
    checkpointer.join();
    stop_appends = true;
    if (appender.joinable()) appender.join();
    unsynced_appends_ += appends.load();
    store_.reset();  // its closing writes fail: the power is off
    {
      std::lock_guard lock(error_mu);
      ASSERT_FALSE(failed_with_power_on)
          << "a write failed before the power was cut: " << last_error;
    }
    ASSERT_TRUE(fs->off());
    fs->restore_synced();
    journal_files_cut_ += fs->files_cut();
    vfs_.restore();
    for (auto& a : writers.acked()) acked_.push_back(a);
  }

  TempDir dir_{scratch_parent()};
  PowerCutVfs vfs_{"annals-power-cut"};
  std::unique_ptr<Store> store_;
  std::vector<Acked> acked_;
  size_t unsynced_appends_ = 0;  // by the settings writer
  int journal_files_cut_ = 0;
  int cuts_read_db_kept_rows_ = 0;  // the read database held checkpoints after the cut
  int cuts_replayed_ = 0;           // the projector had to replay what SQLite lost
  int cuts_forced_ = 0;             // the chosen point never came within the round
};

TEST_P(SqlitePowerCutTest, EveryCutKeepsTheReadDatabaseBehindTheJournalAndWhole) {
  uint64_t seed = seed_from_env();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("ANNALS_POWER_CUT_SEED=" + std::to_string(seed));
  std::printf("ANNALS_POWER_CUT_SEED=%llu\n", static_cast<unsigned long long>(seed));
  auto started = std::chrono::steady_clock::now();
  for (int cut = 0; cut <= kCuts; ++cut) {
    ASSERT_NO_FATAL_FAILURE(round(cut, rng, cut == kCuts));
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "%d power cuts in %.1f s: %zu tokens acknowledged (and %zu settings appended unsynced), "
      "%lld SQLite syncs, %d cuts lost "
      "unsynced SQLite data (%lld bytes), %d journal files cut back to their synced size; "
      "after the cut the read database held checkpoints %d times and was behind the journal "
      "%d times; %d cuts came at the round's limit\n",
      kCuts, seconds, acked_.size(), unsynced_appends_, static_cast<long long>(vfs_.syncs()),
      vfs_.cuts_that_lost_data(), static_cast<long long>(vfs_.bytes_lost()), journal_files_cut_,
      cuts_read_db_kept_rows_, cuts_replayed_, cuts_forced_);
  // The cuts did drop unsynced data on both sides and SQLite did keep what
  // it synced, or this test proved nothing.
  EXPECT_GT(vfs_.cuts_that_lost_data(), 0);
  EXPECT_GT(journal_files_cut_, 0);
  EXPECT_GT(cuts_read_db_kept_rows_, 0);
  EXPECT_GT(cuts_replayed_, 0);
  EXPECT_GT(acked_.size(), static_cast<size_t>(kCuts));
}

// The simulated disk itself: what was synced survives a cut, the rest does
// not, and closing after the cut writes nothing.
TEST(PowerCutVfsTest, ACutKeepsWhatWasSyncedAndNothingElse) {
  TempDir dir{scratch_parent()};
  PowerCutVfs vfs("annals-power-cut-self-test");
  const std::string path = dir.sub("t.sqlite");
  auto exec = [](sqlite3* db, const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    std::string message = err ? err : "";
    sqlite3_free(err);
    return rc == SQLITE_OK ? std::string() : message + " (" + std::to_string(rc) + ")";
  };
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            vfs.name().c_str()),
            SQLITE_OK);
  ASSERT_EQ(exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                 " CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);"),
            "");
  // A checkpoint syncs the WAL and the database file.
  ASSERT_EQ(sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_FULL, nullptr, nullptr),
            SQLITE_OK);
  // Committed, but under synchronous=NORMAL in the WAL, unsynced.
  ASSERT_EQ(exec(db, "INSERT INTO t VALUES (2);"), "");
  vfs.cut();
  EXPECT_EQ(vfs.cuts_that_lost_data(), 1);
  EXPECT_NE(exec(db, "INSERT INTO t VALUES (3);"), "");  // the power is off
  sqlite3_close_v2(db);  // its checkpoint and the WAL's deletion reach nothing
  vfs.restore();

  RawDb after(path, vfs.name());
  ASSERT_NE(after.db, nullptr);
  std::string error;
  EXPECT_EQ(after.rows("SELECT group_concat(x) FROM t", &error), std::vector<std::string>{"1"});
  EXPECT_EQ(error, "");
  EXPECT_EQ(after.rows("PRAGMA integrity_check", &error), std::vector<std::string>{"ok"});
}

// The inline projector under kSync, and the background projector under
// kBatch with appends running ahead of the durable head. (kSync with the
// background projector passes too; it is left out to keep the run short.)
INSTANTIATE_TEST_SUITE_P(
    WritePaths, SqlitePowerCutTest,
    ::testing::Values(Param{journal::Durability::kSync, projections::ProjectorMode::kInline},
                      Param{journal::Durability::kBatch, projections::ProjectorMode::kBackground,
                            /*unsynced_writer=*/true}),
    [](const auto& info) {
      return std::string(info.param.durability == journal::Durability::kSync ? "Sync" : "Batch") +
             (info.param.mode == projections::ProjectorMode::kInline ? "Inline" : "Background") +
             (info.param.unsynced_writer ? "UnsyncedAppends" : "");
    });

}  // namespace
}  // namespace annals::repositories
